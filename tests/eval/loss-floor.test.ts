import { describe, expect, it } from "vitest";
import { lossFloorPoints, top1AtBytes } from "../../host/eval/loss-floor.ts";
import type { TaskRow } from "../../host/eval/task-eval.ts";

const cell = (budget: number, meanBytes: number, top1: number, delivered = 10) => ({ budget, top1, top5: top1, kept: top1, delivered, meanBytes });
const row: TaskRow = { name: "r", settings: "", points: [cell(500, 400, 0.1), cell(1000, 800, 0.3), cell(2000, 1600, 0.5)] };

describe("loss floor", () => {
  it("reads the no-loss curve between measured points, to zero at zero bytes and flat past the last", () => {
    expect(top1AtBytes(row, 1200)).toBeCloseTo(0.4, 12);
    expect(top1AtBytes(row, 200)).toBeCloseTo(0.05, 12);
    expect(top1AtBytes(row, 5000)).toBe(0.5);
  });

  it("gives the points a route loses from delivering (1 - p) of its bytes, and none where it delivered nothing", () => {
    const floor = lossFloorPoints({ ...row, points: [...row.points, cell(3000, Number.NaN, 0, 0)] }, 0.25);
    // 0.75 × 1600 = 1200 B reads 0.4: 10 points below 0.5; 0.75 × 800 = 600 B reads 0.2: 10 points below 0.3.
    expect(floor.slice(0, 3).map((x) => Number(x.toFixed(9)))).toEqual([2.5, 10, 10]);
    expect(floor[3]).toBeNaN();
  });
});
