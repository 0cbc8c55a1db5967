// Tidepool vs JPEG / progressive JPEG over simulated links (docs/bitstream.md §Link simulation).
// Tidepool's packets come from the built WASM packetizer (the bytes a board sends); JPEG files are cut
// into chunks of the same link's packets and decoded, damaged, by a real decoder. Every codec on a link
// sees the same loss pattern per packet slot and the same deadline.
import sharp, { type JpegOptions } from "sharp";
import { devicePacketize } from "../build/runtime/device-packetizer.ts";
import { decodePacketSet } from "../receiver/packet-decoder.ts";
import type { EntropyTables } from "../wire/bitstream/tables.ts";
import type { Board } from "../core/boards.ts";
import { buildEncoder } from "../build/build.ts";
import { type Classifier, classifierViewOf } from "../receiver/classifier.ts";
import { msssim } from "./metrics.ts";
import { toFrame } from "../image/load.ts";
import type { Model } from "../core/model-types.ts";
import { EncoderInstance } from "../build/runtime/encoder-instance.ts";
import { decodeDamaged, greyImage, jpegPacketSizes, reassemble } from "../wire/link/jpeg-link.ts";
import { lossLabel, type LossSpec } from "../wire/link/loss.ts";
import type { LinkPreset } from "../wire/link/presets.ts";
import { sendTime, transmit } from "../wire/link/transmit.ts";
import type { RgbImage } from "../core/types.ts";
import type { ServerDecoder } from "../core/types.ts";

export type DeadlineSpec = { kind: "seconds"; seconds: number } | { kind: "fraction"; fraction: number };

export function deadlineLabel(d: DeadlineSpec): string {
  return d.kind === "seconds" ? `${d.seconds}s` : `${Math.round(d.fraction * 100)}%`;
}

export interface SimImage {
  name: string;
  img: RgbImage;
  label: number | null;
}

export interface SimulateOptions {
  links: LinkPreset[];
  losses: LossSpec[];
  deadlines: DeadlineSpec[];
  /** Loss realisations per image (seeds 0..repeats−1). */
  repeats: number;
  model: Model;
  tables: EntropyTables;
  board: Board;
  decoder: ServerDecoder | null;
  classifier: Classifier | null;
  log?: (s: string) => void;
}

export const SIM_CODECS = ["tidepool", "jpeg", "jpeg-progressive"] as const;
export type SimCodec = (typeof SIM_CODECS)[number];

export interface SimRow {
  link: string;
  loss: string;
  deadline: string;
  codec: SimCodec;
  /** Mean over images × repeats. */
  deadlineSeconds: number;
  packetsSent: number;
  packetsDelivered: number;
  packetsTotal: number;
  bytesDelivered: number;
  bytesTotal: number;
  /** Null when no decoder produced images for this codec (Tidepool without an installed decoder). */
  msssim: number | null;
  /** Top-1 accuracy against labels, or agreement with the undamaged image's top-1 when unlabelled; null without a classifier or decoder. */
  top1: number | null;
  /** Share of cases where the decoder produced no image at all (shown as grey). */
  undecodable: number;
}

export interface SimResult {
  images: number;
  top1Kind: "accuracy" | "agreement" | "none";
  rows: SimRow[];
}

const JPEG_SETTINGS: Record<Exclude<SimCodec, "tidepool">, (q: number) => JpegOptions> = {
  jpeg: (q) => ({ quality: q, chromaSubsampling: "4:2:0", optimiseCoding: true }),
  "jpeg-progressive": (q) => ({ quality: q, chromaSubsampling: "4:2:0", optimiseCoding: true, progressive: true }),
};

async function jpegFile(img: RgbImage, codec: Exclude<SimCodec, "tidepool">, q: number): Promise<Uint8Array> {
  const b = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg(JPEG_SETTINGS[codec](q))
    .toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** The largest-quality file whose packets on this link take at most `bytes` (quality 1 if none does). */
async function matchedJpeg(img: RgbImage, codec: Exclude<SimCodec, "tidepool">, bytes: number, payload: number): Promise<Uint8Array> {
  const cost = (f: Uint8Array) => jpegPacketSizes(f.length, payload).reduce((a, b) => a + b, 0);
  let lo = 1,
    hi = 100,
    best = await jpegFile(img, codec, 1);
  if (cost(best) > bytes) return best;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const f = await jpegFile(img, codec, mid);
    if (cost(f) <= bytes) {
      lo = mid;
      best = f;
    } else hi = mid - 1;
  }
  return best;
}

/** A seed per (image, link, loss, repeat): stable across runs and shared by the codecs on that link. */
function caseSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join("|")) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

interface Acc {
  n: number;
  deadline: number;
  sent: number;
  delivered: number;
  total: number;
  bytes: number;
  bytesTotal: number;
  msssim: number;
  msssimN: number;
  top1: number;
  top1N: number;
  undecodable: number;
}

export async function simulateLinks(images: SimImage[], o: SimulateOptions): Promise<SimResult> {
  const encoders = new Map<string, Promise<EncoderInstance>>();
  const encoderFor = (w: number, h: number) => {
    const key = `${w}x${h}`;
    if (!encoders.has(key))
      encoders.set(
        key,
        buildEncoder({ board: o.board, model: o.model, width: w, height: h, format: "rgb888" }).then((b) => EncoderInstance.load(b.wasm)),
      );
    return encoders.get(key)!;
  };
  const acc = new Map<string, Acc>();
  const keyOf = (...p: string[]) => p.join("\u0000");
  const top1Kind: SimResult["top1Kind"] = !o.classifier ? "none" : images.every((i) => i.label !== null) ? "accuracy" : "agreement";

  for (const [ii, item] of images.entries()) {
    const { img } = item;
    const enc = await encoderFor(img.width, img.height);
    enc.encode(toFrame(img, "rgb888"), img.width, img.height, "rgb888");
    const reference = o.classifier ? (await o.classifier.top5([await classifierViewOf(img)]))[0][0] : -1;
    const truth = item.label ?? reference;
    // Pending classifications: [acc key, image] — classified in one batch per image.
    const pending: { key: string; img: RgbImage }[] = [];
    for (const link of o.links) {
      const tp = devicePacketize(enc, { imageId: ii & 0xff, packetBytes: link.payloadBytes });
      const tpSizes = tp.packets.map((p) => p.length);
      const fullTime = sendTime(tpSizes, link);
      const files = {
        jpeg: await matchedJpeg(img, "jpeg", tp.bytes, link.payloadBytes),
        "jpeg-progressive": await matchedJpeg(img, "jpeg-progressive", tp.bytes, link.payloadBytes),
      };
      const decodedCache = new Map<string, { img: RgbImage | null; msssim: number | null; undecodable: boolean }>();
      for (const loss of o.losses) {
        for (let r = 0; r < o.repeats; r++) {
          const seed = caseSeed(item.name, link.name, lossLabel(loss), r);
          for (const dl of o.deadlines) {
            const deadline = dl.kind === "seconds" ? dl.seconds : dl.fraction * fullTime * (1 + 1e-9);
            for (const codec of SIM_CODECS) {
              const sizes = codec === "tidepool" ? tpSizes : jpegPacketSizes(files[codec].length, link.payloadBytes);
              const d = transmit(sizes, link, loss, deadline, seed);
              const cacheKey = `${codec}:${d.delivered.join(",")}`;
              let got = decodedCache.get(cacheKey);
              if (!got) {
                let out: RgbImage | null = null;
                if (codec === "tidepool") {
                  if (o.decoder) {
                    const set = decodePacketSet(
                      d.delivered.map((i) => tp.packets[i]),
                      o.tables,
                      { width: enc.exports.tp_latent_width(), height: enc.exports.tp_latent_height(), channels: enc.exports.tp_latent_channels() },
                    );
                    out = await o.decoder.decode(set.latent, set.present, o.model, img);
                  }
                } else {
                  out = await decodeDamaged(reassemble(files[codec], link.payloadBytes, d.delivered), img.width, img.height);
                }
                // No decoder installed: Tidepool has no picture (not a fake one); JPEG that does not decode shows grey.
                const undecodable = codec !== "tidepool" && !out;
                const shown = out ?? (undecodable ? greyImage(img.width, img.height) : null);
                got = { img: shown, msssim: shown ? msssim(img, shown) : null, undecodable };
                decodedCache.set(cacheKey, got);
              }
              const key = keyOf(link.name, lossLabel(loss), deadlineLabel(dl), codec);
              const a = acc.get(key) ?? {
                n: 0,
                deadline: 0,
                sent: 0,
                delivered: 0,
                total: 0,
                bytes: 0,
                bytesTotal: 0,
                msssim: 0,
                msssimN: 0,
                top1: 0,
                top1N: 0,
                undecodable: 0,
              };
              a.n++;
              a.deadline += deadline;
              a.sent += d.sent;
              a.delivered += d.delivered.length;
              a.total += d.total;
              a.bytes += d.delivered.reduce((s, i) => s + sizes[i], 0);
              a.bytesTotal += sizes.reduce((s, x) => s + x, 0);
              if (got.msssim !== null) {
                a.msssim += got.msssim;
                a.msssimN++;
              }
              if (got.undecodable) a.undecodable++;
              if (o.classifier && got.img) pending.push({ key, img: got.img });
              acc.set(key, a);
            }
          }
        }
      }
    }
    if (o.classifier && pending.length) {
      // One classification per distinct decoded image.
      const distinct = [...new Set(pending.map((p) => p.img))];
      const views = await Promise.all(distinct.map(classifierViewOf));
      const preds = await o.classifier.top5(views, 32);
      const byImg = new Map(distinct.map((im, i) => [im, preds[i][0]]));
      for (const p of pending) {
        const a = acc.get(p.key)!;
        a.top1N++;
        if (byImg.get(p.img) === truth) a.top1++;
      }
    }
    o.log?.(`[${ii + 1}/${images.length}] ${item.name}`);
  }
  const rows: SimRow[] = [];
  for (const link of o.links)
    for (const loss of o.losses)
      for (const dl of o.deadlines)
        for (const codec of SIM_CODECS) {
          const a = acc.get(keyOf(link.name, lossLabel(loss), deadlineLabel(dl), codec));
          if (!a) continue;
          rows.push({
            link: link.name,
            loss: lossLabel(loss),
            deadline: deadlineLabel(dl),
            codec,
            deadlineSeconds: a.deadline / a.n,
            packetsSent: a.sent / a.n,
            packetsDelivered: a.delivered / a.n,
            packetsTotal: a.total / a.n,
            bytesDelivered: a.bytes / a.n,
            bytesTotal: a.bytesTotal / a.n,
            msssim: a.msssimN ? a.msssim / a.msssimN : null,
            top1: a.top1N ? a.top1 / a.top1N : null,
            undecodable: a.undecodable / a.n,
          });
        }
  return { images: images.length, top1Kind, rows };
}
