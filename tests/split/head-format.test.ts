// Split-head model files (model file version 2): round trip, refusals naming the op, version-1 files
// still read by the encoder's reader, and the head plan layout mirrored by the device.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readHeadModel, writeHeadModel, isHeadModelFile } from "../../host/model/head-format.ts";
import { readModel, writeModel } from "../../host/model/format.ts";
import { randomHead } from "../../host/model/random-head.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { repoPath } from "../../host/core/paths.ts";
import {
  HA,
  HH,
  HO,
  HT,
  HEAD_HEADER_WORDS,
  HEAD_OP_WORDS,
  HEAD_PLAN_MAGIC,
  HEAD_STATE_TENSOR_WORDS,
  HEAD_TENSOR_WORDS,
  OP_KIND,
} from "../../host/build/memory-map/head-plan-layout.ts";
import { TidepoolError } from "../../host/core/errors.ts";

describe("split-head model file (version 2)", () => {
  it("round-trips every field", () => {
    const head = randomHead({ seed: 4 });
    const bytes = writeHeadModel(head);
    expect(isHeadModelFile(bytes)).toBe(true);
    const back = readHeadModel(bytes);
    expect(back.ops.length).toBe(head.ops.length);
    expect(writeHeadModel(back)).toEqual(bytes);
    expect(back.ops[9]).toMatchObject({ op: "add", inputs: [6, 9] });
  });

  it("version-1 files still read with the encoder's reader and are not taken for heads", () => {
    const v1 = writeModel(randomModel({ seed: 1 }));
    expect(isHeadModelFile(v1)).toBe(false);
    expect(readModel(v1).layers.length).toBe(2);
    expect(() => readHeadModel(v1)).toThrow(/version 1 at offset 4 is not a split head/);
    expect(() => readModel(writeHeadModel(randomHead({ seed: 1 })))).toThrow(/split head/);
  });

  it("refuses corrupt and inconsistent heads, naming the op", () => {
    const bytes = writeHeadModel(randomHead({ seed: 4 }));
    const bad = bytes.slice();
    bad[40] ^= 1;
    expect(() => readHeadModel(bad)).toThrow(/CRC mismatch/);
    const head = randomHead({ seed: 4 });
    (head.ops[9] as { inputs: number[] }).inputs = [6, 12];
    try {
      writeHeadModel(head);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TidepoolError);
      expect((e as TidepoolError).exitCode).toBe(2);
      expect((e as Error).message).toMatch(/op 9 \(add_9\): reads tensor 12, which is not computed before it/);
    }
  });

  it("the device's head plan constants are the host's", () => {
    const src = readFileSync(repoPath("assembly", "head-plan.ts"), "utf8");
    const dev = new Map([...src.matchAll(/^export const (\w+): i32 = (-?(?:0x)?[0-9a-fA-F]+);/gm)].map((m) => [m[1], Number(m[2])]));
    const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
    const host: Record<string, number> = {
      HEAD_PLAN_MAGIC,
      HEAD_HEADER_WORDS,
      HEAD_TENSOR_WORDS,
      HEAD_OP_WORDS,
      HEAD_STATE_TENSOR_WORDS,
      OP_CONV: OP_KIND.conv,
      OP_ADD: OP_KIND.add,
    };
    for (const [prefix, table] of [
      ["HH", HH],
      ["HT", HT],
      ["HO", HO],
      ["HA", HA],
    ] as const)
      for (const [k, v] of Object.entries(table)) if (dev.has(`${prefix}_${snake(k)}`)) host[`${prefix}_${snake(k)}`] = v;
    for (const [k, v] of dev) expect(host[k], k).toBe(v);
    expect(dev.size).toBe(Object.keys(host).length);
  });
});
