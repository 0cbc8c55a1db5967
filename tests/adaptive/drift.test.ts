import { describe, expect, it } from "vitest";
import { buildEncoder } from "../../host/build/build.ts";
import { chooseLevel, costTable, latentFeatures } from "../../host/build/policy/reference.ts";
import { parsePolicy, serializePolicy } from "../../host/build/policy/section.ts";
import { trainPolicy } from "../../host/build/policy/train.ts";
import { phase, simulateDrift } from "../../host/eval/adaptive/drift-sim.ts";
import { DEFAULT_DRIFT, downlinkPlan, DriftMonitor, installPolicy, retrain, withPolicy, type PolicyExports } from "../../host/receiver/adaptive/drift.ts";
import { readModel, writeModel } from "../../host/model/format.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import { fixtureSamples, modelWithPolicy, smallOutcomes } from "./fixtures.ts";

// Training images only (tests/adaptive/fixtures): 160 day scenes, then 120 at night (darkened + noisy).
const rows = smallOutcomes();
const day = fixtureSamples(rows.filter((r) => r.scene === "day"));
const night = fixtureSamples(rows.filter((r) => r.scene === "night"));
const keptRate = (policy: Parameters<typeof chooseLevel>[0], s: typeof day) =>
  s.filter((x) => x.outcome.tpTop1[chooseLevel(policy, x) - 1] === x.outcome.tpTop1[x.outcome.tpTop1.length - 1]).length / s.length;

describe("drift loop in simulation (reference uploads → monitor → retrain → new section)", () => {
  const { policy: initial } = trainPolicy(day, { tablesId: 0x1234, lambda: 0, epochs: 200, seed: 1 });
  const dayKept = keptRate(initial, day);
  const drift = { ...DEFAULT_DRIFT, window: 40, minReferences: 20, threshold: dayKept - 0.1 };
  const stream = [...day, ...night, ...night];
  const run = simulateDrift(stream, initial, { p: 0.5, drift, seed: 4, epochs: 200 });

  it("keeps the day policy by day, retrains after the scenery change, and the kept-answer rate drops then recovers", () => {
    expect(run.events.filter((e) => e.index < day.length)).toEqual([]);
    const first = run.events.find((e) => e.index >= day.length);
    expect(first).toBeDefined();
    expect(first!.sectionBytes).toBe(serializePolicy(initial).length);
    const before = phase(run, 0, day.length);
    const dropped = phase(run, day.length, first!.index + 1);
    const after = phase(run, first!.index + 1, stream.length);
    expect(dropped.kept).toBeLessThan(before.kept - 0.05);
    expect(after.kept).toBeGreaterThanOrEqual(before.kept - 0.02);
    // Night scenes cost the classifier its answer even with every channel: the loop can only buy back what the codec keeps.
    expect(after.agreement).toBeLessThan(before.agreement);
  });

  it("the monitor estimates from references only, restarts after a retrain, and the new policy fits its shape", () => {
    const m = new DriftMonitor({ ...drift });
    expect(m.estimate()).toBeNull();
    for (const s of night.slice(0, 25))
      m.observe({
        features: s.features,
        fraction: s.fraction,
        chosen: chooseLevel(initial, s),
        agree: s.outcome.tpTop1.map((t) => (t === s.outcome.tpTop1[11] ? 1 : 0)),
      });
    expect(m.estimate()).toBeCloseTo(keptRate(initial, night.slice(0, 25)), 9);
    expect(m.needsRetrain()).toBe(true);
    const r = retrain(m, initial, { epochs: 100 });
    expect(r.trainedOn).toBe(25);
    expect(r.estimatedAgreement).toBeGreaterThanOrEqual(m.agreementOf(initial));
    expect(r.policy).toMatchObject({ channels: initial.channels, hidden: initial.hidden, lambdaQ8: initial.lambdaQ8, tablesId: initial.tablesId });
    expect(parsePolicy(r.payload)).toEqual(r.policy);
    m.retrained();
    expect(m.estimate()).toBeNull();
    expect(() => m.observe({ features: night[0].features, fraction: night[0].fraction, chosen: 13, agree: night[0].agree as number[] })).toThrow(
      /chosen level 13 outside 1..12/,
    );
    // LoRaWAN downlinks for a 1 024-byte section: 5 at DR5, 10 at DR3 (TTN's RX2), 22 at DR0.
    expect([222, 115, 51].map((p) => downlinkPlan(1024, p).downlinks)).toEqual([5, 10, 22]);
  });

  it("installs a retrained section in a running encoder module, which then chooses with it", async () => {
    const { model, tables, policy } = modelWithPolicy(4);
    const enc = await EncoderInstance.load((await buildEncoder({ board: "k210", model, width: 96, height: 64, format: "rgb565" })).wasm);
    const ex = enc.exports as unknown as PolicyExports & { tp_policy_choose(): number };
    const samples = day.map((s) => ({ ...s }));
    const retrained = trainPolicy(samples, { tablesId: tables.id, lambda: 0.3, epochs: 50, seed: 9 }).policy;
    installPolicy(ex, serializePolicy(retrained));
    const latent = enc.encode(packFrame(randomRgb(11, 96, 64), 96, 64, "rgb565"), 96, 64, "rgb565");
    expect(ex.tp_policy_choose()).toBe(chooseLevel(retrained, latentFeatures(latent, costTable(tables))));
    // A section of another shape does not fit the region: refused, the installed one stays.
    const bigger = serializePolicy(trainPolicy(samples, { tablesId: tables.id, lambda: 0.3, epochs: 5, hidden: 32 }).policy);
    expect(() => installPolicy(ex, bigger)).toThrow(/does not fit the module's 1024-byte policy region/);
    expect(ex.tp_policy_choose()).toBe(chooseLevel(retrained, latentFeatures(latent, costTable(tables))));
    // The same section can replace the one in the model file (for a re-flash).
    const file = writeModel(withPolicy(model, serializePolicy(retrained)));
    expect(parsePolicy(readModel(file).policy!)).toEqual(retrained);
    expect(policy.channels).toBe(12);
  });
});
