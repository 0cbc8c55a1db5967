// Build-time decisions for the specialised kernels (docs/kernels.md): how many output channels one
// multiply serves (lanes), how the weights are re-laid in the arena for that loop order, and whether
// a layer's requantization provably fits 32-bit arithmetic.
import type { ConvLayer, Model } from "../../core/model-types.ts";
import { costTable, type RuntimeMode } from "../profile/cost-models.ts";

/**
 * 1: one output channel per i32 multiply (int8 weights as trained, [out][ky][kx][in]).
 * 2: two output channels per i64 multiply: the weights of channels 2g and 2g+1 packed as one i64
 *    `w[2g] + w[2g+1]·2^32`, so x·packed accumulates both channels' sums in the two 32-bit halves.
 */
export type Lanes = 1 | 2;

/**
 * Loop order of a layer's kernel.
 * "window": each pixel's kernel window is loaded once into locals, then one straight chain per output
 *   channel (few WebAssembly instructions per MAC: best under an interpreter; natively the window
 *   spills to the stack on a 32-bit core).
 * "taps": output channels in blocks of `TAPS_BLOCK[lanes]` accumulators; per block the taps are
 *   unrolled, each activation is loaded once and multiplied into every accumulator of the block
 *   (registers natively: about one weight load and one multiply-add per MAC).
 */
export type LoopOrder = "window" | "taps";

/** One layer's kernel shape: loop order and output channels per multiply. */
export interface KernelVariant {
  order: LoopOrder;
  lanes: Lanes;
}

/** Every kernel shape the build can generate (the candidates of the native choice). */
export const KERNEL_VARIANTS: readonly KernelVariant[] = [
  { order: "window", lanes: 1 },
  { order: "window", lanes: 2 },
  { order: "taps", lanes: 1 },
  { order: "taps", lanes: 2 },
];

/** "window-i32", "window-i64", "taps-i32", "taps-i64". */
export function variantName(v: KernelVariant): string {
  return `${v.order}-${v.lanes === 2 ? "i64" : "i32"}`;
}

/** Accumulators per block in the taps order: 8 i32 (8 channels) or 4 i64 (8 channels), registers on a 32-bit core. */
export const TAPS_BLOCK: Record<Lanes, number> = { 1: 8, 2: 4 };

export interface LayerLayout {
  lanes: Lanes;
  order: LoopOrder;
  /** Taps order: accumulators (channel groups) per block; window order: 0. */
  block: number;
  /** Output channel groups (ceil(out / lanes)); a missing last channel has zero weights and is not stored. */
  groups: number;
  /** Weights per output channel: kernel·kernel·in. */
  taps: number;
  /** The weight bytes as the kernel reads them. */
  weights: Uint8Array;
  weightsPurpose: string;
  /** Requantization the kernel applies: (multiplier, shift) equal to the model's (trailing zeros of the multiplier folded into the shift). */
  multiplier: Int32Array;
  shift: Int32Array;
  /** True when |acc|·multiplier + 2^(shift−1) < 2^31 for every reachable accumulator: requantize in 32-bit. */
  requant32: boolean;
  /** Largest |acc| the layer can produce (|bias| + Σ|w|·max|x|), over its channels. */
  maxAbsAcc: number;
  inSigned: boolean;
}

/** Whether layer `i` reads int8 (the normalised input or a linear layer's output) rather than uint8 (a ReLU's output). */
export function layerInputSigned(model: Model, i: number): boolean {
  return i === 0 || model.layers[i - 1].activation === "linear";
}

/**
 * Modelled cycles per multiply-accumulate of each loop on the board's core and runtime: the inner
 * step is `local.get x; local.get w; load; mul; add` for one channel (i32) or two (i64).
 */
export function costPerMac(costModel: string, runtime: RuntimeMode, lanes: Lanes): number {
  const t = costTable(costModel, runtime);
  return lanes === 1 ? 2 * t.local + t.load8 + t.mul32 + t.alu32 : (2 * t.local + t.load64 + t.mul64 + t.alu64) / 2;
}

/** The cheaper lane count for a core and runtime (i64 pays off on 64-bit cores and under an interpreter's dispatch). */
export function chooseLanes(costModel: string, runtime: RuntimeMode): Lanes {
  return costPerMac(costModel, runtime, 2) < costPerMac(costModel, runtime, 1) ? 2 : 1;
}

/** Largest |acc| of one output channel: |bias| + Σ|w|·max|x| (int8 input: 128, uint8 input: 255). */
export function maxAbsAccumulator(l: ConvLayer, co: number, inSigned: boolean): number {
  const taps = l.kernel * l.kernel * l.inChannels,
    xMax = inSigned ? 128 : 255;
  let s = 0;
  for (let i = co * taps; i < (co + 1) * taps; i++) s += Math.abs(l.weights[i]);
  return Math.abs(l.bias[co]) + s * xMax;
}

/** Index of weight (group g, tap t) in the laid-out weights, in units of one laid-out weight (1 or 8 bytes). */
export function weightIndex(order: LoopOrder, block: number, groups: number, taps: number, g: number, t: number): number {
  if (order === "window") return g * taps + t;
  const b = Math.floor(g / block),
    inBlock = Math.min(block, groups - b * block);
  return b * block * taps + t * inBlock + (g - b * block);
}

export function layerLayout(model: Model, i: number, lanes: Lanes, order: LoopOrder = "window"): LayerLayout {
  const l = model.layers[i];
  const taps = l.kernel * l.kernel * l.inChannels;
  const inSigned = layerInputSigned(model, i);
  // Two lanes need each half's sum inside int32 so the low half never carries into the high one:
  // Σ|w|·|x| < 2^31 holds for any layer with fewer than 65,793 taps.
  if (lanes === 2 && taps * 128 * 255 >= 2 ** 31) lanes = 1;
  const groups = Math.ceil(l.outChannels / lanes);
  const block = order === "taps" ? TAPS_BLOCK[lanes] : 0;
  const at = (g: number, t: number) => weightIndex(order, block, groups, taps, g, t);
  let weights: Uint8Array, weightsPurpose: string;
  if (lanes === 1 && order === "window") {
    weights = new Uint8Array(l.weights.buffer, l.weights.byteOffset, l.weights.length);
    weightsPurpose = `int8 weights ${l.outChannels}x${l.kernel}x${l.kernel}x${l.inChannels}`;
  } else if (lanes === 1) {
    weights = new Uint8Array(groups * taps);
    for (let g = 0; g < groups; g++) for (let t = 0; t < taps; t++) weights[at(g, t)] = l.weights[g * taps + t] & 0xff;
    weightsPurpose = `int8 weights in blocks of ${block} output channels, tap-major [block][${l.kernel}][${l.kernel}][${l.inChannels}][channel]`;
  } else {
    const dv = new DataView(new ArrayBuffer(groups * taps * 8));
    for (let g = 0; g < groups; g++)
      for (let t = 0; t < taps; t++) {
        const w0 = BigInt(l.weights[2 * g * taps + t]);
        const w1 = 2 * g + 1 < l.outChannels ? BigInt(l.weights[(2 * g + 1) * taps + t]) : 0n;
        dv.setBigInt64(at(g, t) * 8, w0 + (w1 << 32n), true);
      }
    weights = new Uint8Array(dv.buffer);
    weightsPurpose =
      order === "window"
        ? `int8 weights as i64 pairs of output channels [${groups}][${l.kernel}][${l.kernel}][${l.inChannels}] (w[2g] + w[2g+1]<<32)`
        : `int8 weights as i64 pairs of output channels (w[2g] + w[2g+1]<<32) in blocks of ${block} pairs, tap-major [block][${l.kernel}][${l.kernel}][${l.inChannels}][pair]`;
  }
  const multiplier = new Int32Array(l.outChannels),
    shift = new Int32Array(l.outChannels);
  let requant32 = true,
    maxAbsAcc = 0;
  for (let co = 0; co < l.outChannels; co++) {
    let m = l.multiplier[co],
      s = l.shift[co];
    // (acc·m + 2^(s−1)) >> s is unchanged when a factor 2 moves from m into s (while s stays ≥ 1).
    while (m !== 0 && m % 2 === 0 && s > 1) {
      m /= 2;
      s -= 1;
    }
    if (m === 0) s = 1;
    multiplier[co] = m;
    shift[co] = s;
    const a = maxAbsAccumulator(l, co, inSigned);
    maxAbsAcc = Math.max(maxAbsAcc, a);
    if (a * m + 2 ** (s - 1) >= 2 ** 31 || s > 31) requant32 = false;
  }
  if (!requant32) {
    multiplier.set(l.multiplier);
    shift.set(l.shift);
  }
  return { lanes, order, block, groups, taps, weights, weightsPurpose, multiplier, shift, requant32, maxAbsAcc, inSigned };
}

/** Layouts of every layer: one variant for all, one per layer, or bare lanes (window order). */
export function modelLayout(model: Model, kernels: Lanes | KernelVariant | readonly KernelVariant[]): LayerLayout[] {
  return model.layers.map((_, i) => {
    const v = typeof kernels === "number" ? { order: "window" as const, lanes: kernels } : "order" in kernels ? kernels : kernels[i];
    return layerLayout(model, i, v.lanes, v.order);
  });
}
