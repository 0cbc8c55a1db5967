// Tidepool's encoder against the on-device baseline JPEG (q = 10 / 20 / 50) on the same row
// interface: predicted cycles per frame on every board x runtime mode, bytes and quality, and the
// wall-time overhead of the cycle-counting instrumentation in Node.
import { performance } from "node:perf_hooks";
import sharp from "sharp";
import { loadBoards } from "../host/core/boards.ts";
import { buildEncoder, loadDefaultModel } from "../host/build/build.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { samplePhotos } from "../host/image/samples.ts";
import { unpackRow, BYTES_PER_PIXEL, type PixelFormat } from "../host/core/pixel-format.ts";
import { buildDeviceJpeg, loadDeviceJpeg, runJpeg } from "../host/build/jpeg/device-jpeg.ts";
import { profileWorkload } from "../host/build/profile/profile.ts";
import { encoderWorkload } from "../host/build/profile/encoder-workload.ts";
import { jpegWorkload } from "../host/build/profile/jpeg-workload.ts";
import { instrument } from "../host/build/profile/instrument.ts";
import { costTable } from "../host/build/profile/cost-models.ts";
import { EncoderInstance } from "../host/build/runtime/encoder-instance.ts";

const QUALITIES = [10, 20, 50];
const M = (c: number) => (c / 1e6).toFixed(1).padStart(7);

function asSeen(frame: Uint8Array, w: number, h: number, f: PixelFormat) {
  // The camera frame as the encoders see it (RGB565 quantised, grey replicated), as 8-bit RGB.
  const out = new Uint8Array(w * h * 3),
    bpp = BYTES_PER_PIXEL[f];
  for (let y = 0; y < h; y++) out.set(unpackRow(frame.subarray(y * w * bpp, (y + 1) * w * bpp), w, f, 3), y * w * 3);
  return { width: w, height: h, data: out };
}

export default async function profileBench() {
  const { msssim, psnr } = await import("../host/eval/metrics.ts");
  const model = loadDefaultModel();
  const photos = samplePhotos().slice(0, 3);
  console.log(
    `workloads: Tidepool encoder (each board's default model: ${model.meta.name ?? "model"}, and ${String(loadDefaultModel("gray8").meta.name)} on GRAY8 cameras) vs baseline JPEG on the device row interface; ${photos.length} sample photos per cell; cycles from the binaryen-instrumented module x docs/cost-models.md (modelled, not measured)`,
  );
  const layerRows: string[] = [];
  for (const [w, h] of [
    [224, 224],
    [320, 240],
  ] as const) {
    console.log(`\n=== ${w}x${h}: million cycles per frame (ms at the board clock); generic kernel vs kernels specialised by the build for that runtime ===`);
    console.log(
      "board        runtime  format  generic          specialised       JPEG q10         JPEG q20         JPEG q50         generic/q20  specialised/q20",
    );
    for (const board of loadBoards()) {
      const format = board.camera.format;
      const model = loadDefaultModel(format);
      const frames = await Promise.all(photos.map(async (p) => toFrame(await loadRgb(p, { width: w, height: h }), format)));
      const generic = await buildEncoder({ board, model, width: w, height: h, format, withNames: true, kernels: "generic" });
      const jpeg = await buildDeviceJpeg(w, 64 * 1024, true);
      for (const runtime of ["interp", "aot"] as const) {
        const spec = await buildEncoder({ board, model, width: w, height: h, format, withNames: true, runtime });
        const g = await profileWorkload(encoderWorkload(generic, frames), board, runtime);
        const t = await profileWorkload(encoderWorkload(spec, frames), board, runtime);
        const js = await Promise.all(QUALITIES.map((q) => profileWorkload(jpegWorkload(jpeg, frames, w, h, format, q), board, runtime)));
        const cell = (c: number, ms: number) => `${M(c)} (${ms.toFixed(0).padStart(5)} ms)`;
        const q20 = js[1].cyclesPerFrame;
        console.log(
          `${board.name.padEnd(12)} ${runtime.padEnd(8)} ${format.padEnd(7)} ${cell(g.cyclesPerFrame, g.msPerFrame)}  ${cell(t.cyclesPerFrame, t.msPerFrame)}  ${js.map((j) => cell(j.cyclesPerFrame, j.msPerFrame)).join("  ")}  ${(g.cyclesPerFrame / q20).toFixed(2).padStart(10)}x  ${(t.cyclesPerFrame / q20).toFixed(2).padStart(14)}x`,
        );
        if (w === 320) {
          const lanes = spec.kernels.layers.map((l) => l.variant).join("/");
          layerRows.push(
            `${board.name.padEnd(12)} ${runtime.padEnd(8)} ${lanes.padEnd(39)} ${g.layers![0].instructionsPerMac.toFixed(2).padStart(7)} ${g.layers![0].cyclesPerMac.toFixed(2).padStart(8)}   ` +
              t
                .layers!.map(
                  (l) => `${l.instructionsPerMac.toFixed(2).padStart(5)} ${l.cyclesPerMac.toFixed(2).padStart(6)}${l.pricedBy === "categories" ? "" : "*"}`,
                )
                .join("   "),
          );
        }
      }
    }
  }
  const layersOf = (m: typeof model) => m.layers.map((l, i) => `layer ${i} ${l.kernel}x${l.kernel}/${l.stride} ${l.inChannels}->${l.outChannels}`).join(", ");
  console.log(
    `\n=== 320x240: WebAssembly instructions and modelled cycles per multiply-accumulate, per conv layer (${layersOf(model)}; GRAY8 boards: ${layersOf(loadDefaultModel("gray8"))}) ===`,
  );
  console.log(
    "board        runtime  kernel shapes per layer                 generic (all layers)   specialised, per layer: WASM instr/MAC cycles/MAC (* cycles priced per kernel shape from counted native instructions x CPI)",
  );
  for (const r of layerRows) console.log(r);

  console.log("\n=== bytes and quality per frame (224x224 RGB565, mean over the photos) ===");
  const w = 224,
    h = 224;
  const frames = await Promise.all(photos.map(async (p) => toFrame(await loadRgb(p, { width: w, height: h }), "rgb565")));
  const ex = await loadDeviceJpeg(await buildDeviceJpeg(w));
  for (const q of QUALITIES) {
    let bytes = 0,
      ms = 0,
      ps = 0;
    for (const f of frames) {
      const jpg = runJpeg(ex, f, w, h, "rgb565", q);
      const dec = await sharp(jpg).raw().toBuffer();
      const ref = asSeen(f, w, h, "rgb565"),
        got = { width: w, height: h, data: new Uint8Array(dec) };
      bytes += jpg.length;
      ms += msssim(ref, got);
      ps += psnr(ref, got);
    }
    console.log(
      `device JPEG q${q}: ${(bytes / frames.length).toFixed(0)} B, MS-SSIM ${(ms / frames.length).toFixed(4)}, PSNR ${(ps / frames.length).toFixed(2)} dB`,
    );
  }
  if (!(await tidepoolQuality(photos, w, h))) await latentEntropy(model, frames, w, h);

  console.log("\n=== instrumentation overhead in Node (k210 build, 320x240 RGB565, fastest of 15 interleaved runs) ===");
  const b320 = await buildEncoder({ board: "k210", model, withNames: true });
  const plain = await EncoderInstance.load(b320.wasm);
  const counted = await EncoderInstance.load(instrument(b320.wasm, { costTable: costTable("rv64gc-k210", "interp"), trackDepth: true }).wasm);
  const frame = toFrame(await loadRgb(photos[0], { width: 320, height: 240 }), "rgb565");
  // Interleaved, fastest of 15 each: the machine is shared, so the minimum is the stable figure.
  const tp: number[] = [],
    tc: number[] = [];
  const once = (e: EncoderInstance, into: number[]) => {
    const t0 = performance.now();
    e.encode(frame, 320, 240, "rgb565");
    into.push(performance.now() - t0);
  };
  once(plain, []);
  once(counted, []);
  for (let i = 0; i < 15; i++) {
    once(plain, tp);
    once(counted, tc);
  }
  const [p, c] = [Math.min(...tp), Math.min(...tc)];
  console.log(`plain ${p.toFixed(2)} ms, instrumented ${c.toFixed(2)} ms: ${(c / p).toFixed(2)}x (goal <= 3x)`);
}

/** Tidepool's bytes and MS-SSIM through the evaluation codec (host/eval: WASM encoder, static rate tables, server decoder), when installed. */
async function tidepoolQuality(photos: string[], w: number, h: number): Promise<boolean> {
  let status: Awaited<ReturnType<typeof import("../host/eval/tidepool-codec.ts")["loadTidepool"]>>;
  try {
    const { loadTidepool } = await import("../host/eval/tidepool-codec.ts");
    status = await loadTidepool({ trainImages: 100 });
  } catch (e) {
    console.log(`Tidepool quality: evaluation codec not usable here (${(e as Error).message})`);
    return false;
  }
  if (!status.available) {
    console.log(`Tidepool quality: ${status.reason}`);
    return false;
  }
  const codec = status.codec;
  let bytes = 0,
    ms = 0,
    ps = 0;
  for (const p of photos) {
    const img = await loadRgb(p, { width: w, height: h });
    const [pt] = await codec.points(img, [codec.channels]);
    bytes += pt.bytes;
    ms += pt.msssim;
    ps += pt.psnr;
  }
  const n = photos.length;
  console.log(
    `Tidepool (all ${codec.channels} channels, ${codec.rate.name} rate, RGB888 input): ${(bytes / n).toFixed(0)} B, MS-SSIM ${(ms / n).toFixed(4)}, PSNR ${(ps / n).toFixed(2)} dB`,
  );
  return true;
}

/** Without the server decoder: the latent's size at its per-image zero-order entropy. */
async function latentEntropy(model: ReturnType<typeof loadDefaultModel>, frames: Uint8Array[], w: number, h: number) {
  const built = await buildEncoder({ board: "k210", model, width: w, height: h, format: "rgb565" });
  const enc = await EncoderInstance.load(built.wasm);
  let ent = 0;
  for (const f of frames) {
    const lat = enc.encode(f, w, h, "rgb565");
    const hist = new Map<number, number>();
    for (const v of lat.data) hist.set(v, (hist.get(v) ?? 0) + 1);
    for (const n of hist.values()) ent -= n * Math.log2(n / lat.data.length);
  }
  console.log(
    `Tidepool latent: ${built.map.regions.find((r) => r.name === "latent")!.size} symbols, ~${(ent / 8 / frames.length).toFixed(0)} B at per-image zero-order entropy; image quality needs the server decoder (models/decoder.onnx), reported by \`tidepool eval\` when installed`,
  );
}
