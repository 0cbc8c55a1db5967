import type { Latent } from "../../core/types.ts";
// An ESTIMATE of Tidepool's bytes, for a model without entropy tables (a seeded random model, an old
// export): the ideal code length −Σ log2 p(symbol) of the kept channels under static per-channel
// symbol tables fitted on latents of the imagenet-sample training split (never Kodak, never the test
// split), no header. Every model that carries its ENTR tables is costed in real packet bytes instead
// (packet-rate.ts); reports name this source "estimate" wherever it is used.
import { TidepoolError } from "../../core/errors.ts";
import type { RateSource } from "./packet-rate.ts";

/** Per-channel symbol counts of the training latents, +1 (Laplace) smoothing applied when costed. */
export interface ChannelTables {
  levels: number[];
  counts: number[][];
  latents: number;
  source: string;
}

export class RateError extends TidepoolError {
  constructor(m: string) {
    super("rate-tables", m);
  }
}

/** Histograms each channel's symbols over the given latents; `levels[c]` is channel c's alphabet size. */
export function fitTables(latents: Iterable<Latent>, levels: ArrayLike<number>, source: string): ChannelTables {
  const counts = Array.from(levels, (L) => new Array<number>(L).fill(0));
  let n = 0;
  for (const lat of latents) {
    if (lat.channels !== counts.length) throw new RateError(`latent has ${lat.channels} channels, tables have ${counts.length}`);
    const plane = lat.width * lat.height;
    for (let c = 0; c < lat.channels; c++) {
      const h = counts[c];
      for (let i = c * plane; i < (c + 1) * plane; i++) {
        const s = lat.data[i];
        if (s >= h.length) throw new RateError(`channel ${c} symbol ${s} outside its ${h.length} levels`);
        h[s]++;
      }
    }
    n++;
  }
  if (n === 0) throw new RateError("no latents to fit rate tables on");
  return { levels: Array.from(levels), counts, latents: n, source };
}

/** Code length in bits of each symbol value, per channel: −log2((count + 1) / (total + levels)). */
export function symbolBits(t: ChannelTables): Float64Array[] {
  return t.counts.map((h) => {
    const total = h.reduce((a, b) => a + b, 0) + h.length;
    return Float64Array.from(h, (n) => -Math.log2((n + 1) / total));
  });
}

/** Ideal static-table code length (bits) of the first `channels` channels. */
export function idealBits(bits: Float64Array[], latent: Latent, channels: number): number {
  if (channels < 0 || channels > latent.channels) throw new RateError(`cannot keep ${channels} of ${latent.channels} channels`);
  if (latent.channels !== bits.length) throw new RateError(`latent has ${latent.channels} channels, tables have ${bits.length}`);
  const plane = latent.width * latent.height;
  let total = 0;
  for (let c = 0; c < channels; c++) {
    const b = bits[c];
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const v = b[latent.data[i]];
      if (v === undefined) throw new RateError(`channel ${c} symbol ${latent.data[i]} outside its ${b.length} levels`);
      total += v;
    }
  }
  return total;
}

export class IdealRate implements RateSource {
  readonly name = "estimate-ideal-static";
  readonly describe: string;
  private readonly bits: Float64Array[];
  constructor(readonly tables: ChannelTables) {
    this.bits = symbolBits(tables);
    this.describe = `ESTIMATE: ideal code length under static per-channel tables (+1 smoothing) fitted on ${tables.latents} latents of ${tables.source}; no header`;
  }
  bytes(latent: Latent, channels: number): number {
    return Math.ceil(idealBits(this.bits, latent, channels) / 8);
  }
}

/** Tables as JSON (for the fit cache); validated on the way back in. */
export function tablesToJson(t: ChannelTables): string {
  return JSON.stringify(t);
}
export function tablesFromJson(s: string, where: string): ChannelTables {
  let t: ChannelTables;
  try {
    t = JSON.parse(s);
  } catch (e) {
    throw new RateError(`${where}: not JSON (${(e as Error).message})`);
  }
  if (
    !Array.isArray(t?.levels) ||
    !Array.isArray(t?.counts) ||
    t.levels.length !== t.counts.length ||
    t.counts.some((h, c) => !Array.isArray(h) || h.length !== t.levels[c] || h.some((n) => !Number.isInteger(n) || n < 0)) ||
    !Number.isInteger(t.latents) ||
    typeof t.source !== "string"
  )
    throw new RateError(`${where}: not a rate-table file`);
  return t;
}
