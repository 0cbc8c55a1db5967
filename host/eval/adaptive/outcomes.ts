// Per image and level, what each budget would have cost and whether the server classifier still
// gives the same answer: the full-information table AdaCompress's reward is computed from.
// One pass per image: the 224×224 classifier view → the built WASM encoder → the reference packetizer
// (bytes of k leading channels at each link's packet size) → the server decoder (decoder-task.onnx)
// at every k → MobileNetV2 top-1; and the device JPEG at qualities 5, 15, …, 95 → libjpeg → top-1.
// Cached in build/.cache/adaptive/ (gitignored), one JSON-lines file per image set, appended as it
// goes so an interrupted run resumes.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import sharp from "sharp";
import { packetize } from "../../wire/bitstream/packetizer.ts";
import type { EntropyTables } from "../../wire/bitstream/tables.ts";
import { toFrame } from "../../image/load.ts";
import { buildDeviceJpeg, loadDeviceJpeg, runJpeg, type JpegExports } from "../../build/jpeg/device-jpeg.ts";
import { jpegPacketSizes } from "../../wire/link/jpeg-link.ts";
import type { Classifier } from "../../receiver/classifier.ts";
import type { TidepoolCodec } from "../tidepool-codec.ts";
import type { Latent, RgbImage } from "../../core/types.ts";
import { xorshiftRandom } from "../../core/seeded-random.ts";

/** Packet sizes the table keeps bytes for: LoRaWAN DR0–2 / DR3 / DR4–5 (EU868). */
export const OUTCOME_PACKET_SIZES = [51, 115, 222] as const;
/** AdaCompress's action space on the device JPEG. */
export const JPEG_QUALITIES = [5, 15, 25, 35, 45, 55, 65, 75, 85, 95] as const;

export interface ImageOutcome {
  /** Image file name (unique within its set) and its label when the set has one. */
  name: string;
  label: number | null;
  /** Scene variant: "day" (the photo) or "night" (darkened + sensor noise, see nightView). */
  scene: "day" | "night";
  /** MobileNetV2 top-1 on the original 224×224 view. */
  top1: number;
  /** Latent (channel-major symbols, base64) so features can be recomputed without re-encoding. */
  latent: { width: number; height: number; channels: number; data: string };
  /** bytes[p][k−1]: bytes of the first k channels in packets of OUTCOME_PACKET_SIZES[p] bytes. */
  bytes: number[][];
  /** top1 of the decoded image with the first k channels, k = 1..C. */
  tpTop1: number[];
  /** Device JPEG per quality in JPEG_QUALITIES: file bytes and top-1 of the decoded file. */
  jpegBytes: number[];
  jpegTop1: number[];
}

export function latentOf(o: ImageOutcome): Latent {
  const b = Buffer.from(o.latent.data, "base64");
  return { width: o.latent.width, height: o.latent.height, channels: o.latent.channels, data: new Uint8Array(b.buffer, b.byteOffset, b.length) };
}

/** Packet bytes of a JPEG file of `fileBytes` on a link with `payload`-byte packets (5-byte chunk headers). */
export function jpegLinkBytes(fileBytes: number, payload: number): number {
  return jpegPacketSizes(fileBytes, payload).reduce((a, b) => a + b, 0);
}

/** Seeded xorshift32 → approximately normal noise (sum of 4 uniforms). */
function noiseSource(seed: number) {
  const u = xorshiftRandom(seed);
  return () => (u() + u() + u() + u() - 2) * Math.sqrt(3);
}

/**
 * The same scene at night: exposure down to 30 % with a gamma lift a camera's auto-exposure would
 * give (the board's camera has no flash), plus sensor read noise σ = 10 levels, per pixel and channel.
 */
export function nightView(img: RgbImage, seed: number): RgbImage {
  const n = noiseSource(seed),
    out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = 255 * 0.3 * (img.data[i] / 255) ** 1.2 + 10 * n();
    out[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
  return { width: img.width, height: img.height, data: out };
}

export interface OutcomeTools {
  codec: TidepoolCodec;
  tables: EntropyTables;
  classifier: Classifier;
  /** Without it (night scenes: the JPEG baseline is compared by day) the JPEG columns stay empty. */
  jpeg: JpegExports | null;
}

export async function loadJpegTool(width = 224): Promise<JpegExports> {
  return loadDeviceJpeg(await buildDeviceJpeg(width, 64 * 1024));
}

async function decodeJpeg(file: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Everything the table holds for one 224×224 view. */
export async function measureImage(
  view: RgbImage,
  meta: { name: string; label: number | null; scene: "day" | "night" },
  t: OutcomeTools,
): Promise<ImageOutcome> {
  const latent = await t.codec.encode(view);
  const C = latent.channels;
  const bytes = OUTCOME_PACKET_SIZES.map((p) =>
    Array.from({ length: C }, (_, i) => packetize(latent, t.tables, { imageId: 0, packetBytes: p, channels: i + 1 }).bytes),
  );
  const images: RgbImage[] = [view];
  for (let k = 1; k <= C; k++) images.push(await t.codec.decodePrefix(latent, k));
  const jpegBytes: number[] = [];
  for (const q of t.jpeg ? JPEG_QUALITIES : []) {
    const file = runJpeg(t.jpeg!, toFrame(view, "rgb888"), view.width, view.height, "rgb888", q);
    jpegBytes.push(file.length);
    images.push(await decodeJpeg(file));
  }
  const top = (await t.classifier.top5(images, 32)).map((p) => p[0]);
  return {
    ...meta,
    top1: top[0],
    latent: { width: latent.width, height: latent.height, channels: C, data: Buffer.from(latent.data).toString("base64") },
    bytes,
    tpTop1: top.slice(1, C + 1),
    jpegBytes,
    jpegTop1: top.slice(C + 1),
  };
}

/** Reads a cache file (JSON lines); a torn last line from an interrupted run is ignored. */
export function readOutcomes(path: string): ImageOutcome[] {
  if (!existsSync(path)) return [];
  const out: ImageOutcome[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* torn tail of an interrupted append */
    }
  }
  return out;
}

export function appendOutcome(path: string, o: ImageOutcome): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, JSON.stringify(o) + "\n");
}
