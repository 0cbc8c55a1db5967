// The adaptive goals of issue 12 as figures (printed by `npm run bench -- adaptive`): bytes against the
// best fixed budget at equal agreement, against AdaCompress on the device JPEG, the drift loop's
// recovery, and the policy's share of the encoder's cycles per board.
import { randomRgbFrame } from "./frames.ts";
import { loadBoards, getBoard } from "../../core/boards.ts";
import { buildEncoder } from "../../build/build.ts";
import type { Model } from "../../core/model-types.ts";
import { encoderWorkload } from "../../build/profile/encoder-workload.ts";
import { profileWorkload } from "../../build/profile/profile.ts";
import type { StrategyResult } from "./strategies.ts";

/** Bytes a curve of (bytes, agreement) points needs to reach `agreement`, linear between points of its upper hull; null above its top. */
export function bytesAtAgreement(points: { bytes: number; agreement: number }[], agreement: number): number | null {
  const pts = [...points].sort((a, b) => a.bytes - b.bytes);
  // Pareto front: more bytes only counts when it buys agreement.
  const front: typeof pts = [];
  for (const p of pts) if (!front.length || p.agreement > front[front.length - 1].agreement) front.push(p);
  if (!front.length || agreement > front[front.length - 1].agreement) return null;
  if (agreement <= front[0].agreement) return front[0].bytes;
  for (let i = 1; i < front.length; i++) {
    const a = front[i - 1],
      b = front[i];
    if (agreement <= b.agreement) return a.bytes + ((agreement - a.agreement) / (b.agreement - a.agreement)) * (b.bytes - a.bytes);
  }
  return null;
}

export interface PolicyCycles {
  board: string;
  encoderCycles: number;
  policyCycles: number;
  share: number;
}

/** Profiles one camera frame per board (AOT cost model) with the policy run after it, as the board does. */
export async function policyCycleShare(model: Model, boards = loadBoards().map((b) => b.name)): Promise<PolicyCycles[]> {
  const out: PolicyCycles[] = [];
  for (const name of boards) {
    const board = getBoard(name);
    const built = await buildEncoder({ board, model, withNames: true });
    const frame = randomRgbFrame(1, built.map.width, built.map.height, built.map.format);
    const r = await profileWorkload(encoderWorkload(built, [frame]), board, "aot");
    const policy = r.functions.filter((f) => /policy/.test(f.name)).reduce((a, f) => a + f.cycles, 0);
    out.push({ board: name, encoderCycles: r.cycles - policy, policyCycles: policy, share: policy / (r.cycles - policy) });
  }
  return out;
}

export const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
export const line = (s: StrategyResult) =>
  `${s.name.padEnd(18)} ${s.bytes.toFixed(0).padStart(6)} B  agreement ${s.agreement.toFixed(3)}${s.accuracy === null ? "" : `  top-1 acc ${s.accuracy.toFixed(3)}`}  mean level ${s.meanLevel.toFixed(2)}`;
