// How many rows each tensor of a split head must keep: replays the device's schedule (assembly/head.ts:
// depth-first, ops in order) on row counters and records, at every row written, how far back the
// slowest reader still needs. A residual add's skip tensor thus gets exactly the rows the main branch
// lags behind. Every frame height up to the planned one is replayed (the lag can differ at the bottom).
import type { HeadModel } from "../../core/head-types.ts";
import { headShapes } from "../../model/head-geometry.ts";

/**
 * Ring rows per tensor (index 0 = input) for frames up to width x height. The last tensor (the split
 * tensor) is kept whole, or with `streamOutput` only as many rows as one camera row can release: the
 * host reads them after each tp_push_row (docs/split-computing.md).
 */
export function headRingRows(m: HeadModel, width: number, height: number, streamOutput = false): number[] {
  const rows = new Array(m.ops.length + 1).fill(1);
  const perPush = { max: 1 };
  const readers = readersOf(m);
  // Every height whose bottom rows can behave differently: all small ones, and near the planned
  // height every residue of the total stride (the schedule of the rows above the bottom is the same).
  const period = m.ops.reduce((p, o) => p * (o.op === "conv" ? o.stride : 1), 1);
  const heights = new Set<number>();
  for (let h = 1; h <= Math.min(height, 64); h++) heights.add(h);
  for (let h = Math.max(1, height - 4 * period - 64); h <= height; h++) heights.add(h);
  for (const h of heights) {
    let shapes: ReturnType<typeof headShapes>;
    try {
      shapes = headShapes(m, width, h);
    } catch {
      continue;
    } // too small for the head: tp_init refuses it
    replay(
      m,
      readers,
      shapes.map((s) => s.height),
      rows,
      perPush,
    );
  }
  rows[m.ops.length] = streamOutput ? perPush.max : headShapes(m, width, height)[m.ops.length].height;
  return rows;
}

/** The ops that read each tensor, in op order (the device visits them in this order). */
function readersOf(m: HeadModel): number[][] {
  const readers: number[][] = Array.from({ length: m.ops.length + 1 }, () => []);
  m.ops.forEach((op, o) => {
    for (const t of new Set(op.op === "conv" ? [op.input] : op.inputs)) readers[t].push(o);
  });
  return readers;
}

function replay(m: HeadModel, readers: number[][], heights: number[], need: number[], perPush: { max: number }) {
  const n = m.ops.length;
  const produced = new Array(n + 1).fill(0);
  const next = new Array(n).fill(0);
  /** Lowest row of tensor t that some reader still needs (its pending output's first input row). */
  const lowestNeeded = (t: number) => {
    let low = Infinity;
    for (const o of readers[t]) {
      if (next[o] >= heights[o + 1]) continue;
      const op = m.ops[o];
      low = Math.min(low, op.op === "conv" ? Math.max(0, next[o] * op.stride - op.padding) : next[o]);
    }
    return low;
  };
  const written = (t: number) => {
    const r = produced[t] - 1; // the row just written must share the ring with every row still needed
    const low = Math.min(lowestNeeded(t), r);
    need[t] = Math.max(need[t], r - low + 1);
  };
  const ready = (o: number, oy: number) => {
    const op = m.ops[o];
    if (op.op === "conv") return Math.min(oy * op.stride - op.padding + op.kernel, heights[op.input]) <= produced[op.input];
    return produced[op.inputs[0]] > oy && produced[op.inputs[1]] > oy;
  };
  const advance = (o: number) => {
    while (next[o] < heights[o + 1] && ready(o, next[o])) {
      next[o]++;
      produced[o + 1] = next[o];
      written(o + 1);
      rowProduced(o + 1);
    }
  };
  const rowProduced = (t: number) => {
    for (const o of readers[t]) advance(o);
  };
  for (let y = 0; y < heights[0]; y++) {
    const before = produced[n];
    produced[0] = y + 1;
    written(0);
    rowProduced(0);
    perPush.max = Math.max(perPush.max, produced[n] - before);
  }
}
