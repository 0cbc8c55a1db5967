// The AOT cost models' calibration against counted instructions (host/build/profile/native-calibration.ts)
// and the energy arithmetic (host/eval/energy.ts): pure functions, no QEMU.
import { describe, expect, it } from "vitest";
import { getBoard } from "../../host/core/boards.ts";
import { fitScales, type CountedSample } from "../../host/build/profile/native-calibration.ts";
import { AOT_SCALES, NATIVE_CPI, costTable, rawCostTable } from "../../host/build/profile/cost-models.ts";
import { CORE_ENERGY, RADIO_LINKS, computeJoules, radioJoules, radioLink } from "../../host/eval/energy.ts";

describe("cost-model calibration against counts", () => {
  const board = getBoard("gap8");
  const raw = rawCostTable(board.costModel, "aot");
  const cycles = (c: Record<string, number>, t: Record<string, number>) => Object.entries(c).reduce((s, [k, v]) => s + v * t[k], 0);
  // Two kinds of workload, as in the bench: load-heavy (convolution) and ALU-heavy (DCT).
  const mixes = [
    { alu32: 8e7, load8: 5.5e7, mul32: 3.4e7, br: 1.1e7, local: 1.8e8 },
    { alu32: 8.2e7, load8: 5.6e7, mul32: 3.5e7, br: 1.0e7, local: 1.7e8 },
    { alu32: 9e6, load8: 3e5, mul32: 1.2e6, br: 7e5, local: 1e7 },
    { alu32: 9.1e6, load8: 3.2e5, mul32: 1.1e6, br: 7.2e5, local: 1.05e7 },
  ];
  const sample = (counts: Record<string, number>, trueScale: number[]): CountedSample => {
    const t = { ...raw } as Record<string, number>;
    t.alu32 *= trueScale[0];
    t.local *= trueScale[0];
    t.mul32 *= trueScale[1];
    t.load8 *= trueScale[2];
    t.br *= trueScale[3];
    const counted = cycles(counts, t) / NATIVE_CPI[board.costModel].cpi;
    return { board: "gap8", workload: "w", counts, counted, modelBefore: cycles(counts, raw), modelAfter: 0, modelPerShape: 0, fit: true };
  };

  it("closes most of the gap with positive scales, and reports the error before and after", () => {
    const samples = mixes.map((m) => sample(m, [1.2, 0.8, 0.4, 1.1]));
    const fit = fitScales(board, samples);
    expect(Object.values(fit.scales).every((v) => v > 0)).toBe(true);
    const worst = (e: number[]) => Math.max(...e.map(Math.abs));
    expect(worst(fit.after)).toBeLessThan(worst(fit.before) / 2);
    expect(worst(fit.after)).toBeLessThan(0.1);
  });

  it("changes nothing when the model already matches", () => {
    const fit = fitScales(
      board,
      mixes.map((m) => sample(m, [1, 1, 1, 1])),
    );
    for (const v of Object.values(fit.scales)) expect(v).toBeCloseTo(1, 6);
    for (const e of fit.after) expect(Math.abs(e)).toBeLessThan(1e-9);
  });

  it("ships calibrated AOT tables for every core with a counted instruction set, and leaves Xtensa alone", () => {
    for (const core of ["cortex-m7", "ri5cy", "cv32e40p", "rv64gc-k210"]) {
      expect(AOT_SCALES[core]).toBeDefined();
      expect(costTable(core, "aot").load8).toBeCloseTo(rawCostTable(core, "aot").load8 * AOT_SCALES[core].memory, 9);
    }
    expect(costTable("xtensa-lx7", "aot")).toEqual(rawCostTable("xtensa-lx7", "aot"));
    expect(costTable("ri5cy", "interp")).toEqual(rawCostTable("ri5cy", "interp")); // the interpreter is calibrated by its dispatch
  });
});

describe("energy per delivered image", () => {
  it("prices compute as instructions x CPI x joules per cycle and radio as airtime x power", () => {
    expect(computeJoules(1e9, 1.3, CORE_ENERGY.gap8)).toBeCloseTo(1e9 * 1.3 * 68.6e-12, 12);
    const sf10 = radioLink("lora-sf10");
    expect(sf10.payloadBytes).toBe(51);
    expect(radioJoules(sf10, [51, 51])).toBeCloseTo(2 * sf10.airtime(51) * sf10.txWatts, 12);
    // A higher spreading factor costs more energy for the same bytes.
    expect(radioJoules(radioLink("lora-sf12"), [51])).toBeGreaterThan(radioJoules(sf10, [51]));
    expect(RADIO_LINKS.map((l) => l.name)).toEqual(["lora-sf7", "lora-sf8", "lora-sf9", "lora-sf10", "lora-sf11", "lora-sf12", "sigfox", "802154"]);
    for (const l of RADIO_LINKS) expect(l.source.length).toBeGreaterThan(20);
    for (const c of Object.values(CORE_ENERGY)) expect(c.source.length).toBeGreaterThan(20);
    expect(() => radioLink("wifi")).toThrow(/no radio link "wifi"/);
  });
});
