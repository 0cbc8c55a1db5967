// TypeScript reference of the on-device policy (assembly/policy.ts), bit for bit: the latent's cheap
// features, the int8 MLP and the level choice. docs/adaptive.md §What the policy sees.
import type { EntropyTables } from "../../wire/bitstream/tables.ts";
import { PROB_BITS } from "../../wire/bitstream/range-coder.ts";
import { requantize } from "../../model/requantize.ts";
import { policyFeatures, PolicyFormatError, type Policy } from "./section.ts";
import type { Latent } from "../../core/types.ts";

/** Cost of a symbol in 1/16 bit, per channel and level: the ENTR tables' no-neighbour context (row 0). */
export interface CostTable {
  channels: number;
  stride: number;
  costs: Uint8Array;
}

export function costTable(tables: EntropyTables): CostTable {
  const C = tables.channels.length;
  const stride = Math.max(...tables.channels.map((c) => c.levels));
  const costs = new Uint8Array(C * stride);
  tables.channels.forEach((ch, c) => {
    const row = ch.cum[0];
    for (let s = 0; s < ch.levels; s++) {
      const f = row[s + 1] - row[s];
      costs[c * stride + s] = Math.min(255, Math.round(16 * (PROB_BITS - Math.log2(f))));
    }
  });
  return { channels: C, stride, costs };
}

export interface PolicyFeatures {
  /** feature[c] = code length of channel c in Q8 bits/symbol; feature[C + c] = its mean symbol in Q8. */
  features: Int32Array;
  /** Estimated share of the image's bytes in the first k channels, Q8 (index k − 1). */
  fraction: Int32Array;
}

export function latentFeatures(latent: Latent, costs: CostTable): PolicyFeatures {
  const { width, height, channels: C, data } = latent;
  if (C !== costs.channels) throw new PolicyFormatError(`latent has ${C} channels, the cost table ${costs.channels}`, "policy features");
  const plane = width * height;
  const features = new Int32Array(2 * C),
    bits = new Array<number>(C).fill(0);
  for (let c = 0; c < C; c++) {
    let b = 0,
      sum = 0;
    const row = c * costs.stride;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      b += costs.costs[row + data[i]];
      sum += data[i];
    }
    bits[c] = b;
    features[c] = Math.floor((b * 16) / plane);
    features[C + c] = Math.floor((sum * 256) / plane);
  }
  const total = bits.reduce((a, b) => a + b, 0);
  const fraction = new Int32Array(C);
  let cum = 0;
  for (let k = 0; k < C; k++) {
    cum += bits[k];
    fraction[k] = total > 0 ? Math.floor((cum * 256) / total) : Math.floor(((k + 1) * 256) / C);
  }
  return { features, fraction };
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Q8 agreement estimate per level (index k − 1). */
export function policyProbabilities(p: Policy, features: Int32Array): Int32Array {
  const F = policyFeatures(p.channels),
    H = p.hidden,
    K = p.channels;
  const x = new Int32Array(F),
    h = new Int32Array(H),
    out = new Int32Array(K);
  for (let f = 0; f < F; f++) x[f] = clamp(requantize(features[f] - p.featureOffsets[f], p.featureScales[f].multiplier, p.featureScales[f].shift), -128, 127);
  for (let j = 0; j < H; j++) {
    let acc = p.b1[j];
    for (let f = 0; f < F; f++) acc += p.w1[j * F + f] * x[f];
    h[j] = clamp(requantize(acc | 0, p.r1.multiplier, p.r1.shift), 0, 127);
  }
  for (let k = 0; k < K; k++) {
    let acc = p.b2[k];
    for (let j = 0; j < H; j++) acc += p.w2[k * H + j] * h[j];
    out[k] = clamp(requantize(acc | 0, p.r2.multiplier, p.r2.shift), 0, 256);
  }
  return out;
}

/** The level (channels to send, minLevel..C) with the best score p_k − λ·frac_k; ties go to the smaller k. */
export function chooseLevel(p: Policy, f: PolicyFeatures, lambdaQ8 = p.lambdaQ8): number {
  const prob = policyProbabilities(p, f.features);
  let best = p.minLevel,
    bestScore = -Infinity;
  for (let k = p.minLevel; k <= p.channels; k++) {
    const score = prob[k - 1] - ((lambdaQ8 * f.fraction[k - 1] + 128) >> 8);
    if (score > bestScore) {
      bestScore = score;
      best = k;
    }
  }
  return best;
}
