import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { buildEncoder } from "../../host/build/build.ts";
import { randomModel } from "../../host/model/random-model.ts";

describe("built module", () => {
  it("validates, imports nothing but env.abort, exports the ABI, and can neither grow memory nor allocate", async () => {
    const r = await buildEncoder({ board: "gap8", model: randomModel() });
    const wabt = await wabtInit();
    const mod = wabt.readWasm(new Uint8Array(r.wasm), { readDebugNames: true });
    mod.validate();
    const text = mod.toText({ foldExprs: false, inlineExport: false });
    mod.destroy();
    const imports = [...text.matchAll(/\(import "([^"]+)" "([^"]+)"/g)].map((m) => `${m[1]}.${m[2]}`);
    expect(imports.filter((i) => i !== "env.abort")).toEqual([]);
    const exports = [...text.matchAll(/\(export "([^"]+)"/g)].map((m) => m[1]);
    for (const e of ["memory", "tp_init", "tp_push_row", "tp_row_ptr", "tp_latent_ptr", "tp_latent_len", "tp_ready", "tp_abi_version"])
      expect(exports).toContain(e);
    // No allocator and no growth anywhere in the module, so none is reachable from the exports.
    expect(text).not.toMatch(/memory\.grow/);
    expect(exports.some((e) => /alloc|__new|__pin|__collect/.test(e))).toBe(false);
    // Fixed memory: initial == maximum.
    expect(text).toMatch(/\(memory \(;0;\) 1 1\)/);
  });
});
