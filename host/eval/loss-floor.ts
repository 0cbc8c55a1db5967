// What packet loss must cost a route whatever it puts in its packets: at an i.i.d. loss rate p a route
// delivers on average (1 − p) of the bytes it sends (parity and repeats are bytes too), so its own
// no-loss curve read at (1 − p) × its mean bytes is the accuracy any packing could keep
// (docs/evaluation.md §Task table). The rest of the measured drop is the price of what was lost.
import type { TaskRow } from "./task-eval.ts";

/** Top-1 of the route's no-loss curve at `bytes`: linear between measured points, to 0 at 0 bytes, flat past the last. */
export function top1AtBytes(row: TaskRow, bytes: number): number {
  const pts = row.points
    .filter((p) => Number.isFinite(p.meanBytes) && p.delivered > 0)
    .map((p) => [p.meanBytes, p.top1] as const)
    .sort((a, b) => a[0] - b[0]);
  if (pts.length === 0) return Number.NaN;
  let [x0, y0] = [0, 0];
  for (const [x, y] of pts) {
    if (bytes <= x) return x === x0 ? y : y0 + ((y - y0) * (bytes - x0)) / (x - x0);
    [x0, y0] = [x, y];
  }
  return y0;
}

/** Per budget: top-1 points lost at `lossRate` from the missing bytes alone (NaN where the route delivered nothing). */
export function lossFloorPoints(row: TaskRow, lossRate: number): number[] {
  return row.points.map((p) =>
    p.delivered > 0 && Number.isFinite(p.meanBytes) ? 100 * (p.top1 - top1AtBytes(row, (1 - lossRate) * p.meanBytes)) : Number.NaN,
  );
}
