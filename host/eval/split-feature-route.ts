// Task-table route "split-b2-compressed" (docs/split-computing.md §Feature compression): the device
// path is the built WASM split head with its feature compressor (MobileNetV2 to block 2, then the
// learned conv to the latent's symbols) run on the 224² view; the latent is packetized with the model's
// entropy tables up to each budget (the largest prefix of symbols, channel by channel, that fits),
// packets are dropped with seeded loss, and the server decodes what arrived (expander + ONNX tail).
import { join, relative } from "node:path";
import { readFileSync } from "node:fs";
import type { RgbImage } from "../core/types.ts";
import type { HeadModel } from "../core/head-types.ts";
import { repoPath } from "../core/paths.ts";
import { seededRandom } from "../core/seeded-random.ts";
import { readInputFile } from "../core/input-file.ts";
import { TidepoolError } from "../core/errors.ts";
import { readHeadModel } from "../model/head-format.ts";
import { toFrame } from "../image/load.ts";
import { packetize } from "../wire/bitstream/packetizer.ts";
import { buildHead } from "../build/head-build.ts";
import { HeadInstance } from "../build/runtime/head-instance.ts";
import { latentFromHeadOutput } from "../build/feature-latent.ts";
import { DEFAULT_SPLIT_ONNX } from "../build/split-choice.ts";
import { SplitFeatureDecoder } from "../receiver/split-feature-decoder.ts";
import type { TaskDelivery, TaskDevice, TaskLoss, TaskRoute } from "./task-route.ts";
import { headWorkload } from "../build/profile/head-workload.ts";

/** The shipped compressed split head (block 2, the split GAP8 and ESP32-S3 take). */
export const SPLIT_B2_COMPRESSED_MODEL = repoPath(join("models", "split-b2-compressed.tpm"));

export interface SplitFeatureRouteOptions {
  /** Model file with an FCMP section (default models/split-b2-compressed.tpm). */
  model?: string;
  /** The whole int8 classifier the tail is cut from (default ../shared/models/mobilenetv2-12-int8). */
  onnx?: string;
  /** Board whose arena the head module is built and run under (default gap8; the view is fed as rgb888). */
  board?: string;
  /** Link packet size, header and CRC included (default 222, as the picture codec's PacketRate). */
  packetBytes?: number;
  /** Row name (default split-b<split>-compressed). */
  name?: string;
}

/** FNV-1a over a sparse sample of the view: a per-image seed for the loss pattern. */
function viewHash(v: RgbImage): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < v.data.length; i += 97) h = Math.imul(h ^ v.data[i], 0x01000193);
  return h >>> 0;
}

export class SplitFeatureRoute implements TaskRoute {
  private imageId = 0;
  private constructor(
    readonly name: string,
    readonly settings: string,
    readonly head: HeadModel,
    private readonly headInstance: HeadInstance,
    readonly decoder: SplitFeatureDecoder,
    readonly packetBytes: number,
    readonly device: TaskDevice,
  ) {}

  static async load(o: SplitFeatureRouteOptions = {}): Promise<SplitFeatureRoute> {
    const path = o.model ?? SPLIT_B2_COMPRESSED_MODEL;
    const head = readHeadModel(readInputFile(path, "model file"), path);
    if (!head.compressor) throw new TidepoolError("feature-compressor", `${path}: split head without a feature compressor (no FCMP section)`);
    const board = o.board ?? "gap8",
      packetBytes = o.packetBytes ?? 222;
    const built = await buildHead({ board, head, width: 224, height: 224, format: "rgb888", streamOutput: false });
    const device = await HeadInstance.load(built.wasm, built.board);
    const onnx = o.onnx ?? DEFAULT_SPLIT_ONNX;
    const decoder = await SplitFeatureDecoder.load(head, readFileSync(onnx), 224, 224);
    const { channels, width, height } = decoder.latent;
    const name = o.name ?? `split-b${String(head.meta.split)}-compressed`;
    const settings =
      `${relative(repoPath(), path) || path}: MobileNetV2 int8 head to block ${String(head.meta.split)} + learned compressor (${channels}x${height}x${width} symbols, ` +
      `${head.compressor.levels} levels) on the device (WASM, ${board} arena ${built.map.arenaBytes} B); ${packetBytes}-byte packets, largest symbol prefix within the budget; ` +
      "server: expander + ONNX tail";
    return new SplitFeatureRoute(name, settings, head, device, decoder, packetBytes, {
      describe: `split head to block ${String(head.meta.split)} + learned feature compressor (${relative(repoPath(), path) || path})`,
      async workload(b, frame) {
        return headWorkload(await buildHead({ board: b, head, width: 224, height: 224, format: "rgb565", withNames: true, streamOutput: false }), [frame]);
      },
    });
  }

  /** The device's latent for a 224² view (the WASM head + compressor). */
  latent(view: RgbImage) {
    if (view.width !== 224 || view.height !== 224) throw new TidepoolError("usage", `split route: the view must be 224x224, got ${view.width}x${view.height}`);
    return latentFromHeadOutput(this.headInstance.run(toFrame(view, "rgb888"), 224, 224, "rgb888"));
  }

  async deliver(view: RgbImage, budgets: number[], loss: TaskLoss): Promise<(TaskDelivery | null)[]> {
    const latent = this.latent(view);
    const imageId = this.imageId++ & 0xff,
      vh = viewHash(view);
    const out: (TaskDelivery | null)[] = [];
    for (const [bi, budget] of budgets.entries()) {
      const sent = packetize(latent, this.decoder.tables, { imageId, packetBytes: this.packetBytes, budgetBytes: budget });
      if (sent.packets.length === 0) {
        out.push(null);
        continue;
      }
      const rng = seededRandom((loss.seed ^ vh ^ Math.imul(bi + 1, 0x9e3779b1)) >>> 0);
      const arrived = loss.rate > 0 ? sent.packets.filter(() => rng() >= loss.rate) : sent.packets;
      if (arrived.length === 0) {
        out.push(null);
        continue;
      }
      const got = await this.decoder.decode(arrived);
      out.push({ bytes: sent.bytes, top5: got.top5 });
    }
    return out;
  }
}
