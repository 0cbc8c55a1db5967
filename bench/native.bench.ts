// The encoder on real instruction sets (wasm2c + GCC, bare metal under QEMU): counted instructions per
// frame, per pixel and per MAC against the device JPEG, the AOT cost models' error before and after
// calibration, code size and RAM, and the fast encoder beside the shipped one (energy: bench/energy.bench.ts). Counted = executed instructions under QEMU; cycles and energy are modelled.
import { getBoard } from "../host/core/boards.ts";
import { buildEncoder, loadDefaultModel } from "../host/build/build.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { samplePhotos } from "../host/image/samples.ts";
import { buildDeviceJpeg } from "../host/build/jpeg/device-jpeg.ts";
import { macs } from "../host/model/geometry.ts";
import { runNativeEncoder, runNativeJpeg } from "../host/build/native/run.ts";
import { nativeTargetForBoard } from "../host/build/native/targets.ts";
import { countedSamples, fitScales, targetCycles } from "../host/build/profile/native-calibration.ts";
import { AOT_SCALES, NATIVE_CPI } from "../host/build/profile/cost-models.ts";
import { encoderLayers } from "../host/build/profile/encoder-workload.ts";
import { COUNT_FRAME, countKernels, writeCountTable } from "../host/build/kernels/count.ts";
import { type CountEntry, fitPerShapeModel } from "../host/build/kernels/choice.ts";
import { KERNEL_VARIANTS, variantName } from "../host/build/kernels/layout.ts";
import { SIMD_VARIANT } from "../host/build/kernels/simd-m7.ts";
import { countFastKernels, fastNativeCounts } from "./fast.bench.ts";

// NATIVE_BENCH_BOARDS=openmv-h7 (comma-separated) limits the boards; NATIVE_BENCH_PARTS=shapes,counts,models,sizes,fast limits the sections.
const BOARDS = (process.env.NATIVE_BENCH_BOARDS ?? "openmv-h7,gap8,k210").split(",");
const PARTS = new Set((process.env.NATIVE_BENCH_PARTS ?? "shapes,counts,models,sizes,fast").split(","));
const M = (n: number) => (n / 1e6).toFixed(1);
const pct = (v: number) => `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}%`;
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

export default async function nativeBench() {
  const photos = samplePhotos().slice(0, 3);
  const model = loadDefaultModel();
  console.log(
    `settings: shipped model (${model.meta.name ?? "model"}), ${photos.length} sample photos at each board's camera frame; wasm2c (Debian wabt) + GCC 12 -O2, bare metal under QEMU 7.2 (mps2-an500 Cortex-M7, virt RV32IMC / RV64IMAC), instructions counted by a TCG plugin between markers around the module's calls`,
  );
  console.log("QEMU counts executed instructions, not cycles; cycles below are counted instructions x a modelled CPI (docs/cost-models.md)");

  if (PARTS.has("shapes")) await shapes();
  if (PARTS.has("counts")) await counts(photos);
  if (PARTS.has("models")) await models(photos);
  if (PARTS.has("sizes")) await sizes(photos);
  if (PARTS.has("fast")) await fastNativeCounts(photos); // the fast encoder beside the shipped one, same run (bench/fast.bench.ts)
  console.log(
    "\nenergy per delivered image (Tidepool's operating points against the device JPEG in its strongest forms): npm run bench -- energy (docs/energy.md)",
  );
}

async function shapes() {
  // Count every kernel shape for the shipped models' layer shapes (cached per shape) and commit the table the builds read.
  console.log(`\n=== kernel shapes: native instructions per MAC counted per layer shape (${COUNT_FRAME.width}x${COUNT_FRAME.height}), chosen = fewest ===`);
  const entries: CountEntry[] = [];
  for (const [target, format] of [
    ["m7", undefined],
    ["m7", "gray8"],
    ["rv32", "gray8"],
    ["rv32", undefined],
    ["rv64", undefined],
    ["rv64", "gray8"],
  ] as const)
    entries.push(...(await countKernels(target, loadDefaultModel(format))));
  entries.push(...(await countFastKernels())); // the fast encoder's layer shapes too (bench/fast.bench.ts)
  writeCountTable(entries);
  const byShape = new Map<string, Record<string, number>>();
  for (const e of entries)
    byShape.set(`${e.target.padEnd(5)} ${e.shape}`, { ...byShape.get(`${e.target.padEnd(5)} ${e.shape}`), [e.variant]: e.instructionsPerMac });
  console.log(
    `target layer shape                       ${KERNEL_VARIANTS.map((v) => variantName(v).padStart(10)).join(" ")}  chosen (WebAssembly)  ${SIMD_VARIANT} (Cortex-M7 DSP, native build)`,
  );
  for (const [k, c] of byShape) {
    const best = Object.entries(c)
      .filter(([v]) => v !== SIMD_VARIANT)
      .sort((a, b) => a[1] - b[1])[0][0];
    console.log(
      `${k.padEnd(40)} ${KERNEL_VARIANTS.map((v) => (c[variantName(v)]?.toFixed(2) ?? "-").padStart(10)).join(" ")}  ${best.padEnd(20)}  ${c[SIMD_VARIANT]?.toFixed(2) ?? "-"}`,
    );
  }
  // The per-shape model (a + b/taps per kernel shape) on each counted entry, fitted without it: how well it prices a shape never counted.
  const loo = entries
    .filter((e) => e.variant !== SIMD_VARIANT)
    .map((e) => {
      const priceOf = fitPerShapeModel(entries, e.target, (x) => x.target === e.target && x.shape === e.shape);
      return priceOf ? priceOf(e.shape)[e.variant] / e.instructionsPerMac - 1 : Number.NaN;
    });
  const finite = loo.filter(Number.isFinite);
  console.log(
    `per-shape model (a + b/taps per kernel shape and target), each counted layer shape left out of its own fit: mean |error| ${(100 * mean(finite.map(Math.abs))).toFixed(1)}%, worst ${(100 * Math.max(...finite.map(Math.abs))).toFixed(1)}% (${finite.length} entries)`,
  );
}

async function counts(photos: string[]) {
  console.log("\n=== counted instructions per frame (million), encoder vs device JPEG q20 ===");
  console.log("board       ISA          frame          bounds  Tidepool  per pixel  per MAC  JPEG q20  Tidepool/JPEG  packetizer");
  const encodeCounted: Record<string, number> = {};
  const layerLines: string[] = [];
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!;
    const { width, height, format } = board.camera;
    const frames = await Promise.all(photos.map(async (p) => toFrame(await loadRgb(p, { width, height }), format)));
    const built = await buildEncoder({ board, width, height, format, runtime: "aot", withNames: true });
    const jpeg = await buildDeviceJpeg(width, 64 * 1024);
    const mac = macs(built.model, width, height);
    const layerMacs = encoderLayers(built).map((l) => l.macsPerFrame);
    // Cortex-M7: the native build's DSP kernels, then the wasm2c kernels as the same-run baseline.
    const kernelSets = built.simd ? ([built.simd, undefined] as const) : ([undefined] as const);
    for (const simd of kernelSets)
      for (const bc of ["off", "on"] as const) {
        if (simd && bc === "on") continue; // bounds checks on keep wasm2c's checked kernels (docs/native.md)
        const n = runNativeEncoder(built.wasm, frames, { width, height, format }, { target: t.name, boundsChecks: bc, packets: { packetBytes: 222 }, simd });
        const j = runNativeJpeg(jpeg.wasm, frames, { width, height, format, quality: 20 }, { target: t.name, boundsChecks: bc });
        const e = mean(n.encodeInstructions),
          q = mean(j.encodeInstructions);
        const label = built.simd ? (simd ? " DSP" : " w2c") : "";
        if (bc === "off") {
          if (!encodeCounted[name]) encodeCounted[name] = e;
          const per = (n.layerInstructions ?? []).map(
            (c, i) => `${n.build.simdLayers.includes(i) ? SIMD_VARIANT : `${built.kernels.layers[i]?.variant} (wasm2c)`} ${(c / layerMacs[i]).toFixed(2)}`,
          );
          layerLines.push(`${`${name}${label}`.padEnd(15)} ${t.name.padEnd(5)} per layer (kernel, native instructions per MAC): ${per.join(" | ")}`);
        }
        console.log(
          `${`${name}${label}`.padEnd(15)} ${t.name.padEnd(8)} ${`${width}x${height} ${format}`.padEnd(14)} ${bc.padEnd(6)} ${M(e).padStart(8)}  ${(e / (width * height)).toFixed(0).padStart(9)}  ${(e / mac).toFixed(2).padStart(7)}  ${M(q).padStart(8)}  ${(e / q).toFixed(1).padStart(12)}x  ${M(mean(n.packetInstructions)).padStart(9)}`,
        );
      }
  }
  for (const l of layerLines) console.log(l);
  console.log(
    "openmv-h7 DSP: the native build's Cortex-M7 kernels (SMLAD, docs/kernels.md); w2c: the wasm2c translation of the same module's kernels (baseline, same run)",
  );
  console.log("goal: <= 3 native Cortex-M7 instructions per MAC on the 3x3 layers; Tidepool/JPEG q20 <= 3x on every board, <= 1x on one");
}

async function models(photos: string[]) {
  console.log("\n=== AOT cost models vs counted instructions x CPI (error of the model's cycles) ===");
  for (const name of BOARDS) {
    const board = getBoard(name);
    const samples = await countedSamples(name, photos);
    const cpi = NATIVE_CPI[board.costModel];
    console.log(`${name} (${board.costModel}, CPI ${cpi.cpi}: ${cpi.why})`);
    for (const s of samples) {
      const t = targetCycles(board, s);
      console.log(
        `  ${s.workload.padEnd(16)} counted ${M(s.counted).padStart(7)} M -> ${M(t).padStart(7)} M cycles; model: table ${M(s.modelBefore).padStart(7)} M (${pct(s.modelBefore / t - 1)}), calibrated categories ${M(s.modelAfter).padStart(7)} M (${pct(s.modelAfter / t - 1)}), per kernel shape ${M(s.modelPerShape).padStart(7)} M (${pct(s.modelPerShape / t - 1)})`,
      );
      for (const l of s.layers ?? [])
        console.log(
          `    ${l.name.padEnd(24)} ${l.variant.padEnd(10)} counted ${M(l.counted).padStart(6)} M instr., per-shape model ${M(l.modelled).padStart(6)} M (${pct(l.modelled / l.counted - 1)})`,
        );
    }
    const fit = fitScales(board, samples);
    console.log(
      `  shipped scales ${JSON.stringify(AOT_SCALES[board.costModel])}; refit now (generic kernel + JPEG) ${JSON.stringify(Object.fromEntries(Object.entries(fit.scales).map(([k, v]) => [k, +v.toFixed(3)])))}, its error on them ${fit.after.map(pct).join(" ")}`,
    );
  }
  console.log(
    "goal: every cost model within 25% of the QEMU count where one exists (interpreter: see docs/cost-models.md, wasm3 counted in the feasibility run only); the profile's AOT figure is the per-kernel-shape one",
  );
}

async function sizes(photos: string[]) {
  console.log("\n=== code and RAM of the native encoder (wasm2c + GCC, bounds checks off) ===");
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!;
    const built = await buildEncoder({ board, runtime: "aot" });
    const n = runNativeEncoder(built.wasm, [toFrame(await loadRgb(photos[0], board.camera), board.camera.format)], board.camera, {
      target: t.name,
      boundsChecks: "off",
      simd: built.simd,
    });
    const b = n.build;
    const dsp = b.simdLayers.length ? ` + DSP kernels (layers ${b.simdLayers.join(", ")}) code ${b.simdSplit.code} B + weights ${b.simdSplit.constants} B` : "";
    console.log(
      `${name.padEnd(11)} ${t.isa}: module code ${b.moduleSplit.code} B + constants ${b.moduleSplit.constants} B (weights, tables, plan)${dsp}, runtime ${b.runtimeSizes.text} B code; RAM: linear memory ${b.linearMemoryBytes} B static + ${b.runtimeSizes.bss - b.linearMemoryBytes} B runtime state (arena in use ${built.map.arenaBytes} B)`,
    );
  }
}
