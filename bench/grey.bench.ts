// The grey model (models/default-grey.tpm, first layer reads one channel) against the colour model
// fed grey (what a GRAY8 board ran before: Y replicated into R, G, B), on greyscale Kodak, both
// decoded by the shipped decoder (models/decoder.onnx); real packet bytes from each model's tables.
// Also the encoder cost of each on GAP8 (320x240 GRAY8, cycles modelled, docs/cost-models.md).
import { existsSync } from "node:fs";
import { DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH, buildEncoder } from "../host/build/build.ts";
import { loadTidepool, type TidepoolCodec } from "../host/eval/tidepool-codec.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { getBoard } from "../host/core/boards.ts";
import { profileWorkload } from "../host/build/profile/profile.ts";
import { encoderWorkload } from "../host/build/profile/encoder-workload.ts";
import { samplePhotos } from "../host/image/samples.ts";
import { readModel } from "../host/model/format.ts";
import { readFileSync } from "node:fs";
import { kodakImages } from "../tests/helpers/frames.ts";
import type { RgbImage } from "../host/core/types.ts";

/** The picture a grey camera takes of an RGB image: BT.601 integer luma, replicated to RGB for the metrics. */
function grey(img: RgbImage): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < img.data.length; i += 3) {
    const y = (77 * img.data[i] + 150 * img.data[i + 1] + 29 * img.data[i + 2] + 128) >> 8;
    out[i] = out[i + 1] = out[i + 2] = y;
  }
  return { width: img.width, height: img.height, data: out };
}

const KS = [4, 8, 12];

export default async function greyBench() {
  if (!existsSync(DEFAULT_GREY_MODEL_PATH)) {
    console.log(`grey model not shipped (${DEFAULT_GREY_MODEL_PATH}); train it with npm run train -- --config training/configs/grey.json`);
    return;
  }
  const images = kodakImages();
  if (images.length === 0) {
    console.log("Kodak not found (../shared/datasets/kodak)");
    return;
  }
  const codecs: Array<[string, TidepoolCodec]> = [];
  for (const [name, modelPath] of [
    ["colour model, Y in R=G=B", DEFAULT_MODEL_PATH],
    ["grey model", DEFAULT_GREY_MODEL_PATH],
  ] as const) {
    const s = await loadTidepool({ modelPath });
    if (!s.available) {
      console.log(`Tidepool not usable here: ${s.reason}`);
      return;
    }
    codecs.push([name, s.codec]);
  }
  console.log(
    `greyscale Kodak (${images.length} images, full size, luma replicated), decoder models/decoder.onnx, bytes: real packets (${codecs[0][1].rate.name})`,
  );
  console.log("model                      channels   bytes/image   bpp     MS-SSIM  PSNR dB");
  const sums = codecs.map(() => KS.map(() => ({ bytes: 0, ms: 0, ps: 0, px: 0 })));
  for (const path of images) {
    const img = grey(await loadRgb(path));
    for (const [c, [, codec]] of codecs.entries()) {
      const pts = await codec.points(img, KS);
      pts.forEach((p, k) => {
        const s = sums[c][k];
        s.bytes += p.bytes;
        s.ms += p.msssim;
        s.ps += p.psnr;
        s.px += img.width * img.height;
      });
    }
  }
  const n = images.length;
  for (const [c, [name]] of codecs.entries())
    KS.forEach((k, i) => {
      const s = sums[c][i];
      console.log(
        `${name.padEnd(26)} ${String(k).padStart(8)} ${(s.bytes / n).toFixed(0).padStart(13)} ${((8 * s.bytes) / s.px).toFixed(3).padStart(7)} ${(s.ms / n).toFixed(4).padStart(9)} ${(s.ps / n).toFixed(2).padStart(8)}`,
      );
    });

  const board = getBoard("gap8");
  const frame = toFrame(await loadRgb(samplePhotos()[0], { width: 320, height: 240 }), "gray8");
  console.log("\nencoder on gap8, 320x240 GRAY8, specialised kernels (modelled cycles):");
  for (const [name, path] of [
    ["colour model", DEFAULT_MODEL_PATH],
    ["grey model", DEFAULT_GREY_MODEL_PATH],
  ] as const) {
    const model = readModel(readFileSync(path), path);
    for (const runtime of ["aot", "interp"] as const) {
      const built = await buildEncoder({ board, model, width: 320, height: 240, format: "gray8", withNames: true, runtime });
      const r = await profileWorkload(encoderWorkload(built, [frame]), board, runtime);
      console.log(
        `  ${name.padEnd(13)} ${runtime.padEnd(6)} ${(r.cyclesPerFrame / 1e6).toFixed(1).padStart(7)} M cycles, ${r.layers!.reduce((s, l) => s + l.macsPerFrame, 0) / 1e6} M MAC; arena ${built.map.arenaBytes} B, module ${built.moduleBytes} B`,
      );
    }
  }
}
