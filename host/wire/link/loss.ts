// Packet loss models: i.i.d. and Gilbert–Elliott (two-state Markov, losses only in the bad state),
// seeded so a run is reproducible and every codec on a link sees the same loss pattern per slot.
import { LinkError } from "./presets.ts";
import { seededRandom } from "../../core/seeded-random.ts";

export type LossSpec =
  | { kind: "none" }
  | { kind: "iid"; rate: number }
  /** `rate`: long-run loss fraction; `burst`: mean length of a loss burst in packets. */
  | { kind: "ge"; rate: number; burst: number };

export function parseLoss(s: string): LossSpec {
  const parts = s.trim().split(":");
  const num = (v: string | undefined, what: string, lo: number, hi: number) => {
    const x = Number(v);
    if (v === undefined || v === "" || !Number.isFinite(x) || x < lo || x > hi) throw new LinkError(`loss "${s}": ${what} must be a number in [${lo}, ${hi}]`);
    return x;
  };
  if (parts[0] === "none" && parts.length === 1) return { kind: "none" };
  if (parts[0] === "iid" && parts.length === 2) return { kind: "iid", rate: num(parts[1], "rate", 0, 1) };
  if (parts[0] === "ge" && parts.length === 3) return { kind: "ge", rate: num(parts[1], "rate", 0, 0.99), burst: num(parts[2], "mean burst length", 1, 1e6) };
  throw new LinkError(`loss "${s}": expected none, iid:RATE or ge:RATE:BURST (e.g. iid:0.2, ge:0.2:4)`);
}

export function lossLabel(l: LossSpec): string {
  return l.kind === "none" ? "none" : l.kind === "iid" ? `iid:${l.rate}` : `ge:${l.rate}:${l.burst}`;
}

/** Loss of packet slots 0..n−1 (true = lost) for one seeded channel realisation. */
export function lossPattern(l: LossSpec, n: number, seed: number): boolean[] {
  const rand = seededRandom(seed);
  if (l.kind === "none") return new Array(n).fill(false);
  if (l.kind === "iid") return Array.from({ length: n }, () => rand() < l.rate);
  // Gilbert–Elliott: P(bad→good) = 1/burst, P(good→bad) = rate·P(bg)/(1−rate), start in the stationary state.
  const pbg = 1 / l.burst,
    pgb = (l.rate * pbg) / (1 - l.rate);
  let bad = rand() < l.rate;
  return Array.from({ length: n }, () => {
    const lost = bad;
    bad = bad ? rand() >= pbg : rand() < pgb;
    return lost;
  });
}
