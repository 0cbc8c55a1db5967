// The routes the task table compares (host/eval/task-route.ts), and the registry that names them:
// adding a route to the table is one line in TASK_ROUTES. Each route delivers what one image's packets
// give the server within a budget, with and without seeded i.i.d. packet loss.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { downscale, jpegMozjpeg, jpegTurbo, resizeRgb, SCALES, webp, findCwebp, type BaselineCodec } from "./baselines.ts";
import { QualitySweep } from "./budget-search.ts";
import { DECODER_ONNX, DECODER_TASK_ONNX, loadTidepool, taskEncoderCodec, type TidepoolCodec } from "./tidepool-codec.ts";
import { SPLIT_B2_COMPRESSED_MODEL, SplitFeatureRoute } from "./split-feature-route.ts";
import { namedModel } from "../core/model-registry.ts";
import type { TaskDelivery, TaskLoss, TaskRoute } from "./task-route.ts";
import type { Latent, RgbImage } from "../core/types.ts";
import { repoPath } from "../core/paths.ts";
import { PacketRate } from "../wire/bitstream/packet-rate.ts";
import { packetize } from "../wire/bitstream/packetizer.ts";
import { lossPattern } from "../wire/link/loss.ts";
import { decodeDamaged, jpegPacketSizes, reassemble } from "../wire/link/jpeg-link.ts";
import { decodePacketSet } from "../receiver/packet-decoder.ts";
import { buildEncoder, DEFAULT_MODEL_PATH } from "../build/build.ts";
import { encoderWorkload } from "../build/profile/encoder-workload.ts";
import { buildDeviceJpeg } from "../build/jpeg/device-jpeg.ts";
import { jpegWorkload } from "../build/profile/jpeg-workload.ts";
import { buildHead } from "../build/head-build.ts";
import { headWorkload } from "../build/profile/head-workload.ts";
import { DEFAULT_SPLIT_ONNX, importAllSplits } from "../build/split-choice.ts";
import { headAtSplit, type ImportResult } from "../model/import/onnx-import.ts";
import { headShapes } from "../model/head-geometry.ts";
import { referenceHead } from "../build/reference/head.ts";
import { SplitTail, top5 } from "../receiver/split-tail.ts";

/** Link packets of every route: Tidepool's packet size, and the chunk size JPEG/WebP files are cut into. */
export const TASK_PACKET_BYTES = 222;
/** Quality of the on-device baseline JPEG whose cycles stand for the JPEG routes' device work. */
export const DEVICE_JPEG_QUALITY = 20;

const short = (path: string) => relative(repoPath(), path) || path;
const fileHash = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 12);

/** The packets that survive i.i.d. loss: the same seed gives every route the same pattern over its first packets. */
export function arrivedPackets(n: number, loss: TaskLoss): number[] {
  if (loss.rate <= 0) return Array.from({ length: n }, (_, i) => i);
  const lost = lossPattern({ kind: "iid", rate: loss.rate }, n, loss.seed);
  return lost.flatMap((l, i) => (l ? [] : [i]));
}

// --- the picture codec -------------------------------------------------------------------------------

/** One latent per image view and model, shared by the routes that send the same encoder's packets. */
const latents = new WeakMap<RgbImage, Map<string, Promise<Latent>>>();
function latentOf(codec: TidepoolCodec, view: RgbImage): Promise<Latent> {
  let m = latents.get(view);
  if (!m) latents.set(view, (m = new Map()));
  let p = m.get(codec.modelKey);
  if (!p) m.set(codec.modelKey, (p = codec.encode(view)));
  return p;
}

/**
 * Tidepool's picture codec with one server decoder: the largest channel prefix whose packets fit the
 * budget (real bytes from the rate source); under loss its packets are dropped and the packet decoder
 * decodes whatever arrived (missing symbols zeroed and marked, as a receiver sees them).
 */
export function tidepoolRoute(name: string, codec: TidepoolCodec, decoderPath: string, modelPath = DEFAULT_MODEL_PATH): TaskRoute {
  const tables = codec.rate instanceof PacketRate ? codec.rate.tables : null;
  const packetBytes = codec.rate instanceof PacketRate ? codec.rate.packetBytes : TASK_PACKET_BYTES;
  return {
    name,
    settings: `encoder ${short(modelPath)} (sha256 ${codec.modelKey.slice(0, 12)}, built WASM, rgb888 rows), decoder ${short(decoderPath)} (sha256 ${fileHash(decoderPath)}); largest channel prefix within the budget; bytes: ${codec.rate.describe}${tables ? "" : "; loss not simulated (no packets without ENTR tables)"}`,
    device: {
      describe: `picture encoder ${short(modelPath)}`,
      async workload(board, frame) {
        const built = await buildEncoder({ board, model: codec.model, width: 224, height: 224, format: "rgb565", withNames: true });
        return encoderWorkload(built, [frame]);
      },
      async native(board) {
        const encoder = await buildEncoder({ board, model: codec.model, width: 224, height: 224, format: "rgb565", withNames: true, runtime: "aot" });
        return { encoder, packets: { packetBytes } };
      },
    },
    async deliver(view, budgets, loss) {
      const latent = await latentOf(codec, view);
      const sizes = Array.from({ length: codec.channels }, (_, k) => codec.rate.bytes(latent, k + 1));
      const out: (TaskDelivery | null)[] = [];
      for (const b of budgets) {
        let k = 0;
        while (k < sizes.length && sizes[k] <= b) k++;
        if (k === 0) out.push(null);
        else if (loss.rate <= 0) out.push({ bytes: sizes[k - 1], image: await codec.decodePrefix(latent, k) });
        else if (!tables) out.push(null);
        else {
          const { packets, bytes } = packetize(latent, tables, { imageId: 0, packetBytes, channels: k });
          const arrived = arrivedPackets(packets.length, loss).map((i) => packets[i]);
          if (!arrived.length) {
            out.push(null);
            continue;
          }
          const got = decodePacketSet(arrived, tables, latent, { imageId: 0 });
          out.push({ bytes, image: await codec.decoder.decode(got.latent, got.present, codec.model) });
        }
      }
      return out;
    },
  };
}

// --- best-scale JPEG / WebP --------------------------------------------------------------------------

interface Chosen {
  sweep: QualitySweep;
  index: number;
  bytes: number;
  decoded: RgbImage;
}

/**
 * A classical codec at the best of 1×/2×/4× downscale (by the file's MS-SSIM), the largest file within
 * the budget, as task-eval always did. Under loss the file is cut into link chunks (host/wire/link/
 * jpeg-link.ts framing); the receiver decodes what it reassembled, and a file that no longer decodes
 * is not delivered.
 */
export function bestScaleRoute(codec: BaselineCodec): TaskRoute {
  const chosen = new WeakMap<RgbImage, Map<number, Promise<Chosen | null>>>();
  const sweepsOf = new WeakMap<RgbImage, Promise<QualitySweep[]>>();
  const sweeps = (view: RgbImage) => {
    let p = sweepsOf.get(view);
    if (!p) {
      p = Promise.all(SCALES.map((s) => downscale(view, s))).then((smalls) => SCALES.map((s, si) => new QualitySweep(codec, view, smalls[si], s)));
      sweepsOf.set(view, p);
    }
    return p;
  };
  const choose = async (view: RgbImage, budget: number): Promise<Chosen | null> => {
    let best: (Chosen & { msssim: number }) | null = null;
    for (const s of await sweeps(view)) {
      const { lo } = await s.bracket(budget);
      if (lo === null) continue;
      const p = await s.pointAt(lo);
      if (!best || p.msssim > best.msssim) best = { sweep: s, index: lo, bytes: p.bytes, decoded: p.decoded, msssim: p.msssim };
    }
    return best;
  };
  const chosenAt = (view: RgbImage, budget: number) => {
    let m = chosen.get(view);
    if (!m) chosen.set(view, (m = new Map()));
    let p = m.get(budget);
    if (!p) m.set(budget, (p = choose(view, budget)));
    return p;
  };
  const device =
    codec.name === "webp"
      ? undefined
      : {
          describe: `on-device baseline JPEG (assembly/jpeg) at 224², quality ${DEVICE_JPEG_QUALITY} (scale 1×: the upper bound; 2×/4× code 1/4, 1/16 of the pixels)`,
          async workload(_board: unknown, frame: Uint8Array) {
            return jpegWorkload(await buildDeviceJpeg(224, 64 * 1024, true), [frame], 224, 224, "rgb565", DEVICE_JPEG_QUALITY);
          },
          async native() {
            return { jpeg: { build: await buildDeviceJpeg(224, 64 * 1024, true), quality: DEVICE_JPEG_QUALITY } };
          },
        };
  return {
    name: `${codec.name}-bestscale`,
    settings: `${codec.settings}; best of 1x/2x/4x (lanczos3 down on the camera, up on the server) by MS-SSIM; largest file within the budget; under loss cut into ${TASK_PACKET_BYTES}-byte link chunks (5-byte header not charged), an undecodable file is not delivered`,
    device,
    async deliver(view, budgets, loss) {
      const out: (TaskDelivery | null)[] = [];
      for (const b of budgets) {
        const c = await chosenAt(view, b);
        if (!c) {
          out.push(null);
          continue;
        }
        if (loss.rate <= 0) {
          out.push({ bytes: c.bytes, image: c.decoded });
          continue;
        }
        const file = await c.sweep.fileAt(c.index);
        const n = jpegPacketSizes(file.length, TASK_PACKET_BYTES).length;
        const arrived = arrivedPackets(n, loss);
        if (arrived.length === n) {
          out.push({ bytes: c.bytes, image: c.decoded });
          continue;
        }
        const small = c.sweep.scale === 1 ? view : c.sweep.small;
        const damaged = arrived.length ? await decodeDamaged(reassemble(file, TASK_PACKET_BYTES, arrived), small.width, small.height) : null;
        if (!damaged) out.push(null);
        else out.push({ bytes: c.bytes, image: c.sweep.scale === 1 ? damaged : await resizeRgb(damaged, view.width, view.height) });
      }
      return out;
    },
  };
}

// --- split computing ---------------------------------------------------------------------------------

let imported: ImportResult | null = null;
function splitImport(): ImportResult {
  imported ??= importAllSplits(DEFAULT_SPLIT_ONNX);
  return imported;
}

/**
 * The classifier's first blocks on the board, its split tensor sent raw (uint8, no compressor): at 224²
 * it is tens of kB, so it fits no link budget and is reported as not delivered, with its size. Where a
 * budget does hold it, the server runs the rest of MobileNetV2 on the head's exact tensor.
 */
export function rawSplitRoute(split: number): TaskRoute {
  const head = headAtSplit(splitImport(), split);
  const shape = headShapes(head, 224, 224).at(-1)!;
  const raw = shape.width * shape.height * shape.channels;
  let tail: Promise<SplitTail> | null = null;
  return {
    name: `split-b${split}-raw`,
    settings: `int8 MobileNetV2 blocks 0..${split} on the board (${short(DEFAULT_SPLIT_ONNX)}), split tensor ${shape.width}x${shape.height}x${shape.channels} uint8 sent raw = ${raw} B at 224² (fits no budget below that); server runs the rest (host/receiver/split-tail.ts)`,
    device: {
      describe: `split head, blocks 0..${split}, split tensor streamed out`,
      async workload(board, frame) {
        return headWorkload(await buildHead({ board, head, width: 224, height: 224, format: "rgb565", withNames: true, streamOutput: true }), [frame]);
      },
    },
    async deliver(view, budgets, loss) {
      if (budgets.every((b) => b < raw)) return budgets.map(() => null);
      const tensor = referenceHead(head, view.data, view.width, view.height, "rgb888").at(-1)!;
      tail ??= SplitTail.load(readFileSync(DEFAULT_SPLIT_ONNX), splitImport().splitPoints[split].tensor, shape);
      const answer = top5(await (await tail).logits({ ...shape, data: tensor.data }));
      const packets = Math.ceil(raw / (TASK_PACKET_BYTES - 5));
      // Raw bytes have no code to conceal a hole with: a lost packet loses the image.
      const whole = arrivedPackets(packets, loss).length === packets;
      return budgets.map((b) => (b >= raw && whole ? { bytes: raw, top5: answer } : null));
    },
  };
}

// --- the registry ------------------------------------------------------------------------------------

/** A route the table may include, or why it is left out on this checkout (e.g. a model not trained). */
export type RouteMade = TaskRoute | { skipped: string };

export interface RouteEntry {
  name: string;
  make(): Promise<RouteMade>;
}

let shipped: Promise<Awaited<ReturnType<typeof loadTidepool>>> | null = null;
const shippedCodec = () => (shipped ??= loadTidepool());

async function tidepoolWith(name: string, decoderPath: string): Promise<RouteMade> {
  if (!existsSync(decoderPath)) return { skipped: `no decoder at ${short(decoderPath)}` };
  const s = await shippedCodec();
  if (!s.available) return { skipped: s.reason };
  if (decoderPath === DECODER_ONNX) return tidepoolRoute(name, s.codec, decoderPath);
  // The same encoder and packets, another server decoder.
  const other = await loadTidepool({ decoderPath, rate: s.codec.rate });
  if (!other.available) return { skipped: other.reason };
  return tidepoolRoute(name, other.codec, decoderPath);
}

/** The encoder trained for the classifier (models/task.tpm) with its own decoder and tables. */
async function taskEncoderRoute(): Promise<RouteMade> {
  const s = await taskEncoderCodec();
  if (!s.available) return { skipped: s.reason };
  const task = namedModel("task")!;
  return tidepoolRoute("tidepool-task-encoder", s.codec, task.decoder, task.model);
}

/** The split head to block 2 with its learned feature compressor (models/split-b2-compressed.tpm). */
async function splitCompressedRoute(): Promise<RouteMade> {
  if (!existsSync(SPLIT_B2_COMPRESSED_MODEL)) return { skipped: `no compressed split head at ${short(SPLIT_B2_COMPRESSED_MODEL)}` };
  return SplitFeatureRoute.load();
}

/** Split points with a route: the deepest each board's arena holds (`--split auto` at the camera frame: 2, 4, 8). */
export const SPLIT_ROUTE_POINTS = [2, 4, 8];

/** Every route of the task table, in table order. One line adds one. */
export const TASK_ROUTES: RouteEntry[] = [
  { name: "tidepool", make: () => tidepoolWith("tidepool", DECODER_ONNX) },
  { name: "tidepool-task", make: () => tidepoolWith("tidepool-task", DECODER_TASK_ONNX) },
  { name: "jpeg-turbo-bestscale", make: async () => bestScaleRoute(jpegTurbo()) },
  { name: "jpeg-mozjpeg-bestscale", make: async () => bestScaleRoute(jpegMozjpeg()) },
  { name: "webp-bestscale", make: async () => bestScaleRoute(webp((await findCwebp()) !== null)) },
  { name: "tidepool-task-encoder", make: taskEncoderRoute },
  ...SPLIT_ROUTE_POINTS.map((s) => ({ name: `split-b${s}-raw`, make: async () => rawSplitRoute(s) })),
  { name: "split-b2-compressed", make: splitCompressedRoute },
];

/** The routes named (all when `names` is absent), in registry order; unknown names are the caller's error. */
export async function makeRoutes(names?: string[]): Promise<{ routes: TaskRoute[]; skipped: { name: string; why: string }[] }> {
  const routes: TaskRoute[] = [],
    skipped: { name: string; why: string }[] = [];
  for (const e of TASK_ROUTES) {
    if (names && !names.includes(e.name)) continue;
    const r = await e.make();
    if ("skipped" in r) skipped.push({ name: e.name, why: r.skipped });
    else routes.push(r);
  }
  return { routes, skipped };
}
