// On-device adaptive policy (docs/adaptive.md): after a frame's latent is complete, reads cheap
// features of it (per-channel code length under the ENTR tables' no-neighbour costs, per-channel mean
// symbol), runs a tiny int8 MLP that estimates, per level k (k leading channels), whether the server
// classifier will still give the full image's answer, and picks the level with the best
// estimate − λ·(share of the bytes). Integer-only; bit-exact with host/build/policy/reference.ts.
// Allocates nothing: the descriptor, cost table, PLCY payload and scratch are arena regions fixed by
// the build (policy, policy.scratch in the memory map).
import {
  PLAN_HEADER_WORDS, PLAN_LAYER_WORDS, STATE_LAYER_WORDS, H_LAYER_COUNT, H_LATENT_OFFSET, H_STATE_OFFSET,
  L_OUT_CHANNELS, S_OUT_WIDTH, S_OUT_HEIGHT, S_NEXT_OUT,
} from "./plan";
import { E_NO_POLICY, E_POLICY_LATENT_NOT_READY, E_POLICY_MISMATCH } from "./abi";

// @ts-ignore: TIDEPOOL_PLAN_OFFSET is a global introduced by asc --use
const PLAN_AT: i32 = TIDEPOOL_PLAN_OFFSET;
// Offset of the policy descriptor, set by the build when the model has a PLCY section (else 0).
// @ts-ignore: isDefined / TIDEPOOL_POLICY_OFFSET are resolved at compile time
const PD_AT: i32 = isDefined(TIDEPOOL_POLICY_OFFSET) ? TIDEPOOL_POLICY_OFFSET : 0;

// Descriptor words (host/build/policy/layout.ts writes them).
const PD_MAGIC: i32 = 0x44505054; // "TPPD"
const D_SECTION: i32 = 1;
const D_CAPACITY: i32 = 2;
const D_COSTS: i32 = 3;
const D_STRIDE: i32 = 4;
const D_SCRATCH: i32 = 5;

const POLICY_MAGIC: u32 = 0x4c505054; // "TPPL"
const POLICY_VERSION: i32 = 1;
const HEADER: i32 = 48;

// Errors (negative), see docs/adaptive.md §Device API.

@inline function planWord(i: i32): i32 { return load<i32>(PLAN_AT + (i << 2)); }
@inline function descWord(i: i32): i32 { return load<i32>(PD_AT + (i << 2)); }
function lastLayer(): i32 { return planWord(H_LAYER_COUNT) - 1; }
function lastState(i: i32): i32 { return load<i32>(planWord(H_STATE_OFFSET) + ((lastLayer() * STATE_LAYER_WORDS + i) << 2)); }

/** (acc · m + 2^(s−1)) >> s in 64-bit, arithmetic shift: the encoder's requantization. */
@inline function requant(acc: i32, m: i32, s: i32): i32 {
  return <i32>((<i64>acc * <i64>m + (<i64>1 << <i64>(s - 1))) >> <i64>s);
}
@inline function clampI(v: i32, lo: i32, hi: i32): i32 { return v < lo ? lo : v > hi ? hi : v; }

let lastLevel: i32 = 0;

/** Offset of the PLCY payload in the arena (the bridge writes a new one there), or 0 without a policy. */
export function tp_policy_ptr(): i32 { return PD_AT != 0 && descWord(0) == PD_MAGIC ? descWord(D_SECTION) : 0; }
/** Bytes reserved for the payload: a new policy must have the same shape (its length ≤ this). */
export function tp_policy_capacity(): i32 { return PD_AT != 0 && descWord(0) == PD_MAGIC ? descWord(D_CAPACITY) : 0; }
/** Offset of the last run's features (i32 × F), then the fractions (i32 × C) and probabilities (i32 × C). */
export function tp_policy_scratch(): i32 { return PD_AT != 0 && descWord(0) == PD_MAGIC ? descWord(D_SCRATCH) : 0; }
/** Level chosen by the last tp_policy_choose (0 before one). */
export function tp_policy_level(): i32 { return lastLevel; }

/** Checks the installed payload's header against this module's latent; 0 or a negative error. */
export function tp_policy_check(): i32 {
  if (PD_AT == 0 || descWord(0) != PD_MAGIC) return E_NO_POLICY;
  const p = descWord(D_SECTION);
  if (load<u32>(p) != POLICY_MAGIC || <i32>load<u16>(p, 4) != POLICY_VERSION) return E_NO_POLICY;
  const C = load<i32>(PLAN_AT + ((PLAN_HEADER_WORDS + lastLayer() * PLAN_LAYER_WORDS + L_OUT_CHANNELS) << 2));
  const pc = <i32>load<u16>(p, 6), F = <i32>load<u8>(p, 8), H = <i32>load<u8>(p, 9), K = <i32>load<u8>(p, 10);
  if (pc != C || F != 2 * C || K != C || H < 1 || load<i32>(p, 40) > descWord(D_CAPACITY)) return E_POLICY_MISMATCH;
  const minLevel = <i32>load<u8>(p, 11);
  if (minLevel < 1 || minLevel > C) return E_POLICY_MISMATCH;
  return 0;
}

/**
 * Runs the policy on the latent just encoded; returns the level (leading channels to send, 1..C) or
 * a negative error. Cost: one table lookup and two adds per latent symbol, then a 2C×H×C MLP.
 */
export function tp_policy_choose(): i32 {
  const ok = tp_policy_check();
  if (ok < 0) return ok;
  const outH = lastState(S_OUT_HEIGHT);
  if (outH <= 0 || lastState(S_NEXT_OUT) != outH) return E_POLICY_LATENT_NOT_READY;
  const p = descWord(D_SECTION), costs = descWord(D_COSTS), stride = descWord(D_STRIDE), scratch = descWord(D_SCRATCH);
  const C = <i32>load<u16>(p, 6), F = 2 * C, H = <i32>load<u8>(p, 9);
  const plane = lastState(S_OUT_WIDTH) * outH;
  const latent = planWord(H_LATENT_OFFSET);
  const feat = scratch, frac = scratch + (F << 2), prob = frac + (C << 2), hid = prob + (C << 2);

  // Features: code length (Q8 bits/symbol) and mean symbol (Q8) per channel.
  let total: i64 = 0;
  for (let c = 0; c < C; c++) {
    const row = costs + c * stride;
    let bits: i32 = 0, sum: i32 = 0;
    const from = latent + c * plane, to = from + plane;
    for (let a = from; a < to; a++) {
      const s = <i32>load<u8>(a);
      bits += <i32>load<u8>(row + s);
      sum += s;
    }
    store<i32>(feat + (c << 2), <i32>((<i64>bits * 16) / <i64>plane));
    store<i32>(feat + ((C + c) << 2), <i32>((<i64>sum * 256) / <i64>plane));
    store<i32>(frac + (c << 2), bits); // raw bits for now; turned into the cumulative share below
    total += <i64>bits;
  }
  let cum: i64 = 0;
  for (let k = 0; k < C; k++) {
    cum += <i64>load<i32>(frac + (k << 2));
    store<i32>(frac + (k << 2), total > 0 ? <i32>((cum * 256) / total) : ((k + 1) * 256) / C);
  }

  // Normalise to int8 into x (after the hidden layer's words), keeping the raw features readable.
  const norm = p + HEADER;
  const w1 = norm + 12 * F;
  const b1 = w1 + ((H * F + 3) & ~3);
  const w2 = b1 + (H << 2);
  const b2 = w2 + ((C * H + 3) & ~3);
  const x = hid + (H << 2);
  for (let f = 0; f < F; f++) {
    const e = norm + 12 * f;
    store<i32>(x + (f << 2), clampI(requant(load<i32>(feat + (f << 2)) - load<i32>(e), load<i32>(e, 4), load<i32>(e, 8)), -128, 127));
  }
  const m1 = load<i32>(p, 20), s1 = load<i32>(p, 24), m2 = load<i32>(p, 28), s2 = load<i32>(p, 32);
  for (let j = 0; j < H; j++) {
    let acc = load<i32>(b1 + (j << 2));
    const wr = w1 + j * F;
    for (let f = 0; f < F; f++) acc += <i32>load<i8>(wr + f) * load<i32>(x + (f << 2));
    store<i32>(hid + (j << 2), clampI(requant(acc, m1, s1), 0, 127));
  }
  const lambda = load<i32>(p, 16), minLevel = <i32>load<u8>(p, 11);
  let best = minLevel, bestScore: i32 = i32.MIN_VALUE;
  for (let k = 0; k < C; k++) {
    let acc = load<i32>(b2 + (k << 2));
    const wr = w2 + k * H;
    for (let j = 0; j < H; j++) acc += <i32>load<i8>(wr + j) * load<i32>(hid + (j << 2));
    const pk = clampI(requant(acc, m2, s2), 0, 256);
    store<i32>(prob + (k << 2), pk);
    if (k + 1 >= minLevel) {
      const score = pk - ((lambda * load<i32>(frac + (k << 2)) + 128) >> 8);
      if (score > bestScore) { bestScore = score; best = k + 1; }
    }
  }
  lastLevel = best;
  return best;
}
