// Task-aware evaluation: MobileNetV2-1.0 int8 (ONNX model zoo, shared/models/mobilenetv2-12-int8) run
// with onnxruntime-node on reconstructed 224×224 images, and the imagenet-sample splits
// (train: label_index % 5 != 0, test: label_index % 5 == 0).

import { join } from "node:path";
import * as ort from "onnxruntime-node";
import sharp, { type Sharp } from "sharp";
import { SHARED_DIR } from "../core/paths.ts";
import type { RgbImage } from "../core/types.ts";

export const MOBILENET_PATH = join(SHARED_DIR, "models", "mobilenetv2-12-int8", "mobilenetv2-12-int8.onnx");
const MEAN = [0.485, 0.456, 0.406],
  STD = [0.229, 0.224, 0.225];

/** The classifier's own view of a photo: short side resized to 256 (lanczos3), centre crop 224×224. */
export async function classifierView(path: string): Promise<RgbImage> {
  return centreCrop224(sharp(path, { failOn: "error" }).removeAlpha().toColourspace("srgb"), path);
}

/** The same view of a decoded image (the gateway's and the link simulation's reconstructions). */
export async function classifierViewOf(img: RgbImage): Promise<RgbImage> {
  return centreCrop224(sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }), "decoded image");
}

async function centreCrop224(img: Sharp, what: string): Promise<RgbImage> {
  const { data: d1, info: i1 } = await img.resize(256, 256, { fit: "outside", kernel: "lanczos3" }).raw().toBuffer({ resolveWithObject: true });
  const left = Math.round((i1.width - 224) / 2),
    top = Math.round((i1.height - 224) / 2);
  const { data, info } = await sharp(d1, { raw: { width: i1.width, height: i1.height, channels: i1.channels } })
    .extract({ left, top, width: 224, height: 224 })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${what}: decoded to ${info.channels} channels`);
  return { width: 224, height: 224, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export class Classifier {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(path = MOBILENET_PATH): Promise<Classifier> {
    try {
      return new Classifier(await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 }));
    } catch (e) {
      throw new Error(`cannot load the classifier ${path}: ${(e as Error).message}`);
    }
  }

  /** Top-5 class indices (best first) for each 224×224 RGB image. */
  async top5(images: RgbImage[], batch = 16): Promise<number[][]> {
    return (await this.logits(images, batch)).map((row) =>
      Array.from(row)
        .map((v, i) => [v, i] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, 5)
        .map(([, i]) => i),
    );
  }

  /** Top-1 with its softmax probability and its logit margin over the runner-up, for each image. */
  async confidence(images: RgbImage[], batch = 16): Promise<{ top1: number; prob: number; margin: number }[]> {
    return (await this.logits(images, batch)).map((row) => {
      let top1 = 0;
      for (let i = 1; i < row.length; i++) if (row[i] > row[top1]) top1 = i;
      let sum = 0,
        second = -Infinity;
      for (let i = 0; i < row.length; i++) {
        sum += Math.exp(row[i] - row[top1]);
        if (i !== top1 && row[i] > second) second = row[i];
      }
      return { top1, prob: 1 / sum, margin: row[top1] - second };
    });
  }

  private async logits(images: RgbImage[], batch: number): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let s = 0; s < images.length; s += batch) {
      const chunk = images.slice(s, s + batch);
      const plane = 224 * 224,
        input = new Float32Array(chunk.length * 3 * plane);
      chunk.forEach((im, n) => {
        if (im.width !== 224 || im.height !== 224) throw new Error(`classifier input must be 224x224, got ${im.width}x${im.height}`);
        for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) input[(n * 3 + c) * plane + p] = (im.data[3 * p + c] / 255 - MEAN[c]) / STD[c];
      });
      const res = await this.session.run({ input: new ort.Tensor("float32", input, [chunk.length, 3, 224, 224]) });
      const logits = res.output.data as Float32Array;
      for (let n = 0; n < chunk.length; n++) out.push(logits.slice(n * 1000, (n + 1) * 1000));
    }
    return out;
  }
}

/** Fraction of images whose label is the top-1 / within the top-5; `null` predictions count as wrong. */
export function accuracy(preds: (number[] | null)[], labels: number[]): { top1: number; top5: number } {
  let t1 = 0,
    t5 = 0;
  preds.forEach((p, i) => {
    if (p) {
      if (p[0] === labels[i]) t1++;
      if (p.includes(labels[i])) t5++;
    }
  });
  return { top1: t1 / labels.length, top5: t5 / labels.length };
}
