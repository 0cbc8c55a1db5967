// Tidepool as a codec under evaluation: the built WASM encoder (the bytes a board would run) → latent →
// rate (a pluggable RateSource) → the server decoder (host/receiver/decoder.ts, models/decoder.onnx).
// Operating points are channel prefixes k = 1..C (progressive tail-drop).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { getBoard, type Board } from "../core/boards.ts";
import { buildEncoder, DEFAULT_MODEL_PATH } from "../build/build.ts";
import { toFrame } from "../image/load.ts";
import { readModel } from "../model/format.ts";
import type { Model } from "../core/model-types.ts";
import { repoPath } from "../core/paths.ts";
import { EncoderInstance } from "../build/runtime/encoder-instance.ts";
import { fitTables, IdealRate, tablesFromJson, tablesToJson } from "../wire/bitstream/ideal-rate.ts";
import { msssimReference } from "./metrics.ts";
import { loadRgb } from "../image/load.ts";
import { PacketRate } from "../wire/bitstream/packet-rate.ts";
import { modelTables } from "../wire/bitstream/tables.ts";
import { atomicWrite } from "../core/atomic-write.ts";
import type { FrameSize, Latent, RgbImage, ServerDecoder } from "../core/types.ts";
import { imagenetSplit } from "../core/dataset-split.ts";
import type { RateSource } from "../wire/bitstream/packet-rate.ts";
import { namedModel } from "../core/model-registry.ts";

export const DECODER_ONNX = repoPath("models", "decoder.onnx");
/** The task-aware decoder (PNC stage 2, distilled into MobileNetV2) for the same encoder, when trained. */
export const DECODER_TASK_ONNX = repoPath("models", "decoder-task.onnx");
export const NO_DECODER = "no trained decoder installed (models/decoder.onnx)";

export interface TidepoolPoint {
  channels: number;
  bytes: number;
  psnr: number;
  msssim: number;
  decoded: RgbImage;
}

/**
 * The board evaluation encodes on: k210's build target and kernels, with the arena budget lifted so
 * full-size test images (Kodak 768×512) fit. The latent does not depend on the budget; board fit is
 * checked by `tidepool build`, not here.
 */
export function evalBoard(): Board {
  const k = getBoard("k210");
  return { ...k, memory: { ...k.memory, totalBytes: 1 << 28, arenaBudgetBytes: 1 << 28 } };
}

export class TidepoolCodec {
  private encoders = new Map<string, Promise<EncoderInstance>>();
  constructor(
    readonly model: Model,
    readonly modelKey: string,
    readonly decoder: ServerDecoder,
    public rate: RateSource,
  ) {}

  get channels(): number {
    return this.model.layers[this.model.layers.length - 1].outChannels;
  }

  private encoderFor(width: number, height: number): Promise<EncoderInstance> {
    const key = `${width}x${height}`;
    let e = this.encoders.get(key);
    if (!e) {
      e = buildEncoder({ board: evalBoard(), model: this.model, width, height, format: "rgb888" }).then((b) => EncoderInstance.load(b.wasm, b.board));
      this.encoders.set(key, e);
    }
    return e;
  }

  /** Runs the built WASM encoder on an RGB image (RGB888 rows, as a camera delivering RGB888 would). */
  async encode(img: RgbImage): Promise<Latent> {
    const enc = await this.encoderFor(img.width, img.height);
    return enc.encode(toFrame(img, "rgb888"), img.width, img.height, "rgb888");
  }

  /** Decodes the first `k` channels (the rest marked missing and zeroed, as a receiver would see them). */
  async decodePrefix(latent: Latent, k: number, size?: FrameSize): Promise<RgbImage> {
    const plane = latent.width * latent.height;
    const present = new Uint8Array(latent.data.length);
    present.fill(1, 0, k * plane);
    const data = latent.data.slice();
    data.fill(0, k * plane);
    return this.decoder.decode({ ...latent, data }, present, this.model, size);
  }

  /** Operating points of one image for the given channel counts. */
  async points(img: RgbImage, ks: number[]): Promise<TidepoolPoint[]> {
    const latent = await this.encode(img);
    const out: TidepoolPoint[] = [];
    for (const k of ks) {
      const decoded = await this.decodePrefix(latent, k, img);
      const ref = msssimReference(img);
      out.push({ channels: k, bytes: this.rate.bytes(latent, k), psnr: ref.psnr(decoded), msssim: ref.msssim(decoded), decoded });
    }
    return out;
  }
}

/** Fits the static per-channel tables on the training split (224² camera view), cached per model and count. */
export async function trainingSplitRate(codec: TidepoolCodec, opts: { images?: number; log?: (s: string) => void } = {}): Promise<IdealRate> {
  const train = imagenetSplit("train");
  const n = Math.min(opts.images ?? 400, train.length);
  const cacheDir = repoPath("build", ".cache");
  const cache = `${cacheDir}/ideal-rate-${codec.modelKey}-${n}.json`;
  if (existsSync(cache)) return new IdealRate(tablesFromJson(readFileSync(cache, "utf8"), cache));
  opts.log?.(`fitting static rate tables on ${n} imagenet-sample training images (cached in ${cache})`);
  // Spread over the classes deterministically: every (800/n)-th training image.
  const picked = Array.from({ length: n }, (_, i) => train[Math.floor((i * train.length) / n)]);
  const latents: Latent[] = [];
  for (const t of picked) latents.push(await codec.encode(await loadRgb(t.path, { width: 224, height: 224 })));
  const tables = fitTables(latents, Array.from(codec.model.latent.levels), `imagenet-sample train split (label_index % 5 != 0), 224x224 cover crops`);
  mkdirSync(cacheDir, { recursive: true });
  atomicWrite(cache, tablesToJson(tables));
  return new IdealRate(tables);
}

export type TidepoolStatus = { available: true; codec: TidepoolCodec } | { available: false; reason: string };

/** Loads the shipped model, the server decoder and the rate source; explains why when they are missing. */
export async function loadTidepool(
  opts: { modelPath?: string; decoderPath?: string; rate?: RateSource; trainImages?: number; log?: (s: string) => void } = {},
): Promise<TidepoolStatus> {
  const modelPath = opts.modelPath ?? DEFAULT_MODEL_PATH;
  const decoderPath = opts.decoderPath ?? DECODER_ONNX;
  if (!existsSync(decoderPath)) return { available: false, reason: decoderPath === DECODER_ONNX ? NO_DECODER : `no decoder at ${decoderPath}` };
  if (!existsSync(modelPath)) return { available: false, reason: `no trained encoder model installed (${modelPath})` };
  const bytes = new Uint8Array(readFileSync(modelPath));
  const model = readModel(bytes, modelPath);
  const { loadDecoder } = await import("../receiver/decoder.ts"); // onnxruntime loads only when a decoder is used
  const decoder: ServerDecoder = await loadDecoder(decoderPath);
  const key = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const codec = new TidepoolCodec(
    model,
    key,
    decoder,
    opts.rate ?? {
      name: "pending",
      describe: "",
      bytes: () => {
        throw new Error("rate not set");
      },
    },
  );
  // Real bytes (packets of the bitstream) when the model carries its entropy tables; otherwise the
  // ideal code length under tables fitted on the training split.
  if (!opts.rate)
    codec.rate = model.entropy ? new PacketRate(modelTables(model, modelPath)) : await trainingSplitRate(codec, { images: opts.trainImages, log: opts.log });
  return { available: true, codec };
}

/**
 * The task encoder (models/task.tpm, trained end to end for MobileNetV2: docs/training.md) with its own
 * decoder (models/decoder-task-encoder.onnx) and real packet bytes from its own ENTR tables. A task-table
 * row: `{ name: "tidepool-task-encoder", codec: (await taskEncoderCodec()).codec }` when available.
 */
export async function taskEncoderCodec(opts: { log?: (s: string) => void } = {}): Promise<TidepoolStatus> {
  const task = namedModel("task")!;
  if (!existsSync(task.model)) return { available: false, reason: `no task encoder installed (${task.model})` };
  return loadTidepool({ modelPath: task.model, decoderPath: task.decoder, log: opts.log });
}
