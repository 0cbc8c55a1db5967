import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { instrument, type CostTable } from "../../host/build/profile/instrument.ts";
import { CATEGORIES, type Category } from "../../host/build/profile/categories.ts";
import { buildEncoder } from "../../host/build/build.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";

const SUM = `(module
 (func $sum (export "sum") (param $n i32) (result i32) (local $acc i32)
  (block $done
   (loop $top
    (br_if $done (i32.eqz (local.get $n)))
    (local.set $acc (i32.add (local.get $acc) (local.get $n)))
    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
    (br $top)))
  (local.get $acc))
 (func $abs (export "abs") (param $x i32) (result i32)
  (if (result i32) (i32.lt_s (local.get $x) (i32.const 0))
   (then (i32.sub (i32.const 0) (local.get $x)))
   (else (local.get $x)))))`;

const BULK = `(module
 (memory (export "memory") 1)
 (func (export "bulk") (param $n i32)
  (memory.copy (i32.const 500) (i32.const 0) (local.get $n))
  (memory.fill (i32.const 800) (i32.const 7) (i32.add (local.get $n) (i32.const 1)))))`;

/** A table giving each category a distinct power of two, so any miscount shows in the total. */
const TABLE = Object.fromEntries(CATEGORIES.map((k, i) => [k, 2 ** (i % 16)])) as CostTable;
const cost = (counts: Partial<Record<Category, number>>) => Object.entries(counts).reduce((s, [k, v]) => s + TABLE[k as Category] * v, 0);

async function wat2wasm(src: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const m = wabt.parseWat("t.wat", src);
  const { buffer } = m.toBinary({});
  m.destroy();
  return new Uint8Array(buffer);
}

async function instantiate(wasm: Uint8Array) {
  const ins = instrument(wasm, { costTable: TABLE });
  const { instance } = (await WebAssembly.instantiate(ins.wasm as Uint8Array<ArrayBuffer>)) as unknown as { instance: WebAssembly.Instance };
  return { ins, ex: instance.exports as Record<string, any> };
}

async function run(wasm: Uint8Array, fn: string, arg: number) {
  const ins = instrument(wasm, { costTable: TABLE, trackDepth: true });
  const { instance } = (await WebAssembly.instantiate(ins.wasm as Uint8Array<ArrayBuffer>)) as unknown as { instance: WebAssembly.Instance };
  const ex = instance.exports as Record<string, any>;
  const result = ex[fn](arg);
  return { result, cost: Number(ex.__cost.value), depth: ex.__max_depth.value, ins };
}

describe("cycle-counting instrumentation", () => {
  it("counts a loop exactly as computed by hand (taken and not-taken branches apart)", async () => {
    const wasm = await wat2wasm(SUM);
    const r = await run(wasm, "sum", 3);
    expect(r.result).toBe(6);
    // n = 3: the exit test runs 4 times (taken once), the loop body 3 times.
    expect(r.cost).toBe(cost({ local: 4 * 1 + 3 * 5 + 1, alu32: 4 + 3 * 2, br_if: 4, br_taken_extra: 1, const: 3, br: 3, loop: 1 }));
    expect(r.depth).toBe(1);
  });

  it("counts both arms of an if/else", async () => {
    const wasm = await wat2wasm(SUM);
    expect((await run(wasm, "abs", -5)).cost).toBe(cost({ local: 2, const: 2, alu32: 2, if: 1, br: 1 }));
    expect((await run(wasm, "abs", 7)).cost).toBe(cost({ local: 2, const: 1, alu32: 1, if: 1, else_taken_extra: 1 }));
  });

  it("prices memory.copy / memory.fill per byte moved, counted at run time, without changing what they do", async () => {
    const wasm = await wat2wasm(BULK);
    for (const n of [0, 5, 300]) {
      const plain = (await WebAssembly.instantiate(wasm as Uint8Array<ArrayBuffer>)).instance.exports as Record<string, any>;
      const { ins, ex } = await instantiate(wasm);
      new Uint8Array(plain.memory.buffer).set(Uint8Array.from({ length: 1000 }, (_, i) => i * 13));
      new Uint8Array(ex.memory.buffer).set(Uint8Array.from({ length: 1000 }, (_, i) => i * 13));
      plain.bulk(n);
      ex.bulk(n);
      expect(new Uint8Array(ex.memory.buffer)).toEqual(new Uint8Array(plain.memory.buffer));
      const bytes = n + (n + 1);
      expect(Number(ex.__cost.value)).toBe(cost({ const: 5, local: 2, alu32: 1, memory_bulk: 2 }) + bytes * TABLE.memory_byte);
      expect(ins.bulkSites.length).toBe(2);
      expect(Number(ex.__bulk_bytes0.value) + Number(ex.__bulk_bytes1.value)).toBe(bytes);
      expect(Number(ex.__bulk_cost0.value) + Number(ex.__bulk_cost1.value)).toBe(bytes * TABLE.memory_byte);
    }
  });

  it("charges fractional per-byte costs in 1/16 cycle steps, rounded down per call", async () => {
    const table = { ...TABLE, memory_byte: 0.75 }; // 12/16
    const ins = instrument(await wat2wasm(BULK), { costTable: table });
    const ex = (await WebAssembly.instantiate(ins.wasm as Uint8Array<ArrayBuffer>)).instance.exports as Record<string, any>;
    ex.bulk(5); // copy 5 B: (5*12)>>4 = 3; fill 6 B: (6*12)>>4 = 4
    expect(Number(ex.__bulk_cost0.value)).toBe(3);
    expect(Number(ex.__bulk_cost1.value)).toBe(4);
  });

  it("the instrumented module validates (wabt), is deterministic and computes the same outputs", async () => {
    const built = await buildEncoder({ board: "gap8", model: randomModel({ seed: 3 }), width: 64, height: 48, withNames: true });
    const a = instrument(built.wasm, { costTable: TABLE, trackDepth: true });
    const b = instrument(built.wasm, { costTable: TABLE, trackDepth: true });
    expect(Buffer.from(a.wasm).equals(Buffer.from(b.wasm))).toBe(true);
    const wabt = await wabtInit();
    const m = wabt.readWasm(new Uint8Array(a.wasm), {});
    m.validate();
    m.destroy();
    const frame = packFrame(randomRgb(8, 64, 48), 64, 48, "gray8");
    const plain = await EncoderInstance.load(built.wasm);
    const counted = await EncoderInstance.load(a.wasm);
    expect(counted.encode(frame, 64, 48, "gray8").data).toEqual(plain.encode(frame, 64, 48, "gray8").data);
    const c1 = Number((counted.exports as any).__cost.value);
    counted.encode(frame, 64, 48, "gray8");
    expect(Number((counted.exports as any).__cost.value)).toBe(2 * c1); // same frame, same count
    expect(a.functions.some((f) => f === "~lib/tidepool-kernels/conv_layer0")).toBe(true); // the specialised kernels' functions keep their names
  });
});
