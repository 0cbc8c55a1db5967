// Server decoder throughput (issue 3: >= 100 images/s at 224x224 on this 2-core CPU with
// onnxruntime-node), through the product path (host/receiver/decoder.ts: dequantize, mask, ONNX run,
// to RGB), next to the baseline decoders a server would otherwise run on the same view, measured in
// the same run: sharp/libjpeg-turbo decoding a ~2 kB JPEG and libwebp decoding a ~2 kB WebP.
import { existsSync, readFileSync } from "node:fs";
import sharp from "sharp";
import { buildEncoder, DEFAULT_MODEL_PATH } from "../host/build/build.ts";
import { DEFAULT_DECODER_PATH, loadDecoder } from "../host/receiver/decoder.ts";
import { DECODER_TASK_ONNX, evalBoard } from "../host/eval/tidepool-codec.ts";
import { classifierView } from "../host/receiver/classifier.ts";
import { toFrame } from "../host/image/load.ts";
import { readModel } from "../host/model/format.ts";
import { EncoderInstance } from "../host/build/runtime/encoder-instance.ts";
import { decodeRgb, jpegTurbo } from "../host/eval/baselines.ts";
import { imagenetSplit } from "../host/core/dataset-split.ts";

const SECONDS = 3;

async function rate(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    await fn();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

export default async function decoderBench() {
  const model = readModel(readFileSync(DEFAULT_MODEL_PATH), DEFAULT_MODEL_PATH);
  const [item] = imagenetSplit("test");
  const img = await classifierView(item.path); // 224x224
  const built = await buildEncoder({ board: evalBoard(), model, width: 224, height: 224, format: "rgb888" });
  const latent = (await EncoderInstance.load(built.wasm, built.board)).encode(toFrame(img, "rgb888"), 224, 224, "rgb888");
  const present = new Uint8Array(latent.data.length).fill(1);
  console.log(
    `settings: 224x224 view of ${item.name}; latent ${latent.channels}x${latent.height}x${latent.width}; onnxruntime-node, intraOpNumThreads 2, graph optimisation "all", batch 1; ${SECONDS} s per figure after 5 warm-up runs; ${process.arch}, Node ${process.version}`,
  );
  const rows: [string, number][] = [];
  for (const [name, path] of [
    ["tidepool decoder (models/decoder.onnx)", DEFAULT_DECODER_PATH],
    ["tidepool task decoder (models/decoder-task.onnx)", DECODER_TASK_ONNX],
  ] as const) {
    if (!existsSync(path)) {
      console.log(`${name}: not installed`);
      continue;
    }
    const dec = await loadDecoder(path);
    rows.push([name, await rate(() => dec.decode(latent, present, model))]);
    await dec.close();
  }
  const raw = sharp(img.data, { raw: { width: 224, height: 224, channels: 3 } });
  const jpeg = await jpegTurbo().encode(img, 15);
  const webp = new Uint8Array(await raw.clone().webp({ quality: 30, effort: 6 }).toBuffer());
  rows.push([`baseline: JPEG decode (sharp/libjpeg-turbo, ${jpeg.length} B, q15)`, await rate(() => decodeRgb(jpeg))]);
  rows.push([`baseline: WebP decode (sharp/libwebp, ${webp.length} B, q30)`, await rate(() => decodeRgb(webp))]);
  for (const [name, r] of rows) console.log(`${name.padEnd(62)} ${r.toFixed(0).padStart(6)} images/s`);
  console.log("goal (issue 3): the Tidepool decoder >= 100 images/s at 224x224 on this 2-core CPU");
}
