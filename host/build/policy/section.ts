// The adaptive policy: payload of the model file's PLCY section (docs/adaptive.md §Section).
// Laid out so the device reads it in place (assembly/policy.ts): little-endian, 4-byte aligned
// blocks, int8 weights, int32 biases and fixed-point requantizers like the encoder's.
import { crc32 } from "../../core/crc32.ts";
import { MAX_SHIFT, MIN_SHIFT } from "../../model/format.ts";
import { TidepoolError } from "../../core/errors.ts";

export const POLICY_MAGIC = "TPPL";
export const POLICY_VERSION = 1;
export const POLICY_HEADER_BYTES = 48;
export const MAX_POLICY_FEATURES = 64;
export const MAX_POLICY_HIDDEN = 64;

/** A fixed-point scale: v' = (v · multiplier + 2^(shift−1)) >> shift (docs/model-format.md rule 3). */
export interface Requant {
  multiplier: number;
  shift: number;
}

export interface Policy {
  /** Latent channels of the encoder it was trained for; its levels are k = 1..channels leading channels. */
  channels: number;
  /** CRC id of the ENTR tables its code-length features were computed with. */
  tablesId: number;
  /** Weight of the bytes term, in 1/256: score_k = p_k − λ·frac_k (both Q8). */
  lambdaQ8: number;
  /** Smallest level it may choose (1..channels). */
  minLevel: number;
  /** Feature normalisation to int8: x = clamp(requant(feature − offset), −128, 127). */
  featureOffsets: Int32Array;
  featureScales: Requant[];
  hidden: number;
  /** [hidden][features] int8; bias int32; requant to a relu output in 0..127. */
  w1: Int8Array;
  b1: Int32Array;
  r1: Requant;
  /** [levels][hidden] int8; bias int32; requant to the agreement probability in Q8 (clamped 0..256). */
  w2: Int8Array;
  b2: Int32Array;
  r2: Requant;
  /** Provenance of this section's training (free text, in META; not in the payload). */
}

export class PolicyFormatError extends TidepoolError {
  constructor(message: string, source = "policy section") {
    super("policy-format", `${source}: ${message}`);
  }
}

export const policyFeatures = (channels: number) => 2 * channels;
const pad4 = (n: number) => (n + 3) & ~3;

/** Byte offsets of the blocks of a payload; shared by the writer, the reader and the device layout doc. */
export function policyLayout(features: number, hidden: number, levels: number) {
  const norm = POLICY_HEADER_BYTES;
  const w1 = norm + 12 * features;
  const b1 = w1 + pad4(hidden * features);
  const w2 = b1 + 4 * hidden;
  const b2 = w2 + pad4(levels * hidden);
  const end = b2 + 4 * levels;
  return { norm, w1, b1, w2, b2, end };
}

function checkRequant(r: Requant, what: string, fail: (m: string) => never) {
  if (!Number.isInteger(r.multiplier) || r.multiplier < 0 || r.multiplier >= 2 ** 31) fail(`${what}: multiplier ${r.multiplier} outside [0, 2^31)`);
  if (!Number.isInteger(r.shift) || r.shift < MIN_SHIFT || r.shift > MAX_SHIFT) fail(`${what}: shift ${r.shift} outside ${MIN_SHIFT}..${MAX_SHIFT}`);
}

export function validatePolicy(p: Policy, source = "policy"): void {
  const fail = (m: string): never => {
    throw new PolicyFormatError(m, source);
  };
  const F = policyFeatures(p.channels),
    H = p.hidden,
    K = p.channels;
  if (!Number.isInteger(p.channels) || p.channels < 1 || F > MAX_POLICY_FEATURES) fail(`channels ${p.channels} outside 1..${MAX_POLICY_FEATURES / 2}`);
  if (!Number.isInteger(H) || H < 1 || H > MAX_POLICY_HIDDEN) fail(`hidden width ${H} outside 1..${MAX_POLICY_HIDDEN}`);
  if (p.minLevel < 1 || p.minLevel > K) fail(`minimum level ${p.minLevel} outside 1..${K}`);
  if (!Number.isInteger(p.lambdaQ8) || p.lambdaQ8 < 0 || p.lambdaQ8 > 65535) fail(`lambda ${p.lambdaQ8}/256 outside 0..65535`);
  if (p.featureOffsets.length !== F || p.featureScales.length !== F)
    fail(`${p.featureOffsets.length} feature offsets / ${p.featureScales.length} scales for ${F} features`);
  if (p.w1.length !== H * F || p.b1.length !== H) fail(`layer 1 has ${p.w1.length} weights and ${p.b1.length} biases for ${H}x${F}`);
  if (p.w2.length !== K * H || p.b2.length !== K) fail(`layer 2 has ${p.w2.length} weights and ${p.b2.length} biases for ${K}x${H}`);
  p.featureScales.forEach((r, i) => checkRequant(r, `feature ${i} scale`, fail));
  checkRequant(p.r1, "layer 1 requantizer", fail);
  checkRequant(p.r2, "layer 2 requantizer", fail);
}

export function serializePolicy(p: Policy): Uint8Array {
  validatePolicy(p);
  const F = policyFeatures(p.channels),
    H = p.hidden,
    K = p.channels;
  const L = policyLayout(F, H, K);
  const out = new Uint8Array(L.end);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = POLICY_MAGIC.charCodeAt(i);
  dv.setUint16(4, POLICY_VERSION, true);
  dv.setUint16(6, p.channels, true);
  out[8] = F;
  out[9] = H;
  out[10] = K;
  out[11] = p.minLevel;
  dv.setUint32(12, p.tablesId >>> 0, true);
  dv.setInt32(16, p.lambdaQ8, true);
  dv.setInt32(20, p.r1.multiplier, true);
  dv.setInt32(24, p.r1.shift, true);
  dv.setInt32(28, p.r2.multiplier, true);
  dv.setInt32(32, p.r2.shift, true);
  // 36: id (CRC-32 of [44, end)), 40: payload bytes, 44: reserved 0
  dv.setUint32(40, L.end, true);
  for (let f = 0; f < F; f++) {
    dv.setInt32(L.norm + 12 * f, p.featureOffsets[f], true);
    dv.setInt32(L.norm + 12 * f + 4, p.featureScales[f].multiplier, true);
    dv.setInt32(L.norm + 12 * f + 8, p.featureScales[f].shift, true);
  }
  out.set(new Uint8Array(p.w1.buffer, p.w1.byteOffset, p.w1.length), L.w1);
  p.b1.forEach((v, i) => dv.setInt32(L.b1 + 4 * i, v, true));
  out.set(new Uint8Array(p.w2.buffer, p.w2.byteOffset, p.w2.length), L.w2);
  p.b2.forEach((v, i) => dv.setInt32(L.b2 + 4 * i, v, true));
  dv.setUint32(36, crc32(out, 44), true);
  return out;
}

/** The id of a payload (CRC-32 of its body): what a board reports after installing a new policy. */
export function policyId(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(36, true);
}

export function parsePolicy(b: Uint8Array, source = "policy section"): Policy {
  const fail = (m: string): never => {
    throw new PolicyFormatError(m, source);
  };
  if (b.length < POLICY_HEADER_BYTES) fail(`truncated: ${b.length} bytes, the header alone is ${POLICY_HEADER_BYTES}`);
  const magic = String.fromCharCode(...b.subarray(0, 4));
  if (magic !== POLICY_MAGIC) fail(`wrong magic ${JSON.stringify(magic)} at offset 0 (expected "${POLICY_MAGIC}")`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = dv.getUint16(4, true);
  if (version !== POLICY_VERSION) fail(`unsupported version ${version} at offset 4 (this build reads ${POLICY_VERSION})`);
  const channels = dv.getUint16(6, true),
    F = b[8],
    H = b[9],
    K = b[10];
  if (F !== policyFeatures(channels) || K !== channels) fail(`header at offset 6: ${F} features and ${K} levels do not fit ${channels} channels`);
  if (H < 1 || H > MAX_POLICY_HIDDEN) fail(`hidden width ${H} at offset 9 outside 1..${MAX_POLICY_HIDDEN}`);
  const L = policyLayout(F, H, K);
  if (dv.getUint32(40, true) !== L.end || b.length !== L.end)
    fail(`length ${b.length} (header says ${dv.getUint32(40, true)}) does not match ${L.end} bytes for ${F}x${H}x${K}`);
  const stored = dv.getUint32(36, true),
    actual = crc32(b, 44);
  if (stored !== actual) fail(`CRC mismatch: stored 0x${stored.toString(16)} at offset 36, computed 0x${actual.toString(16)}`);
  const rq = (at: number): Requant => ({ multiplier: dv.getInt32(at, true), shift: dv.getInt32(at + 4, true) });
  const p: Policy = {
    channels,
    tablesId: dv.getUint32(12, true),
    lambdaQ8: dv.getInt32(16, true),
    minLevel: b[11],
    r1: rq(20),
    r2: rq(28),
    hidden: H,
    featureOffsets: Int32Array.from({ length: F }, (_, f) => dv.getInt32(L.norm + 12 * f, true)),
    featureScales: Array.from({ length: F }, (_, f) => rq(L.norm + 12 * f + 4)),
    // new Int8Array(view) copies element-wise (ToInt8): b may be a view into a larger Buffer.
    w1: new Int8Array(b.subarray(L.w1, L.w1 + H * F)),
    b1: Int32Array.from({ length: H }, (_, i) => dv.getInt32(L.b1 + 4 * i, true)),
    w2: new Int8Array(b.subarray(L.w2, L.w2 + K * H)),
    b2: Int32Array.from({ length: K }, (_, i) => dv.getInt32(L.b2 + 4 * i, true)),
  };
  validatePolicy(p, source);
  return p;
}
