import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { instrument, type CostTable } from "../../host/profile/instrument.ts";
import { CATEGORIES, type Category } from "../../host/profile/categories.ts";
import { buildEncoder } from "../../host/build/build.ts";
import { EncoderInstance } from "../../host/runtime/encoder-instance.ts";
import { randomModel } from "../../host/model/random.ts";
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

async function run(wasm: Uint8Array, fn: string, arg: number) {
  const ins = instrument(wasm, { costTable: TABLE, trackDepth: true });
  const { instance } = await WebAssembly.instantiate(ins.wasm as Uint8Array<ArrayBuffer>) as unknown as { instance: WebAssembly.Instance };
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
    expect(a.functions.some((f) => f.endsWith("convRow"))).toBe(true);
  });
});
