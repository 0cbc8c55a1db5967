// How many bytes a better entropy model could save on a given encoder's latents: ideal code lengths
// (−log2 p) under conditional tables fitted on training latents and scored on other latents, for
// contexts of increasing reach. The shipped bitstream (docs/bitstream.md §3) sees at most the left and
// upper symbol inside one 2×2 block of one packet; the rules below drop that restriction, then add
// the earlier channels (a channel-conditional prior), then look at neighbours not yet coded and at
// every other channel at the same position: an oracle for what a hyperprior could signal about the
// local scale, with its side information free. None of these is a codec; they estimate the headroom.
import type { Latent } from "../core/types.ts";

export type ContextRule = "static" | "causal" | "causal+channels" | "oracle";

export const CONTEXT_RULES: Record<ContextRule, string> = {
  static: "one table per channel (a factorised prior, the rate the encoder was trained with)",
  causal: "left and upper neighbour, anywhere in the plane (no block or packet boundary)",
  "causal+channels": "left and upper neighbour plus the summed magnitude of the earlier channels at the same position",
  oracle:
    "left, upper, right and lower neighbour (two not yet coded) plus the summed magnitude of every other channel at the same position, side information free",
};

/** A symbol's magnitude: its distance from the channel's zero (the model's latent offset). */
function magnitudes(lat: Latent, offsets: ArrayLike<number>): Int32Array {
  const plane = lat.width * lat.height;
  return Int32Array.from(lat.data, (s, i) => Math.abs(s - offsets[Math.floor(i / plane)]));
}

/** The context number of every symbol of `lat` under `rule`, and how many there are. */
export function contexts(lat: Latent, rule: ContextRule, offsets: ArrayLike<number>): { ctx: Int32Array; count: number } {
  const { width: W, height: H, channels: C } = lat,
    plane = W * H,
    m = magnitudes(lat, offsets),
    ctx = new Int32Array(lat.data.length);
  if (rule === "static") return { ctx, count: 1 };
  const at = (c: number, x: number, y: number) => (x < 0 || y < 0 || x >= W || y >= H ? 0 : m[c * plane + y * W + x]);
  const cap = (v: number, top: number) => (v < top ? v : top);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = c * plane + y * W + x;
        const spatial = cap(at(c, x - 1, y), 3) * 4 + cap(at(c, x, y - 1), 3);
        if (rule === "causal") ctx[i] = spatial;
        else if (rule === "causal+channels") {
          let earlier = 0;
          for (let e = 0; e < c; e++) earlier += m[e * plane + y * W + x];
          ctx[i] = spatial * 4 + cap(earlier, 3);
        } else {
          // A refinement of "causal": the right and lower neighbours (not yet coded) join the left and
          // upper ones, and every other channel at the same position adds its magnitude.
          let others = 0;
          for (let e = 0; e < C; e++) if (e !== c) others += m[e * plane + y * W + x];
          ctx[i] = ((spatial * 4 + cap(at(c, x + 1, y), 3)) * 4 + cap(at(c, x, y + 1), 3)) * 4 + cap(others >> 1, 3);
        }
      }
  return { ctx, count: { causal: 16, "causal+channels": 64, oracle: 1024 }[rule] };
}

/** Per channel and context, symbol probabilities from counts on `training` (add-½ smoothing). */
export interface ConditionalTables {
  rule: ContextRule;
  offsets: ArrayLike<number>;
  levels: number;
  /** [channel][context · levels + symbol] */
  p: Float64Array[];
}

export function fitConditional(training: readonly Latent[], rule: ContextRule, levels: number, offsets: ArrayLike<number>): ConditionalTables {
  const C = training[0].channels;
  const count = contexts(training[0], rule, offsets).count;
  const n = Array.from({ length: C }, () => new Float64Array(count * levels).fill(0.5));
  for (const lat of training) {
    const { ctx } = contexts(lat, rule, offsets),
      plane = lat.width * lat.height;
    for (let i = 0; i < lat.data.length; i++) n[Math.floor(i / plane)][ctx[i] * levels + lat.data[i]]++;
  }
  for (const t of n)
    for (let k = 0; k < count; k++) {
      let total = 0;
      for (let s = 0; s < levels; s++) total += t[k * levels + s];
      for (let s = 0; s < levels; s++) t[k * levels + s] /= total;
    }
  return { rule, offsets, levels, p: n };
}

/** Ideal bits for the first `channels` channels of `lat` under `tables` (contexts may look at all channels). */
export function idealBits(lat: Latent, tables: ConditionalTables, channels = lat.channels): number {
  const { ctx } = contexts(lat, tables.rule, tables.offsets),
    plane = lat.width * lat.height;
  let bits = 0;
  for (let i = 0; i < channels * plane; i++) bits -= Math.log2(tables.p[Math.floor(i / plane)][ctx[i] * tables.levels + lat.data[i]]);
  return bits;
}
