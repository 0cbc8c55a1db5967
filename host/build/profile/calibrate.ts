// Calibration of a cost model against times measured on a board: fits one non-negative scale
// factor per instruction group so that predicted cycles match measured ones, by non-negative least
// squares, and reports the remaining error.
import type { Category } from "./categories.ts";
import type { CostTable } from "./instrument.ts";
import { TidepoolError } from "../../core/errors.ts";

export const GROUPS: Record<string, Category[]> = {
  alu: ["const", "local", "global", "alu32", "alu64", "select", "other"],
  muldiv: ["mul32", "mul64", "div32", "div64", "float"],
  memory: ["load8", "load16", "load32", "load64", "store8", "store16", "store32", "store64", "memory_bulk", "memory_byte"],
  control: ["br_if", "br_taken_extra", "br", "br_table", "if", "else_taken_extra", "loop", "call", "call_indirect", "return"],
};

export interface CalibrationSample {
  counts: Partial<Record<Category, number>>;
  measuredCycles: number;
}
export interface Calibration {
  scales: Record<string, number>;
  rmsRelativeError: number;
  maxRelativeError: number;
  before: { rmsRelativeError: number };
}

/** Model cycles of a sample, split by group. */
function groupCycles(s: CalibrationSample, table: CostTable): number[] {
  return Object.values(GROUPS).map((cats) => cats.reduce((sum, c) => sum + (s.counts[c] ?? 0) * table[c], 0));
}

/** Least squares on the columns in `active` via the normal equations (Gaussian elimination). */
function leastSquares(A: number[][], y: number[], active: number[]): number[] {
  const n = active.length;
  const M = active.map((j) => [...active.map((k) => A.reduce((s, r) => s + r[j] * r[k], 0)), A.reduce((s, r, i) => s + r[j] * y[i], 0)]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    if (Math.abs(M[c][c]) < 1e-300) continue;
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = M[r][c] / M[c][c];
        for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
      }
  }
  return M.map((row, i) => (Math.abs(row[i]) < 1e-300 ? 0 : row[n] / row[i]));
}

/** Non-negative least squares for a handful of variables: solve, drop the most negative, repeat. */
function nnls(A: number[][], y: number[]): number[] {
  let active = A[0].map((_, j) => j).filter((j) => A.some((r) => r[j] !== 0));
  const x = new Array(A[0].length).fill(0);
  while (active.length) {
    const sol = leastSquares(A, y, active);
    const worst = sol.reduce((w, v, i) => (v < sol[w] ? i : w), 0);
    if (sol[worst] >= 0) {
      active.forEach((j, i) => (x[j] = sol[i]));
      return x;
    }
    active = active.filter((_, i) => i !== worst);
  }
  return x;
}

export function calibrate(samples: CalibrationSample[], table: CostTable): Calibration {
  if (samples.length < 2) throw new Error("calibration needs at least two measured samples");
  // Rows are scaled by 1/measured so the fit minimises relative error.
  const A = samples.map((s) => groupCycles(s, table).map((v) => v / s.measuredCycles));
  const x = nnls(
    A,
    samples.map(() => 1),
  );
  const rel = (scales: number[]) =>
    samples.map((s) => {
      const g = groupCycles(s, table);
      return (g.reduce((sum, v, i) => sum + v * scales[i], 0) - s.measuredCycles) / s.measuredCycles;
    });
  const rms = (e: number[]) => Math.sqrt(e.reduce((s, v) => s + v * v, 0) / e.length);
  const after = rel(x);
  return {
    scales: Object.fromEntries(Object.keys(GROUPS).map((g, i) => [g, x[i]])),
    rmsRelativeError: rms(after),
    maxRelativeError: Math.max(...after.map(Math.abs)),
    before: { rmsRelativeError: rms(rel(x.map(() => 1))) },
  };
}

export class TimesFileError extends TidepoolError {
  constructor(m: string) {
    super("times-file", m);
  }
}

/**
 * Reads measured times, one per profiled image, in order: a JSON array of `{ "ms": number }` or
 * `{ "encodeUs": number }` (what the bridge reports per encode). Throws a TimesFileError naming the entry.
 */
export function parseMeasuredTimes(text: string, where: string, expected: number): number[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new TimesFileError(`${where}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new TimesFileError(`${where}: expected a JSON array of { "ms": … } or { "encodeUs": … }`);
  if (data.length !== expected) throw new TimesFileError(`${where}: ${data.length} time(s) for ${expected} image(s); give one per image, in order`);
  return data.map((e, i) => {
    const ms = typeof e?.ms === "number" ? e.ms : typeof e?.encodeUs === "number" ? e.encodeUs / 1000 : NaN;
    if (!(ms > 0) || !Number.isFinite(ms)) throw new TimesFileError(`${where}: entry ${i} needs a positive "ms" or "encodeUs", got ${JSON.stringify(e)}`);
    return ms;
  });
}
