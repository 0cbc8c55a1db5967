// Top-5 ImageNet labels of a received image: the task-aware decoder (models/decoder-task.onnx, trained
// so that MobileNetV2 sees what it would see in the original) reconstructs the image, then MobileNetV2
// classifies its 224×224 view (short side 256, centre crop, as host/eval/classifier.ts does for files).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Classifier, classifierViewOf, MOBILENET_PATH } from "../classifier.ts";
import { loadDecoder } from "../decoder.ts";
import type { ServerDecoder } from "../../core/types.ts";
import type { Model } from "../../core/model-types.ts";
import { repoPath } from "../../core/paths.ts";
import type { RgbImage, Latent } from "../../core/types.ts";

export const TASK_DECODER_PATH = repoPath("models", "decoder-task.onnx");

export interface Label {
  index: number;
  name: string;
}

export class Labeller {
  private constructor(
    private readonly decoder: ServerDecoder,
    private readonly classifier: Classifier,
    private readonly names: string[],
  ) {}

  /** The labeller, or the reason it cannot run (a missing model): the gateway then serves images without labels. */
  static async load(o: { taskDecoderPath?: string; classifierPath?: string } = {}): Promise<Labeller | { unavailable: string }> {
    const dec = o.taskDecoderPath ?? TASK_DECODER_PATH,
      cls = o.classifierPath ?? MOBILENET_PATH;
    if (!existsSync(dec)) return { unavailable: `no task decoder at ${dec}` };
    if (!existsSync(cls)) return { unavailable: `no MobileNetV2 classifier at ${cls}` };
    const namesFile = join(cls, "..", "imagenet_labels.txt");
    const names = existsSync(namesFile)
      ? readFileSync(namesFile, "utf8")
          .trim()
          .split(/\r?\n/)
          .map((l) => l.replace(/^n\d{8}\s+/, "").replace(/_/g, " "))
      : [];
    return new Labeller(await loadDecoder(dec), await Classifier.load(cls), names);
  }

  /** `ownDecoder`: the model's own decoder when it has one (the task encoder's latents need theirs). */
  async top5(latent: Latent, present: Uint8Array, model: Model, ownDecoder?: ServerDecoder): Promise<Label[]> {
    const img = await (ownDecoder ?? this.decoder).decode(latent, present, model);
    const [top] = await this.classifier.top5([await classifierViewOf(img)], 1);
    return top.map((index) => ({ index, name: this.names[index] ?? `class ${index}` }));
  }

  /**
   * The classifier's top-1 for the decode of every channel prefix k = 1..C (the rest missing and zeroed,
   * as a receiver sees a cut upload): the gateway's measurement of a reference upload (docs/adaptive.md §Drift).
   */
  async top1ByPrefix(latent: Latent, model: Model): Promise<number[]> {
    const plane = latent.width * latent.height;
    const views: RgbImage[] = [];
    for (let k = 1; k <= latent.channels; k++) {
      const present = new Uint8Array(latent.data.length).fill(1, 0, k * plane);
      const data = latent.data.slice();
      data.fill(0, k * plane);
      views.push(await classifierViewOf(await this.decoder.decode({ ...latent, data }, present, model)));
    }
    return (await this.classifier.top5(views, views.length)).map((t) => t[0]);
  }

  async close(): Promise<void> {
    await this.decoder.close?.();
  }
}
