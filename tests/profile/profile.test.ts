import { describe, expect, it } from "vitest";
import { getBoard, loadBoards } from "../../host/core/boards.ts";
import { buildEncoder } from "../../host/build/build.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { profileWorkload } from "../../host/build/profile/profile.ts";
import { encoderWorkload } from "../../host/build/profile/encoder-workload.ts";
import { calibrate, parseMeasuredTimes } from "../../host/build/profile/calibrate.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { costTable } from "../../host/build/profile/cost-models.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import { runCliInProcess } from "../helpers/cli.ts";
import { samplePhotos } from "../../host/image/samples.ts";

describe("profiling", () => {
  it("gives deterministic cycles for every board and runtime, interp above aot", async () => {
    const frame = packFrame(randomRgb(2, 64, 48), 64, 48, "rgb565");
    for (const board of loadBoards()) {
      const built = await buildEncoder({ board, model: randomModel({ seed: 4 }), width: 64, height: 48, format: "rgb565", withNames: true });
      const aot = await profileWorkload(encoderWorkload(built, [frame]), board, "aot");
      const again = await profileWorkload(encoderWorkload(built, [frame]), board, "aot");
      const interp = await profileWorkload(encoderWorkload(built, [frame]), board, "interp");
      expect(again.cycles).toBe(aot.cycles);
      expect(interp.cycles).toBeGreaterThan(aot.cycles * 3);
      expect(interp.instructions).toBe(aot.instructions);
      // Specialised kernels by default: one function per conv layer, each reported per MAC.
      expect(aot.functions[0].name).toMatch(/^kernels\/conv_layer\d$/);
      expect(aot.layers!.map((l) => l.name)).toEqual(["layer 0: 5x5/4 3->16", "layer 1: 3x3/2 16->12"]);
      expect(aot.layers!.reduce((s, l) => s + l.cyclesPerFrame, 0)).toBeLessThanOrEqual(aot.cyclesPerFrame);
      // Equal up to floating-point summation order (per-shape pricing rescales the layers' functions).
      expect(aot.functions.reduce((s, f) => s + f.cycles, 0) / aot.cycles).toBeCloseTo(1, 12);
      expect(aot.arenaHighWaterBytes).toBeGreaterThan(0);
      expect(aot.arenaHighWaterBytes).toBeLessThanOrEqual(built.map.arenaBytes);
      expect(aot.maxCallDepth).toBeGreaterThanOrEqual(3); // export -> rowArrived -> rowArrived (layer 2)
      expect(aot.ms).toBeCloseTo((aot.cycles / board.cpu.clockHz) * 1000, 6);
    }
  });

  it("calibration recovers known per-group scale factors and reports the residual", () => {
    const table = costTable("ri5cy", "aot");
    const truth = { alu: 1.3, muldiv: 0.7, memory: 2.0, control: 1.1 };
    const samples = [
      { alu32: 1e6, mul32: 2e5, load8: 3e5, br: 1e5 },
      { alu32: 5e5, mul32: 4e5, load8: 1e5, br: 3e5 },
      { alu32: 2e6, mul32: 1e5, load8: 6e5, br: 2e5 },
      { alu32: 8e5, mul32: 3e5, load8: 2e5, br: 5e5 },
    ].map((counts) => ({
      counts,
      measuredCycles:
        counts.alu32 * table.alu32 * truth.alu +
        counts.mul32 * table.mul32 * truth.muldiv +
        counts.load8 * table.load8 * truth.memory +
        counts.br * table.br * truth.control,
    }));
    const c = calibrate(samples, table);
    for (const [k, v] of Object.entries(truth)) expect(c.scales[k]).toBeCloseTo(v, 3);
    expect(c.rmsRelativeError).toBeLessThan(1e-6);
    expect(c.before.rmsRelativeError).toBeGreaterThan(0.1);
  });

  it("reads measured times (ms or the bridge's encodeUs) and names the bad entry", () => {
    expect(parseMeasuredTimes('[{"ms": 12.5}, {"encodeUs": 8000}]', "t.json", 2)).toEqual([12.5, 8]);
    expect(() => parseMeasuredTimes("[{", "t.json", 1)).toThrow(/t\.json: not JSON/);
    expect(() => parseMeasuredTimes('[{"ms": 1}]', "t.json", 2)).toThrow(/1 time\(s\) for 2 image/);
    expect(() => parseMeasuredTimes('[{"ms": 1}, {"ms": -3}]', "t.json", 2)).toThrow(/entry 1 needs a positive/);
  });

  it("`tidepool profile --calibrate` fits the model to measured times", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tp-cal-"));
    try {
      const times = join(dir, "times.json");
      writeFileSync(times, JSON.stringify([{ ms: 3 }, { encodeUs: 2500 }]));
      const [a, b] = samplePhotos();
      const r = await runCliInProcess(["profile", "--board", "gap8", "--codec", "jpeg", "--frame", "64x48", "--calibrate", times, a, b, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const cal = JSON.parse(r.stdout).calibration;
      expect(Object.keys(cal.scales)).toEqual(["alu", "muldiv", "memory", "control"]);
      expect(cal.rmsRelativeError).toBeLessThanOrEqual(cal.before.rmsRelativeError);
      writeFileSync(times, '[{"ms": 3}]');
      const bad = await runCliInProcess(["profile", "--board", "gap8", "--codec", "jpeg", "--frame", "64x48", "--calibrate", times, a, b]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/times\.json: 1 time\(s\) for 2 image/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("`tidepool profile --json` prints board, runtime, cycles, ms, instructions, functions", async () => {
    const r = await runCliInProcess(["profile", "--board", "openmv-h7", "--runtime", "aot", "--frame", "64x48", samplePhotos()[0], "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ board: "openmv-h7", runtime: "aot" });
    for (const k of ["cycles", "ms", "instructions"]) expect(out[k]).toBeGreaterThan(0);
    expect(out.functions.length).toBeGreaterThan(0);
    expect(out.layers.map((l: { name: string }) => l.name)).toEqual(["layer 0: 3x3/2 3->16", "layer 1: 3x3/2 16->24", "layer 2: 3x3/2 24->12"]);
    for (const l of out.layers) expect(l.instructionsPerMac).toBeGreaterThan(1);
    const jpeg = await runCliInProcess(["profile", "--board", "gap9", "--codec", "jpeg", "--quality", "20", "--frame", "64x48", samplePhotos()[0], "--json"]);
    expect(jpeg.code, jpeg.stderr).toBe(0);
    expect(JSON.parse(jpeg.stdout).workload).toBe("jpeg-q20");
    expect((await runCliInProcess(["profile", "--board", "gap8", "--runtime", "jit", samplePhotos()[0]])).stderr).toMatch(/--runtime must be interp or aot/);
  });
});

export { getBoard };
