// The encoder on real instruction sets (wasm2c + GCC, bare metal under QEMU): counted instructions per
// frame, per pixel and per MAC against the device JPEG, the AOT cost models' error before and after
// calibration, code size and RAM. Counted = executed instructions under QEMU; cycles are modelled.
// Energy per delivered image moved to bench/energy.bench.ts (`npm run bench -- energy`).
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
import { countFastKernels, fastNativeCounts } from "./fast.bench.ts";

const BOARDS = ["openmv-h7", "gap8", "k210"];
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
  console.log(`target layer shape                       ${KERNEL_VARIANTS.map((v) => variantName(v).padStart(10)).join(" ")}  chosen`);
  for (const [k, c] of byShape) {
    const best = Object.entries(c).sort((a, b) => a[1] - b[1])[0][0];
    console.log(`${k.padEnd(40)} ${KERNEL_VARIANTS.map((v) => (c[variantName(v)]?.toFixed(2) ?? "-").padStart(10)).join(" ")}  ${best}`);
  }
  // The per-shape model (a + b/taps per kernel shape) on each counted entry, fitted without it: how well it prices a shape never counted.
  const loo = entries.map((e) => {
    const priceOf = fitPerShapeModel(entries, e.target, (x) => x.target === e.target && x.shape === e.shape);
    return priceOf ? priceOf(e.shape)[e.variant] / e.instructionsPerMac - 1 : Number.NaN;
  });
  const finite = loo.filter(Number.isFinite);
  console.log(
    `per-shape model (a + b/taps per kernel shape and target), each counted layer shape left out of its own fit: mean |error| ${(100 * mean(finite.map(Math.abs))).toFixed(1)}%, worst ${(100 * Math.max(...finite.map(Math.abs))).toFixed(1)}% (${finite.length} entries)`,
  );

  console.log("\n=== counted instructions per frame (million), encoder vs device JPEG q20 ===");
  console.log("board       ISA          frame          bounds  Tidepool  per pixel  per MAC  JPEG q20  Tidepool/JPEG  packetizer");
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
    for (const bc of ["off", "on"] as const) {
      const n = runNativeEncoder(built.wasm, frames, { width, height, format }, { target: t.name, boundsChecks: bc, packets: { packetBytes: 222 } });
      const j = runNativeJpeg(jpeg.wasm, frames, { width, height, format, quality: 20 }, { target: t.name, boundsChecks: bc });
      const e = mean(n.encodeInstructions),
        q = mean(j.encodeInstructions);
      if (bc === "off") {
        const per = (n.layerInstructions ?? []).map((c, i) => `${built.kernels.layers[i]?.variant} ${(c / layerMacs[i]).toFixed(2)}`);
        layerLines.push(`${name.padEnd(11)} ${t.name.padEnd(5)} per layer (kernel, native instructions per MAC): ${per.join(" | ")}`);
      }
      console.log(
        `${name.padEnd(11)} ${t.name.padEnd(12)} ${`${width}x${height} ${format}`.padEnd(14)} ${bc.padEnd(6)} ${M(e).padStart(8)}  ${(e / (width * height)).toFixed(0).padStart(9)}  ${(e / mac).toFixed(2).padStart(7)}  ${M(q).padStart(8)}  ${(e / q).toFixed(1).padStart(12)}x  ${M(mean(n.packetInstructions)).padStart(9)}`,
      );
    }
  }
  for (const l of layerLines) console.log(l);
  console.log("goal: <= 3 native Cortex-M7 instructions per MAC on the 3x3 layers; Tidepool/JPEG q20 <= 3x on every board, <= 1x on one");

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

  console.log("\n=== code and RAM of the native encoder (wasm2c + GCC, bounds checks off) ===");
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!;
    const built = await buildEncoder({ board, runtime: "aot" });
    const n = runNativeEncoder(built.wasm, [toFrame(await loadRgb(photos[0], board.camera), board.camera.format)], board.camera, {
      target: t.name,
      boundsChecks: "off",
    });
    const b = n.build;
    console.log(
      `${name.padEnd(11)} ${t.isa}: module code ${b.moduleSplit.code} B + constants ${b.moduleSplit.constants} B (weights, tables, plan), runtime ${b.runtimeSizes.text} B code; RAM: linear memory ${b.linearMemoryBytes} B static + ${b.runtimeSizes.bss - b.linearMemoryBytes} B runtime state (arena in use ${built.map.arenaBytes} B)`,
    );
  }

  await fastNativeCounts(photos); // the fast encoder beside the shipped one, same run (bench/fast.bench.ts)

  console.log(
    "\nenergy per delivered image (Tidepool's operating points against the device JPEG in its strongest forms): npm run bench -- energy (docs/energy.md)",
  );
}
