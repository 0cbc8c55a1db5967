import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadBoards, getBoard } from "../../host/core/boards.ts";
import { planArena, ArenaOverflowError } from "../../host/build/memory-map/planner.ts";
import { randomModel } from "../../host/model/random-model.ts";
import * as layout from "../../host/build/memory-map/plan-layout.ts";
import { buildEncoder, BuildError } from "../../host/build/build.ts";
import { renderMapText } from "../../host/build/memory-map/render.ts";
import { repoPath } from "../../host/core/paths.ts";

describe("arena planner", () => {
  it("fits the default model at 320x240 RGB565 in one 64 KiB page on every board", () => {
    for (const board of loadBoards()) {
      const map = planArena({ model: randomModel(), board, width: 320, height: 240, format: "rgb565" });
      expect(map.arenaBytes).toBeLessThanOrEqual(65536);
      expect(map.headroomBytes).toBe(board.memory.arenaBudgetBytes - map.arenaBytes);
    }
  });

  it("lays out non-overlapping, aligned regions inside the arena", () => {
    const map = planArena({ model: randomModel(), board: getBoard("gap8"), width: 324, height: 244, format: "gray8" });
    const sorted = [...map.regions].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].offset).toBeGreaterThanOrEqual(sorted[i - 1].offset + sorted[i - 1].size);
    for (const r of map.regions) expect(r.offset % 4).toBe(0);
    expect(sorted.at(-1)!.offset + sorted.at(-1)!.size).toBeLessThanOrEqual(map.arenaBytes);
    // Streaming: line buffers hold only kernel rows, never a whole frame.
    const lines = map.regions.filter((r) => r.kind === "line-buffer");
    expect(lines.map((r) => r.size)).toEqual([5 * 324 * 3, 3 * 81 * 16]);
    expect(renderMapText(map)).toMatch(/layer0\.lines .*5 input rows x 324 px x 3 ch/);
  });

  it("fails an oversized model with the region and bytes over budget", () => {
    const big = randomModel({
      layers: [
        { kernel: 7, stride: 1, padding: 3, outChannels: 64, activation: "relu" },
        { kernel: 3, stride: 1, padding: 1, outChannels: 32, activation: "latent" },
      ],
    });
    let err: unknown;
    try {
      planArena({ model: big, board: getBoard("gap8"), width: 324, height: 244, format: "gray8" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ArenaOverflowError);
    const e = err as ArenaOverflowError;
    expect(e.region).toBe("layer1.lines");
    expect(e.message).toMatch(/arena for gap8 does not fit: \d+ bytes needed, budget 98304 bytes \(\d+ bytes over\); region "layer1\.lines"/);
    expect(e.overBytes).toBeGreaterThan(0);
  });

  it("the build surfaces the same error", async () => {
    const big = randomModel({ layers: [{ kernel: 3, stride: 1, padding: 1, outChannels: 8, activation: "latent" }] });
    await expect(buildEncoder({ board: "gap8", model: big })).rejects.toThrow(/does not fit.*region "latent"/s);
  });

  it("plan word layout agrees with assembly/plan.ts", () => {
    const src = readFileSync(repoPath("assembly", "plan.ts"), "utf8");
    const as = new Map([...src.matchAll(/export const (\w+): i32 = (0x[0-9a-f]+|\d+);/g)].map((m) => [m[1], Number(m[2])]));
    expect(as.get("PLAN_MAGIC")).toBe(layout.PLAN_MAGIC);
    expect(as.get("PLAN_HEADER_WORDS")).toBe(layout.PLAN_HEADER_WORDS);
    expect(as.get("PLAN_LAYER_WORDS")).toBe(layout.PLAN_LAYER_WORDS);
    expect(as.get("STATE_LAYER_WORDS")).toBe(layout.STATE_LAYER_WORDS);
    const snake = (s: string) => s.replace(/([A-Z])/g, "_$1").toUpperCase();
    for (const [k, v] of Object.entries(layout.H)) if (k !== "version" && !/^zp[12]$/.test(k)) expect(as.get("H_" + snake(k)), k).toBe(v);
    for (const [k, v] of Object.entries(layout.L)) expect(as.get("L_" + snake(k)), k).toBe(v);
    expect(as.get("ACT_RELU")).toBe(layout.ACTIVATION_CODE.relu);
  });
});

describe("builds", () => {
  it("every board builds with its default camera and a fixed memory", async () => {
    for (const board of loadBoards()) {
      const r = await buildEncoder({ board, model: randomModel() });
      expect(r.map.arenaBytes).toBeLessThanOrEqual(board.memory.arenaBudgetBytes);
      expect(r.memoryPages).toBe(1);
      expect(r.moduleBytes).toBeGreaterThan(1000);
    }
  });

  it("rejects a planned frame smaller than the receptive field", async () => {
    const unpadded = randomModel({ layers: [{ kernel: 4, stride: 2, padding: 0, outChannels: 4, activation: "latent" }] });
    await expect(buildEncoder({ board: "k210", model: unpadded, width: 3, height: 3 })).rejects.toThrow(/frame 3x3 is too small for layer 0/);
  });
});

export { BuildError };
