// Fits the static context tables on training latents (docs/bitstream.md §Fitting). Floating point is
// fine here: what ships is the integer tables, and encoder and decoder both read those.
import { PROB_ONE } from "./range-coder.ts";
import { contextCount, parseTables, serializeTables, type ChannelTables, type EntropyTables } from "./tables.ts";
import type { Latent } from "../../core/types.ts";
import { TidepoolError, EXIT_FAILURE } from "../../core/errors.ts";

export interface FitOptions {
  blockWidth?: number;
  blockHeight?: number;
  /** Neighbour classes per channel (contexts = 1 + 2K + K²); clipped to the channel's levels. */
  classes?: number;
  seed?: number;
  /** Weight (in pseudo-counts) of the channel's marginal in each context's estimate. */
  prior?: number;
}

export const DEFAULT_FIT: Required<FitOptions> = { blockWidth: 2, blockHeight: 2, classes: 4, seed: 0x7d1e9001, prior: 4 };

/** Neighbour statistics of one channel: by block position (start, first row, first column, interior). */
interface ChannelStats {
  levels: number;
  none: Float64Array;
  left: Float64Array;
  up: Float64Array;
  both: Float64Array;
}

export class FitError extends TidepoolError {
  constructor(m: string) {
    super("fit-tables", m, EXIT_FAILURE);
  }
}

export function collectStats(latents: Iterable<Latent>, levels: ArrayLike<number>, bw: number, bh: number): { stats: ChannelStats[]; latents: number } {
  const stats: ChannelStats[] = Array.from(levels, (L) => ({
    levels: L,
    none: new Float64Array(L),
    left: new Float64Array(L * L),
    up: new Float64Array(L * L),
    both: new Float64Array(L * L * L),
  }));
  let n = 0;
  for (const lat of latents) {
    if (lat.channels !== stats.length) throw new FitError(`latent has ${lat.channels} channels, the model ${stats.length}`);
    const { width: W, height: H, data } = lat,
      plane = W * H;
    stats.forEach((st, c) => {
      const L = st.levels,
        base = c * plane;
      for (let y = 0; y < H; y++) {
        const dy = y % bh;
        for (let x = 0; x < W; x++) {
          const dx = x % bw,
            i = base + y * W + x,
            s = data[i];
          if (s >= L) throw new FitError(`channel ${c} symbol ${s} outside its ${L} levels`);
          if (dx && dy) st.both[(data[i - 1] * L + data[i - W]) * L + s]++;
          else if (dx) st.left[data[i - 1] * L + s]++;
          else if (dy) st.up[data[i - W] * L + s]++;
          else st.none[s]++;
        }
      }
    });
    n++;
  }
  if (n === 0) throw new FitError("no latents to fit the tables on");
  return { stats, latents: n };
}

/** Code length (bits) of a set of histograms under their own empirical distribution. */
function entropyBits(h: Float64Array, rows: number, L: number): number {
  let bits = 0;
  for (let r = 0; r < rows; r++) {
    let total = 0;
    for (let s = 0; s < L; s++) total += h[r * L + s];
    if (!total) continue;
    for (let s = 0; s < L; s++) {
      const v = h[r * L + s];
      if (v) bits -= v * Math.log2(v / total);
    }
  }
  return bits;
}

function classMapFromCuts(L: number, cuts: number[]): Uint8Array {
  const m = new Uint8Array(L);
  let k = 0;
  for (let v = 0; v < L; v++) {
    while (k < cuts.length && v >= cuts[k]) k++;
    m[v] = k;
  }
  return m;
}

/** Context histograms of a channel under a class map. */
function contextHistograms(st: ChannelStats, map: Uint8Array, K: number): Float64Array[] {
  const L = st.levels;
  const rows = Array.from({ length: contextCount(K) }, () => new Float64Array(L));
  rows[0].set(st.none);
  for (let a = 0; a < L; a++)
    for (let s = 0; s < L; s++) {
      rows[1 + map[a]][s] += st.left[a * L + s];
      rows[1 + K + map[a]][s] += st.up[a * L + s];
      for (let b = 0; b < L; b++) rows[1 + 2 * K + map[a] * K + map[b]][s] += st.both[(a * L + b) * L + s];
    }
  return rows;
}

function cutsCost(st: ChannelStats, cuts: number[], K: number): number {
  const rows = contextHistograms(st, classMapFromCuts(st.levels, cuts), K);
  const flat = new Float64Array(rows.length * st.levels);
  rows.forEach((r, i) => flat.set(r, i * st.levels));
  return entropyBits(flat, rows.length, st.levels);
}

/** Contiguous class boundaries minimising the empirical conditional code length (exhaustive when small, else marginal quantiles). */
function chooseClassMap(st: ChannelStats, K: number): Uint8Array {
  const L = st.levels;
  if (K <= 1) return new Uint8Array(L);
  let combos = 1;
  for (let i = 0; i < K - 1; i++) combos = (combos * (L - 1 - i)) / (i + 1);
  if (combos <= 20000) {
    let best: number[] = [],
      bestCost = Infinity;
    const cuts: number[] = [];
    const walk = (from: number) => {
      if (cuts.length === K - 1) {
        const c = cutsCost(st, cuts, K);
        if (c < bestCost) {
          bestCost = c;
          best = cuts.slice();
        }
        return;
      }
      for (let v = from; v <= L - (K - 1 - cuts.length); v++) {
        cuts.push(v);
        walk(v + 1);
        cuts.pop();
      }
    };
    walk(1);
    return classMapFromCuts(L, best);
  }
  const marginal = new Float64Array(L);
  for (let i = 0; i < st.both.length; i++) marginal[i % L] += st.both[i];
  const total = marginal.reduce((a, b) => a + b, 0) || 1;
  const cuts: number[] = [];
  let acc = 0;
  for (let v = 0; v < L - 1 && cuts.length < K - 1; v++) {
    acc += marginal[v];
    if (acc / total >= (cuts.length + 1) / K) cuts.push(v + 1);
  }
  while (cuts.length < K - 1) cuts.push(Math.min(L - 1, (cuts.at(-1) ?? 0) + 1));
  return classMapFromCuts(
    L,
    [...new Set(cuts)]
      .sort((a, b) => a - b)
      .concat([])
      .slice(0, K - 1),
  );
}

/** Integer frequencies summing to 2^15, every symbol at least 1. */
export function quantizeFrequencies(p: ArrayLike<number>): Uint16Array {
  const L = p.length;
  const f = new Int32Array(L);
  let sum = 0;
  for (let s = 0; s < L; s++) {
    f[s] = Math.max(1, Math.round(p[s] * PROB_ONE));
    sum += f[s];
  }
  while (sum !== PROB_ONE) {
    // Move the difference onto the largest frequencies (smallest relative damage).
    let big = 0;
    for (let s = 1; s < L; s++) if (f[s] > f[big]) big = s;
    const d = sum > PROB_ONE ? -Math.min(sum - PROB_ONE, f[big] - 1) : PROB_ONE - sum;
    if (d === 0) throw new FitError(`cannot fit ${L} symbols into ${PROB_ONE} with frequency >= 1`);
    f[big] += d;
    sum += d;
  }
  const cum = new Uint16Array(L + 1);
  for (let s = 0; s < L; s++) cum[s + 1] = cum[s] + f[s];
  return cum;
}

export interface FittedTables {
  bytes: Uint8Array;
  tables: EntropyTables;
  latents: number;
}

export function fitEntropyTables(latents: Iterable<Latent>, levels: ArrayLike<number>, options: FitOptions = {}): FittedTables {
  const o = { ...DEFAULT_FIT, ...options };
  const { stats, latents: n } = collectStats(latents, levels, o.blockWidth, o.blockHeight);
  const channels: ChannelTables[] = stats.map((st) => {
    const L = st.levels;
    const K = Math.max(1, Math.min(o.classes, L));
    const classMap = chooseClassMap(st, K);
    const rows = contextHistograms(st, classMap, K);
    const marginal = new Float64Array(L);
    for (const r of rows) for (let s = 0; s < L; s++) marginal[s] += r[s];
    const mTotal = marginal.reduce((a, b) => a + b, 0);
    const prior = Float64Array.from(marginal, (v) => (v + 0.5) / (mTotal + 0.5 * L));
    const cum = rows.map((r) => {
      const total = r.reduce((a, b) => a + b, 0);
      return quantizeFrequencies(Float64Array.from(r, (v, s) => (v + o.prior * prior[s]) / (total + o.prior)));
    });
    return { levels: L, classes: K, classMap, cum };
  });
  const bytes = serializeTables({ blockWidth: o.blockWidth, blockHeight: o.blockHeight, seed: o.seed >>> 0, channels });
  return { bytes, tables: parseTables(bytes), latents: n };
}
