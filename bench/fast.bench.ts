// The fast encoder (models/fast.tpm, models/fast-grey.tpm; training/configs/fast*.json) beside the
// shipped one, in the same run: (1) native instructions per camera frame counted under QEMU (wasm2c +
// GCC, bare metal, bounds checks off) against the device JPEG q20 on openmv-h7, gap8/gap9 and k210;
// (2) what the speed costs in bytes: Kodak (full size) decoded by the shared models/decoder.onnx, real
// packet bytes under each model's own ENTR tables, and the fast model's bytes at the shipped model's
// MS-SSIM (colour, and greyscale Kodak for the grey variants). `npm run bench -- fast`; the native
// bench prints part (1) too. FAST_BENCH_LIMIT=N uses the first N Kodak images.
import { existsSync, readFileSync } from "node:fs";
import { buildEncoder, DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH } from "../host/build/build.ts";
import { buildDeviceJpeg } from "../host/build/jpeg/device-jpeg.ts";
import { runNativeEncoder, runNativeJpeg } from "../host/build/native/run.ts";
import { nativeTargetForBoard } from "../host/build/native/targets.ts";
import type { CountEntry } from "../host/build/kernels/choice.ts";
import { countKernels, writeCountTable } from "../host/build/kernels/count.ts";
import { SIMD_VARIANT } from "../host/build/kernels/simd-m7.ts";
import { encoderLayers } from "../host/build/profile/encoder-workload.ts";
import { getBoard } from "../host/core/boards.ts";
import { modelPathForFormat, namedModel } from "../host/core/model-registry.ts";
import type { RgbImage } from "../host/core/types.ts";
import { loadTidepool, type TidepoolCodec } from "../host/eval/tidepool-codec.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { samplePhotos } from "../host/image/samples.ts";
import { readModel } from "../host/model/format.ts";
import { macs } from "../host/model/geometry.ts";
import { kodakImages } from "../tests/helpers/frames.ts";

const BOARDS = ["openmv-h7", "gap8", "k210"];
const KS = [1, 2, 3, 4, 6, 8, 10, 12];
const M = (n: number) => (n / 1e6).toFixed(1);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/** The fast models' layer shapes counted per kernel shape on every target (cached), for the committed table the builds choose from. */
export async function countFastKernels(): Promise<CountEntry[]> {
  const fast = namedModel("fast")!;
  if (!existsSync(fast.model)) return [];
  const out: CountEntry[] = [];
  for (const target of ["m7", "rv32", "rv64"] as const)
    for (const format of ["rgb565", "gray8"] as const) {
      const path = modelPathForFormat(fast.model, format);
      out.push(...(await countKernels(target, readModel(readFileSync(path), path))));
    }
  return out;
}

/** Counted native instructions per frame: shipped and fast model (each board's variant for its camera) vs the device JPEG q20. */
export async function fastNativeCounts(photos = samplePhotos().slice(0, 3)): Promise<void> {
  const fast = namedModel("fast")!;
  if (!existsSync(fast.model)) {
    console.log(`fast model not shipped (${fast.model}); train it with npm run train -- --config training/configs/fast.json`);
    return;
  }
  console.log(
    `\n=== fast model vs shipped model: counted native instructions per camera frame (million), ${photos.length} sample photos, bounds checks off, JPEG q20 ===`,
  );
  console.log("board       ISA    frame              model                         M MAC  Tidepool  per MAC  JPEG q20  Tidepool/JPEG");
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!;
    const { width, height, format } = board.camera;
    const frames = await Promise.all(photos.map(async (p) => toFrame(await loadRgb(p, { width, height }), format)));
    const jpeg = await buildDeviceJpeg(width, 64 * 1024);
    const j = mean(runNativeJpeg(jpeg.wasm, frames, { width, height, format, quality: 20 }, { target: t.name, boundsChecks: "off" }).encodeInstructions);
    for (const modelPath of [undefined, modelPathForFormat(fast.model, format)]) {
      const built = await buildEncoder({ board, width, height, format, runtime: "aot", withNames: true, modelPath });
      const mac = macs(built.model, width, height);
      const n = runNativeEncoder(built.wasm, frames, { width, height, format }, { target: t.name, boundsChecks: "off", simd: built.simd });
      const e = mean(n.encodeInstructions);
      const layerMacs = encoderLayers(built).map((l) => l.macsPerFrame);
      const per = (n.layerInstructions ?? [])
        .map((c, i) => `${n.build.simdLayers.includes(i) ? SIMD_VARIANT : built.kernels.layers[i]?.variant} ${(c / layerMacs[i]).toFixed(2)}`)
        .join(" | ");
      console.log(
        `${name.padEnd(11)} ${t.name.padEnd(6)} ${`${width}x${height} ${format}`.padEnd(18)} ${String(built.model.meta.name).padEnd(28)} ${M(mac).padStart(6)}  ${M(e).padStart(8)}  ${(e / mac).toFixed(2).padStart(7)}  ${M(j).padStart(8)}  ${(e / j).toFixed(2).padStart(12)}x   (per layer: ${per})`,
      );
    }
  }
  console.log(
    "openmv-h7 runs the native build's Cortex-M7 DSP kernels (docs/kernels.md) where a layer's accumulator fits int32; gap9 runs gap8's RV32 code on the same 324x244 GRAY8 frame: its counts are gap8's. Goal (issue 14): Tidepool/JPEG <= 3x on every board, <= 1x on one",
  );
}

function luma(img: RgbImage): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < img.data.length; i += 3) out[i] = out[i + 1] = out[i + 2] = (77 * img.data[i] + 150 * img.data[i + 1] + 29 * img.data[i + 2] + 128) >> 8;
  return { width: img.width, height: img.height, data: out };
}

interface Mean {
  k: number;
  bytes: number;
  msssim: number;
  psnr: number;
}

/** Bytes of a mean curve (sorted by bytes) at an MS-SSIM, linear between its points; null outside it. */
function bytesAt(curve: Mean[], target: number): number | null {
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1],
      b = curve[i];
    if (a.msssim <= target && target <= b.msssim) return a.bytes + ((target - a.msssim) / (b.msssim - a.msssim)) * (b.bytes - a.bytes);
  }
  return null;
}

async function rateQuality(title: string, pairs: Array<[string, string]>, images: string[], grey: boolean): Promise<void> {
  const codecs: Array<[string, TidepoolCodec]> = [];
  for (const [label, path] of pairs) {
    const s = await loadTidepool({ modelPath: path });
    if (!s.available) {
      console.log(`${label}: not usable here: ${s.reason}`);
      return;
    }
    codecs.push([label, s.codec]);
  }
  const sums = codecs.map(() => KS.map(() => ({ bytes: 0, ms: 0, ps: 0 })));
  for (const path of images) {
    const img = grey ? luma(await loadRgb(path)) : await loadRgb(path);
    for (const [c, [, codec]] of codecs.entries())
      (await codec.points(img, KS)).forEach((p, i) => {
        sums[c][i].bytes += p.bytes;
        sums[c][i].ms += p.msssim;
        sums[c][i].ps += p.psnr;
      });
  }
  const n = images.length;
  const curves = sums.map((s) => s.map((v, i) => ({ k: KS[i], bytes: v.bytes / n, msssim: v.ms / n, psnr: v.ps / n })));
  console.log(`\n--- ${title}: ${n} Kodak images, full size, decoder models/decoder.onnx, real packet bytes (each model's ENTR tables) ---`);
  console.log("model                            channels  bytes/image     MS-SSIM  PSNR dB");
  for (const [c, [label]] of codecs.entries())
    for (const p of curves[c])
      console.log(
        `${label.padEnd(32)} ${String(p.k).padStart(8)}  ${p.bytes.toFixed(0).padStart(11)}  ${p.msssim.toFixed(4).padStart(10)}  ${p.psnr.toFixed(2).padStart(7)}`,
      );
  const [ref, fast] = curves;
  console.log(`bytes at equal MS-SSIM (the shipped model's points; the fast model's curve interpolated):`);
  for (const p of ref) {
    const b = bytesAt(fast, p.msssim);
    console.log(
      `  MS-SSIM ${p.msssim.toFixed(4)}: shipped ${p.bytes.toFixed(0).padStart(6)} B, fast ${b === null ? "  (out of its range)" : `${b.toFixed(0).padStart(6)} B (${((b / p.bytes - 1) * 100).toFixed(1)} %)`}`,
    );
  }
}

export default async function fastBench() {
  const fast = namedModel("fast")!,
    fastGrey = namedModel("fast-grey")!;
  if (!existsSync(fast.model)) {
    console.log(`fast model not shipped (${fast.model}); train it with npm run train -- --config training/configs/fast.json`);
    return;
  }
  for (const [label, path] of [
    ["shipped", DEFAULT_MODEL_PATH],
    ["fast", fast.model],
    ["shipped grey", DEFAULT_GREY_MODEL_PATH],
    ["fast grey", fastGrey.model],
  ])
    if (existsSync(path)) {
      const m = readModel(readFileSync(path), path);
      const shapes = m.layers.map((l) => `${l.inChannels}->${l.outChannels} ${l.kernel}x${l.kernel}/s${l.stride}`).join(", ");
      console.log(
        `${label.padEnd(13)} ${String(m.meta.name).padEnd(28)} ${shapes}; ${M(macs(m, 320, 240))} M MAC per 320x240, ${M(macs(m, 324, 244))} M per 324x244, ${(macs(m, 224, 224) / (224 * 224)).toFixed(1)} MAC per pixel`,
      );
    }
  writeCountTable(await countFastKernels());
  await fastNativeCounts();
  const limit = Number(process.env.FAST_BENCH_LIMIT ?? 0);
  const kodak = kodakImages().slice(0, limit > 0 ? limit : undefined);
  if (kodak.length === 0) {
    console.log("Kodak not found (../shared/datasets/kodak)");
    return;
  }
  await rateQuality(
    "colour",
    [
      ["shipped (default.tpm)", DEFAULT_MODEL_PATH],
      ["fast (fast.tpm)", fast.model],
    ],
    kodak,
    false,
  );
  if (existsSync(fastGrey.model))
    await rateQuality(
      "greyscale Kodak (luma), the GRAY8 models",
      [
        ["shipped grey (default-grey.tpm)", DEFAULT_GREY_MODEL_PATH],
        ["fast grey (fast-grey.tpm)", fastGrey.model],
      ],
      kodak,
      true,
    );
}
