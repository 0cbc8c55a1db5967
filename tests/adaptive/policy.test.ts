import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { buildEncoder, DEFAULT_GREY_MODEL_PATH } from "../../host/build/build.ts";
import { chooseLevel, costTable, latentFeatures, policyProbabilities } from "../../host/build/policy/reference.ts";
import { REGION_POLICY, REGION_POLICY_SCRATCH } from "../../host/build/policy/layout.ts";
import { parsePolicy, PolicyFormatError, policyId, serializePolicy } from "../../host/build/policy/section.ts";
import { getBoard } from "../../host/core/boards.ts";
import { readModel, writeModel } from "../../host/model/format.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import { modelWithPolicy, randomPolicy, shippedModel } from "./fixtures.ts";

describe("policy section (PLCY)", () => {
  const { tables } = shippedModel();
  const p = randomPolicy(12, tables.id, 3);

  it("round-trips, and the model file carries it", () => {
    const bytes = serializePolicy(p);
    expect(parsePolicy(bytes)).toEqual(p);
    const { model } = modelWithPolicy(3);
    const again = readModel(writeModel(model));
    expect(Buffer.from(again.policy!).equals(Buffer.from(model.policy!))).toBe(true);
  });

  it("rejects a wrong magic, a flipped byte and a truncated payload, naming the offset", () => {
    const bytes = serializePolicy(p);
    const bad = bytes.slice();
    bad[0] = 0x41;
    expect(() => parsePolicy(bad)).toThrow(/wrong magic .* at offset 0/);
    const flip = bytes.slice();
    flip[100] ^= 1;
    expect(() => parsePolicy(flip)).toThrow(/CRC mismatch/);
    expect(() => parsePolicy(bytes.subarray(0, 60))).toThrow(PolicyFormatError);
    expect(policyId(bytes)).toBe(new DataView(bytes.buffer).getUint32(36, true));
  });
});

describe("the shipped model", () => {
  it("carries a policy for its own entropy tables (read through the file's Buffer, as the CLI does)", () => {
    const { model, tables } = shippedModel();
    expect(model.policy).toBeTruthy();
    const p = parsePolicy(model.policy!, "models/default.tpm");
    expect(p).toMatchObject({ channels: 12, tablesId: tables.id });
    expect(serializePolicy(p)).toEqual(new Uint8Array(model.policy!));
  });
});

describe("the shipped grey model", () => {
  it("carries its own policy, and a GRAY8 build chooses the level the reference does", async () => {
    const grey = readModel(new Uint8Array(readFileSync(DEFAULT_GREY_MODEL_PATH)), DEFAULT_GREY_MODEL_PATH);
    const tables = modelTables(grey);
    const p = parsePolicy(grey.policy!, DEFAULT_GREY_MODEL_PATH);
    expect(p).toMatchObject({ channels: 12, tablesId: tables.id });
    const build = await buildEncoder({ board: getBoard("gap8"), model: grey, width: 96, height: 64, format: "gray8" });
    const enc = await EncoderInstance.load(build.wasm);
    const e = enc.exports as unknown as Record<string, () => number>;
    const costs = costTable(tables);
    for (let seed = 1; seed <= 3; seed++) {
      const rgb = randomRgb(seed, 96, 64);
      const latent = enc.encode(packFrame(rgb, 96, 64, "gray8"), 96, 64, "gray8");
      expect(e.tp_policy_choose()).toBe(chooseLevel(p, latentFeatures(latent, costs)));
    }
  });
});

describe("on-device policy (assembly/policy.ts)", () => {
  it("is bit-exact with the TypeScript reference: features, probabilities and level", async () => {
    const { model, tables, policy } = modelWithPolicy(5);
    const build = await buildEncoder({ board: getBoard("k210"), model, width: 160, height: 120, format: "rgb565" });
    expect(build.map.regions.map((r) => r.name)).toEqual(expect.arrayContaining([REGION_POLICY, REGION_POLICY_SCRATCH]));
    const enc = await EncoderInstance.load(build.wasm);
    const e = enc.exports as unknown as Record<string, () => number> & { memory: WebAssembly.Memory };
    expect(e.tp_policy_check()).toBe(0);
    const costs = costTable(tables);
    const levels = new Set<number>();
    for (let seed = 1; seed <= 12; seed++) {
      const latent = enc.encode(packFrame(randomRgb(seed, 160, 120), 160, 120, "rgb565"), 160, 120, "rgb565");
      // A spread of λ so the choice moves over the levels.
      const pol = { ...policy, lambdaQ8: seed * 40 };
      new DataView(e.memory.buffer).setInt32(e.tp_policy_ptr() + 16, pol.lambdaQ8, true);
      const level = e.tp_policy_choose();
      const f = latentFeatures(latent, costs);
      const C = latent.channels,
        scratch = e.tp_policy_scratch();
      const words = new Int32Array(e.memory.buffer.slice(scratch, scratch + 4 * (4 * C)));
      expect(Array.from(words.subarray(0, 2 * C))).toEqual(Array.from(f.features));
      expect(Array.from(words.subarray(2 * C, 3 * C))).toEqual(Array.from(f.fraction));
      expect(Array.from(words.subarray(3 * C, 4 * C))).toEqual(Array.from(policyProbabilities(pol, f.features)));
      expect(level).toBe(chooseLevel(pol, f));
      levels.add(level);
    }
    expect(levels.size).toBeGreaterThan(1);
  });

  it("the build refuses a policy trained for other entropy tables", async () => {
    const { model, tables } = shippedModel();
    const stale = serializePolicy(randomPolicy(12, tables.id ^ 1, 8));
    await expect(buildEncoder({ board: "k210", model: { ...model, policy: stale }, width: 96, height: 64, format: "rgb565" })).rejects.toThrow(
      /trained with entropy tables .* retrain the policy/,
    );
  });

  it("reports no policy (−30) in a module built without one, and refuses before a frame (−31)", async () => {
    const { model } = shippedModel();
    const plain = await EncoderInstance.load(
      (await buildEncoder({ board: "k210", model: { ...model, policy: null }, width: 96, height: 64, format: "rgb565" })).wasm,
    );
    expect((plain.exports as unknown as Record<string, () => number>).tp_policy_choose()).toBe(-30);
    const withP = await EncoderInstance.load(
      (await buildEncoder({ board: "k210", model: modelWithPolicy(2).model, width: 96, height: 64, format: "rgb565" })).wasm,
    );
    expect((withP.exports as unknown as Record<string, () => number>).tp_policy_choose()).toBe(-31);
  });
});
