// The encoder on real instruction sets (wasm2c + GCC, bare metal under QEMU): counted instructions per
// frame, per pixel and per MAC against the device JPEG, the AOT cost models' error before and after
// calibration, code size and RAM, and energy per delivered image at equal MS-SSIM over LoRa SF7-SF12,
// Sigfox and 802.15.4. Counted = executed instructions under QEMU; cycles and energy are modelled.
import sharp from "sharp";
import { getBoard } from "../host/core/boards.ts";
import { buildEncoder, loadDefaultModel } from "../host/build/build.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { samplePhotos } from "../host/image/samples.ts";
import { BYTES_PER_PIXEL, unpackRow, type PixelFormat } from "../host/core/pixel-format.ts";
import { buildDeviceJpeg, loadDeviceJpeg, runJpeg } from "../host/build/jpeg/device-jpeg.ts";
import { macs } from "../host/model/geometry.ts";
import { runNativeEncoder, runNativeJpeg } from "../host/build/native/run.ts";
import { nativeTargetForBoard, NATIVE_TARGETS } from "../host/build/native/targets.ts";
import { countedSamples, fitScales, targetCycles } from "../host/build/profile/native-calibration.ts";
import { AOT_SCALES, NATIVE_CPI } from "../host/build/profile/cost-models.ts";
import { EncoderInstance } from "../host/build/runtime/encoder-instance.ts";
import { devicePacketize } from "../host/build/runtime/device-packetizer.ts";
import { jpegPacketSizes } from "../host/wire/link/jpeg-link.ts";
import { CORE_ENERGY, RADIO_LINKS, computeJoules, radioJoules } from "../host/eval/energy.ts";
import { msssim } from "../host/eval/metrics.ts";

const BOARDS = ["openmv-h7", "gap8", "k210"];
const M = (n: number) => (n / 1e6).toFixed(1);
const pct = (v: number) => `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}%`;
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

function asSeen(frame: Uint8Array, w: number, h: number, f: PixelFormat) {
  const out = new Uint8Array(w * h * 3),
    bpp = BYTES_PER_PIXEL[f];
  for (let y = 0; y < h; y++) out.set(unpackRow(frame.subarray(y * w * bpp, (y + 1) * w * bpp), w, f, 3), y * w * 3);
  return { width: w, height: h, data: out };
}

export default async function nativeBench() {
  const photos = samplePhotos().slice(0, 3);
  const model = loadDefaultModel();
  console.log(
    `settings: shipped model (${model.meta.name ?? "model"}), ${photos.length} sample photos at each board's camera frame; wasm2c (Debian wabt) + GCC 12 -O2, bare metal under QEMU 7.2 (mps2-an500 Cortex-M7, virt RV32IMC / RV64IMAC), instructions counted by a TCG plugin between markers around the module's calls`,
  );
  console.log("QEMU counts executed instructions, not cycles; cycles below are counted instructions x a modelled CPI (docs/cost-models.md)");

  console.log("\n=== counted instructions per frame (million), encoder vs device JPEG q20 ===");
  console.log("board       ISA          frame          bounds  Tidepool  per pixel  per MAC  JPEG q20  Tidepool/JPEG  packetizer");
  const encodeCounted: Record<string, number> = {};
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!;
    const { width, height, format } = board.camera;
    const frames = await Promise.all(photos.map(async (p) => toFrame(await loadRgb(p, { width, height }), format)));
    const built = await buildEncoder({ board, width, height, format });
    const jpeg = await buildDeviceJpeg(width, 64 * 1024);
    const mac = macs(built.model, width, height);
    for (const bc of ["off", "on"] as const) {
      const n = runNativeEncoder(built.wasm, frames, { width, height, format }, { target: t.name, boundsChecks: bc, packets: { packetBytes: 222 } });
      const j = runNativeJpeg(jpeg.wasm, frames, { width, height, format, quality: 20 }, { target: t.name, boundsChecks: bc });
      const e = mean(n.encodeInstructions),
        q = mean(j.encodeInstructions);
      if (bc === "off") encodeCounted[name] = e;
      console.log(
        `${name.padEnd(11)} ${t.name.padEnd(12)} ${`${width}x${height} ${format}`.padEnd(14)} ${bc.padEnd(6)} ${M(e).padStart(8)}  ${(e / (width * height)).toFixed(0).padStart(9)}  ${(e / mac).toFixed(2).padStart(7)}  ${M(q).padStart(8)}  ${(e / q).toFixed(1).padStart(12)}x  ${M(mean(n.packetInstructions)).padStart(9)}`,
      );
    }
  }
  console.log("goal: <= 3 native Cortex-M7 instructions per MAC on the 3x3 layers (whole encoder above); Tidepool/JPEG q20 <= 3x on every board");

  console.log("\n=== AOT cost models vs counted instructions x CPI (error of the model's cycles) ===");
  for (const name of BOARDS) {
    const board = getBoard(name);
    const samples = await countedSamples(name, photos);
    const cpi = NATIVE_CPI[board.costModel];
    console.log(`${name} (${board.costModel}, CPI ${cpi.cpi}: ${cpi.why})`);
    for (const s of samples) {
      const t = targetCycles(board, s);
      console.log(
        `  ${s.workload.padEnd(16)} counted ${M(s.counted).padStart(7)} M -> ${M(t).padStart(7)} M cycles; model before ${M(s.modelBefore).padStart(7)} M (${pct(s.modelBefore / t - 1)}), after ${M(s.modelAfter).padStart(7)} M (${pct(s.modelAfter / t - 1)})`,
      );
    }
    const fit = fitScales(board, samples);
    console.log(
      `  shipped scales ${JSON.stringify(AOT_SCALES[board.costModel])}; refit now ${JSON.stringify(Object.fromEntries(Object.entries(fit.scales).map(([k, v]) => [k, +v.toFixed(3)])))}`,
    );
  }
  console.log(
    "goal: every cost model within 25% of the QEMU count where one exists (interpreter: see docs/cost-models.md, wasm3 counted in the feasibility run only)",
  );

  console.log("\n=== code and RAM of the native encoder (wasm2c + GCC, bounds checks off) ===");
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!;
    const built = await buildEncoder({ board });
    const n = runNativeEncoder(built.wasm, [toFrame(await loadRgb(photos[0], board.camera), board.camera.format)], board.camera, {
      target: t.name,
      boundsChecks: "off",
    });
    const b = n.build;
    console.log(
      `${name.padEnd(11)} ${t.isa}: module code ${b.moduleSplit.code} B + constants ${b.moduleSplit.constants} B (weights, tables, plan), runtime ${b.runtimeSizes.text} B code; RAM: linear memory ${b.linearMemoryBytes} B static + ${b.runtimeSizes.bss - b.linearMemoryBytes} B runtime state (arena in use ${built.map.arenaBytes} B)`,
    );
  }

  await energy(photos, encodeCounted);
}

async function energy(photos: string[], encodeCounted: Record<string, number>) {
  const { loadTidepool } = await import("../host/eval/tidepool-codec.ts");
  const status = await loadTidepool({ trainImages: 100 });
  if (!status.available) {
    console.log(`\nenergy at equal MS-SSIM: skipped (${status.reason})`);
    return;
  }
  const codec = status.codec;
  const width = 320,
    height = 240,
    format: PixelFormat = "rgb565";
  console.log(
    `\n=== energy per delivered image: ${width}x${height} RGB565 frames, Tidepool (all ${codec.channels} channels, device packets) vs device JPEG at the lowest quality with MS-SSIM >= Tidepool's ===`,
  );
  const jpegBuild = await buildDeviceJpeg(width, 64 * 1024);
  const jex = await loadDeviceJpeg(jpegBuild);
  const built = await buildEncoder({ board: "k210", width, height, format });
  const enc = await EncoderInstance.load(built.wasm);
  const perPhoto: Array<{ ms: number; jq: number; jms: number; jbytes: number; frame: Uint8Array; tpPackets: Record<string, number[]> }> = [];
  for (const p of photos) {
    const frame = toFrame(await loadRgb(p, { width, height }), format);
    const ref = asSeen(frame, width, height, format);
    const latent = enc.encode(frame, width, height, format);
    const ms = msssim(ref, await codec.decodePrefix(latent, codec.channels));
    const tpPackets: Record<string, number[]> = {};
    for (const l of RADIO_LINKS) tpPackets[l.name] = devicePacketize(enc, { imageId: 1, packetBytes: l.payloadBytes }).packets.map((x) => x.length);
    const quality = async (q: number) => {
      const file = runJpeg(jex, frame, width, height, format, q);
      const dec = await sharp(file).raw().toBuffer();
      return { file, ms: msssim(ref, { width, height, data: new Uint8Array(dec) }) };
    };
    let lo = 1,
      hi = 95;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((await quality(mid)).ms >= ms) hi = mid;
      else lo = mid + 1;
    }
    const j = await quality(lo);
    perPhoto.push({ ms, jq: lo, jms: j.ms, jbytes: j.file.length, frame, tpPackets });
  }
  console.log(
    `MS-SSIM: Tidepool ${mean(perPhoto.map((x) => x.ms)).toFixed(4)}; JPEG at q ${perPhoto.map((x) => x.jq).join("/")} ${mean(perPhoto.map((x) => x.jms)).toFixed(4)}, ${mean(perPhoto.map((x) => x.jbytes)).toFixed(0)} B; Tidepool ${mean(perPhoto.map((x) => x.tpPackets["lora-sf7"].reduce((s, v) => s + v, 0))).toFixed(0)} B in 222-B packets`,
  );
  console.log(
    "radio: " +
      RADIO_LINKS.map((l) => `${l.name} ${(l.txWatts * 1000).toFixed(0)} mW`).join(", ") +
      "; compute: counted instructions x CPI x joules per cycle (docs/energy.md)",
  );
  console.log("board       link       Tidepool mJ (compute + radio)   JPEG mJ (compute + radio)   Tidepool / JPEG");
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!,
      core = CORE_ENERGY[name],
      cpi = NATIVE_CPI[board.costModel].cpi;
    const builtB = await buildEncoder({ board, width, height, format });
    const n = runNativeEncoder(
      builtB.wasm,
      perPhoto.map((x) => x.frame),
      { width, height, format },
      { target: t.name, boundsChecks: "off", packets: { packetBytes: 222 } },
    );
    const jc: number[] = [];
    for (const x of perPhoto)
      jc.push(
        runNativeJpeg(jpegBuild.wasm, [x.frame], { width, height, format, quality: x.jq }, { target: t.name, boundsChecks: "off" }).encodeInstructions[0],
      );
    const tpCompute = computeJoules(mean(n.encodeInstructions) + mean(n.packetInstructions), cpi, core);
    const jCompute = computeJoules(mean(jc), cpi, core);
    for (const l of RADIO_LINKS) {
      const tpRadio = mean(perPhoto.map((x) => radioJoules(l, x.tpPackets[l.name])));
      const jRadio = mean(perPhoto.map((x) => radioJoules(l, jpegPacketSizes(x.jbytes, l.payloadBytes))));
      const tp = tpCompute + tpRadio,
        jp = jCompute + jRadio;
      const f = (c: number, r: number) => `${(1000 * (c + r)).toFixed(1).padStart(8)} (${(1000 * c).toFixed(1)} + ${(1000 * r).toFixed(1)})`;
      console.log(`${name.padEnd(11)} ${l.name.padEnd(10)} ${f(tpCompute, tpRadio).padEnd(31)} ${f(jCompute, jRadio).padEnd(27)} ${(tp / jp).toFixed(2)}x`);
    }
  }
  console.log("goal: <= 0.5x the JPEG's energy per delivered image at SF10");
  void encodeCounted;
  void NATIVE_TARGETS;
}
