// Training of the adaptive policy (docs/adaptive.md §Training): a contextual bandit with full
// information. Each training image has a known outcome for every level (does the classifier keep its
// answer with k channels?), so instead of DQN exploration the policy regresses P(agree | features, k)
// for all k at once; the level is then argmax_k P − λ·bytes share, AdaCompress's reward with the
// expectation taken. A float MLP (2C → H → C, relu) trained with Adam on the mean squared error, then
// quantized to the int8 PLCY section. Used by `npm run train` (training/configs/policy.json) and by the
// gateway's drift loop (host/receiver/adaptive/drift.ts), so it is small, seeded and dependency-free.
import { quantizeScale } from "../../model/requantize.ts";
import { policyFeatures, type Policy, type Requant } from "./section.ts";
import { TidepoolError } from "../../core/errors.ts";
import type { PolicyFeatures } from "./reference.ts";
import { xorshiftRandom } from "../../core/seeded-random.ts";

export interface PolicySample extends PolicyFeatures {
  /** agree[k−1] = 1 when the classifier's top-1 with k channels matches the reference. */
  agree: ArrayLike<number>;
}

export interface TrainPolicyOptions {
  tablesId: number;
  hidden?: number;
  epochs?: number;
  learningRate?: number;
  weightDecay?: number;
  seed?: number;
  lambda: number;
  minLevel?: number;
}

export interface FloatPolicy {
  features: number;
  levels: number;
  hidden: number;
  mean: Float64Array;
  std: Float64Array;
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array;
}

/** Steps of integer inputs per standard deviation: ±4σ fits int8. */
const X_STEPS = 32;

export function trainFloatPolicy(samples: PolicySample[], o: TrainPolicyOptions): FloatPolicy {
  const N = samples.length;
  if (N < 4) throw new TidepoolError("policy-train", `cannot train a policy on ${N} samples (at least 4)`, 1);
  // Outputs: one per level (the PLCY policy: k = 1..C channels; the JPEG baseline: its qualities).
  const C = samples[0].agree.length,
    F = samples[0].features.length,
    H = o.hidden ?? 16;
  const mean = new Float64Array(F),
    std = new Float64Array(F);
  for (const s of samples) for (let f = 0; f < F; f++) mean[f] += s.features[f] / N;
  for (const s of samples) for (let f = 0; f < F; f++) std[f] += (s.features[f] - mean[f]) ** 2 / N;
  for (let f = 0; f < F; f++) std[f] = Math.max(Math.sqrt(std[f]), 1);
  const X = samples.map((s) => Float64Array.from({ length: F }, (_, f) => Math.max(-4, Math.min(3.97, (s.features[f] - mean[f]) / std[f]))));
  const Y = samples.map((s) => Float64Array.from(s.agree));
  const r = xorshiftRandom(o.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const w1 = Float64Array.from({ length: H * F }, () => gauss() * Math.sqrt(2 / F)),
    b1 = new Float64Array(H);
  const w2 = Float64Array.from({ length: C * H }, () => gauss() * Math.sqrt(1 / H)),
    b2 = new Float64Array(C);
  // Start the output at the base rates so early epochs fit the features, not the mean.
  for (let k = 0; k < C; k++) b2[k] = Y.reduce((a, y) => a + y[k], 0) / N;
  const params = [w1, b1, w2, b2];
  const m = params.map((p) => new Float64Array(p.length)),
    v = params.map((p) => new Float64Array(p.length));
  const grads = params.map((p) => new Float64Array(p.length));
  const epochs = o.epochs ?? 400,
    lr = o.learningRate ?? 0.01,
    wd = o.weightDecay ?? 1e-4;
  const h = new Float64Array(H),
    dh = new Float64Array(H);
  for (let e = 1; e <= epochs; e++) {
    grads.forEach((g) => g.fill(0));
    const [g1, gb1, g2, gb2] = grads;
    for (let n = 0; n < N; n++) {
      const x = X[n],
        y = Y[n];
      for (let j = 0; j < H; j++) {
        let a = b1[j];
        for (let f = 0; f < F; f++) a += w1[j * F + f] * x[f];
        h[j] = a > 0 ? a : 0;
      }
      dh.fill(0);
      for (let k = 0; k < C; k++) {
        let p = b2[k];
        for (let j = 0; j < H; j++) p += w2[k * H + j] * h[j];
        const d = (2 * (p - y[k])) / (N * C);
        gb2[k] += d;
        for (let j = 0; j < H; j++) {
          g2[k * H + j] += d * h[j];
          dh[j] += d * w2[k * H + j];
        }
      }
      for (let j = 0; j < H; j++) {
        if (h[j] <= 0) continue;
        gb1[j] += dh[j];
        for (let f = 0; f < F; f++) g1[j * F + f] += dh[j] * x[f];
      }
    }
    // Adam with decoupled weight decay on the weights.
    const b1c = 1 - 0.9 ** e,
      b2c = 1 - 0.999 ** e;
    params.forEach((p, i) => {
      const g = grads[i],
        mi = m[i],
        vi = v[i],
        decay = i === 0 || i === 2 ? wd : 0;
      for (let q = 0; q < p.length; q++) {
        mi[q] = 0.9 * mi[q] + 0.1 * g[q];
        vi[q] = 0.999 * vi[q] + 0.001 * g[q] * g[q];
        p[q] -= lr * (mi[q] / b1c / (Math.sqrt(vi[q] / b2c) + 1e-8) + decay * p[q]);
      }
    });
  }
  return { features: F, levels: C, hidden: H, mean, std, w1, b1, w2, b2 };
}

/** Float forward pass (for the quantization check and reports): P(agree) per level. */
export function floatProbabilities(fp: FloatPolicy, features: ArrayLike<number>): Float64Array {
  const F = fp.features,
    H = fp.hidden,
    C = fp.levels;
  const x = Float64Array.from({ length: F }, (_, f) => Math.max(-4, Math.min(3.97, (features[f] - fp.mean[f]) / fp.std[f])));
  const h = new Float64Array(H),
    out = new Float64Array(C);
  for (let j = 0; j < H; j++) {
    let a = fp.b1[j];
    for (let f = 0; f < F; f++) a += fp.w1[j * F + f] * x[f];
    h[j] = Math.max(0, a);
  }
  for (let k = 0; k < C; k++) {
    let a = fp.b2[k];
    for (let j = 0; j < H; j++) a += fp.w2[k * H + j] * h[j];
    out[k] = a;
  }
  return out;
}

const rq = (scale: number): Requant => quantizeScale(scale);

/** int8 weights, int32 biases and fixed-point requantizers; hidden range calibrated on the samples. */
export function quantizePolicy(fp: FloatPolicy, samples: PolicySample[], o: Pick<TrainPolicyOptions, "tablesId" | "lambda" | "minLevel">): Policy {
  const C = fp.levels,
    F = fp.features,
    H = fp.hidden;
  if (F !== policyFeatures(C)) throw new TidepoolError("policy-train", `a PLCY policy needs ${policyFeatures(C)} features for ${C} levels, got ${F}`);
  const sw1 = 127 / Math.max(1e-6, ...Array.from(fp.w1, Math.abs));
  const sw2 = 127 / Math.max(1e-6, ...Array.from(fp.w2, Math.abs));
  // Hidden activations: the 99.9th percentile over the samples maps to 127.
  const acts: number[] = [];
  for (const s of samples) {
    const x = Array.from({ length: F }, (_, f) => Math.max(-4, Math.min(3.97, (s.features[f] - fp.mean[f]) / fp.std[f])));
    for (let j = 0; j < H; j++) {
      let a = fp.b1[j];
      for (let f = 0; f < F; f++) a += fp.w1[j * F + f] * x[f];
      if (a > 0) acts.push(a);
    }
  }
  acts.sort((a, b) => a - b);
  const hMax = Math.max(1e-3, acts.length ? acts[Math.min(acts.length - 1, Math.floor(acts.length * 0.999))] : 1);
  const sh = 127 / hMax;
  const s1 = X_STEPS * sw1,
    s2 = sh * sw2;
  return {
    channels: C,
    tablesId: o.tablesId >>> 0,
    lambdaQ8: Math.round(o.lambda * 256),
    minLevel: o.minLevel ?? 1,
    hidden: H,
    featureOffsets: Int32Array.from(fp.mean, (v) => Math.round(v)),
    featureScales: Array.from(fp.std, (s) => rq(X_STEPS / s)),
    w1: Int8Array.from(fp.w1, (w) => Math.max(-127, Math.min(127, Math.round(w * sw1)))),
    b1: Int32Array.from(fp.b1, (b) => Math.round(b * s1)),
    r1: rq(sh / s1),
    w2: Int8Array.from(fp.w2, (w) => Math.max(-127, Math.min(127, Math.round(w * sw2)))),
    b2: Int32Array.from(fp.b2, (b) => Math.round(b * s2)),
    r2: rq(256 / s2),
  };
}

export function trainPolicy(samples: PolicySample[], o: TrainPolicyOptions): { policy: Policy; float: FloatPolicy } {
  const float = trainFloatPolicy(samples, o);
  return { policy: quantizePolicy(float, samples, o), float };
}
