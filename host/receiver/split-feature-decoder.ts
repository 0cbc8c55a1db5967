// The server's half of compressed split computing (docs/split-computing.md §Feature compression):
// packets → latent symbols (host/receiver/packet-decoder.ts, any subset) → each received channel
// dequantized (symbol − offset; a missing symbol or channel is 0, the value training dropped to) →
// the learned expander back to the split tensor → the uint8 grid of the split tensor → the ONNX tail
// (host/receiver/split-tail.ts) → logits and top-5.
import type { FeatureCompressor, HeadModel } from "../core/head-types.ts";
import type { Latent } from "../core/types.ts";
import { TidepoolError } from "../core/errors.ts";
import { headShapes } from "../model/head-geometry.ts";
import { parseTables, type EntropyTables } from "../wire/bitstream/tables.ts";
import { decodePacketSet, type PacketSetResult } from "./packet-decoder.ts";
import { SplitTail, top5 } from "./split-tail.ts";
import type { SplitTensor } from "../build/runtime/head-instance.ts";

/** conv over a CHW float tensor, stride 1, padding (k − 1) / 2; PyTorch weight layout [out][in][ky][kx]. */
function conv2d(x: Float32Array, cin: number, h: number, w: number, weight: Float32Array, bias: Float32Array, cout: number, k: number, relu: boolean) {
  const plane = h * w,
    out = new Float32Array(cout * plane),
    p = (k - 1) >> 1;
  for (let o = 0; o < cout; o++) {
    const dst = out.subarray(o * plane, (o + 1) * plane);
    dst.fill(bias[o]);
    for (let i = 0; i < cin; i++) {
      const src = x.subarray(i * plane, (i + 1) * plane);
      for (let ky = 0; ky < k; ky++) {
        const dy = ky - p,
          y0 = Math.max(0, -dy),
          y1 = Math.min(h, h - dy);
        for (let kx = 0; kx < k; kx++) {
          const wv = weight[((o * cin + i) * k + ky) * k + kx];
          if (wv === 0) continue;
          const dx = kx - p,
            x0 = Math.max(0, -dx),
            x1 = Math.min(w, w - dx);
          for (let y = y0; y < y1; y++) {
            const drow = y * w,
              srow = (y + dy) * w + dx;
            for (let xx = x0; xx < x1; xx++) dst[drow + xx] += wv * src[srow + xx];
          }
        }
      }
    }
    if (relu) for (let j = 0; j < plane; j++) if (dst[j] < 0) dst[j] = 0;
  }
  return out;
}

/**
 * The expander: latent values (symbol − offset, CHW float) → the split tensor in real units, CHW at
 * latent size × ratio (PyTorch's PixelShuffle: channel c·r² + i·r + j → channel c at (y·r + i, x·r + j)).
 */
export function expandLatent(fc: FeatureCompressor, values: Float32Array, channels: number, h: number, w: number, splitChannels: number): Float32Array {
  const e = fc.expander,
    W = e.width,
    R = fc.ratio;
  const a = conv2d(values, channels, h, w, e.conv1.weight, e.conv1.bias, W, 3, true);
  const b = conv2d(a, W, h, w, e.conv2.weight, e.conv2.bias, W, 3, true);
  const c = conv2d(b, W, h, w, e.conv3.weight, e.conv3.bias, splitChannels * R * R, 1, false);
  const H = h * R,
    Wd = w * R,
    out = new Float32Array(splitChannels * H * Wd);
  for (let s = 0; s < splitChannels; s++)
    for (let i = 0; i < R; i++)
      for (let j = 0; j < R; j++) {
        const src = c.subarray((s * R * R + i * R + j) * h * w);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(s * H + y * R + i) * Wd + x * R + j] = src[y * w + x];
      }
  return out;
}

export interface FeatureDecodeResult {
  logits: Float32Array;
  top5: number[];
  /** What the packet decoder saw (accepted / rejected packets, symbols per channel). */
  packets: PacketSetResult;
}

export class SplitFeatureDecoder {
  readonly compressor: FeatureCompressor;
  readonly tables: EntropyTables;
  readonly latent: { width: number; height: number; channels: number };
  readonly split: { width: number; height: number; channels: number; scale: number; zeroPoint: number };

  private constructor(
    readonly head: HeadModel,
    private readonly tail: SplitTail,
    width: number,
    height: number,
  ) {
    const fc = head.compressor!;
    this.compressor = fc;
    this.tables = parseTables(fc.entropy!, "feature compressor entropy tables");
    const shapes = headShapes(head, width, height);
    this.latent = shapes.at(-1)!;
    const s = head.ops[fc.headOps - 1];
    this.split = { ...shapes[fc.headOps], scale: s.outScale, zeroPoint: s.outZeroPoint };
  }

  /** For frames of `width`×`height` (the classifier's 224×224 view by default); `onnx` is the whole classifier. */
  static async load(head: HeadModel, onnx: Uint8Array, width = 224, height = 224): Promise<SplitFeatureDecoder> {
    if (!head.compressor) throw new TidepoolError("feature-compressor", "this split head has no feature compressor");
    if (!head.compressor.entropy) throw new TidepoolError("feature-compressor", "the feature compressor has no entropy tables (ENTR section)");
    const shapes = headShapes(head, width, height);
    const split = shapes[head.compressor.headOps];
    const tail = await SplitTail.load(onnx, String(head.meta.splitTensor), split);
    return new SplitFeatureDecoder(head, tail, width, height);
  }

  /** The split tensor (uint8, [y][x][c]) the expander rebuilds from received symbols; missing = 0. */
  splitTensor(latent: Latent, present: Uint8Array | null): SplitTensor {
    const { channels: C, width: w, height: h } = this.latent,
      plane = w * h,
      off = this.compressor.offset;
    const values = new Float32Array(C * plane);
    for (let i = 0; i < C * plane; i++) values[i] = present && !present[i] ? 0 : latent.data[i] - off;
    const S = this.split,
      R = this.compressor.ratio;
    const f = expandLatent(this.compressor, values, C, h, w, S.channels);
    const H = h * R,
      Wd = w * R,
      data = new Uint8Array(S.width * S.height * S.channels).fill(S.zeroPoint);
    // a frame whose split tensor is not a multiple of the ratio keeps the zero point in its last rows/columns
    for (let c = 0; c < S.channels; c++)
      for (let y = 0; y < Math.min(H, S.height); y++)
        for (let x = 0; x < Math.min(Wd, S.width); x++) {
          const q = Math.round(f[(c * H + y) * Wd + x] / S.scale) + S.zeroPoint;
          data[(y * S.width + x) * S.channels + c] = q < 0 ? 0 : q > 255 ? 255 : q;
        }
    return { width: S.width, height: S.height, channels: S.channels, data };
  }

  /** Any subset of one image's packets → logits and top-5 (no packet at all: an all-missing latent). */
  async decode(packets: readonly Uint8Array[]): Promise<FeatureDecodeResult> {
    const set = decodePacketSet(packets, this.tables, this.latent);
    const logits = await this.tail.logits(this.splitTensor(set.latent, set.present));
    return { logits, top5: top5(logits), packets: set };
  }

  /** The whole latent as received without loss (no packets involved): for references and tests. */
  async classifyLatent(latent: Latent): Promise<number[]> {
    return top5(await this.tail.logits(this.splitTensor(latent, null)));
  }
}
