// The committed WebAssembly kernel of MS-SSIM is what its AssemblyScript source compiles to, and it
// gives bit-identical results to the scalar definition (the NumPy comparison is in metrics.test.ts).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, basename } from "node:path";
import { describe, expect, it } from "vitest";
import { MSSSIM_KERNEL_ASC_ARGS, MSSSIM_KERNEL_SOURCE, MSSSIM_KERNEL_WASM } from "../../host/eval/msssim-kernel.ts";
import { msssim, msssimReference, msssimTerms, psnr } from "../../host/eval/metrics.ts";
import { msssimPairs } from "./msssim-pairs.ts";

describe("MS-SSIM kernel", () => {
  it("kernels/msssim.wasm is the compile of kernels/msssim.as.ts", async () => {
    const { default: asc } = await import("assemblyscript/asc");
    const src = fileURLToPath(MSSSIM_KERNEL_SOURCE);
    const outputs: Record<string, Uint8Array> = {};
    let log = "";
    const sink = { write(s: string | Uint8Array) { log += typeof s === "string" ? s : new TextDecoder().decode(s); return true; } };
    const { error } = await asc.main([basename(src), "--baseDir", dirname(src), ...MSSSIM_KERNEL_ASC_ARGS, "--outFile", "msssim.wasm"], {
      writeFile: (name: string, contents: string | Uint8Array) => { outputs[name] = typeof contents === "string" ? new TextEncoder().encode(contents) : contents; },
      stdout: sink as never, stderr: sink as never,
    });
    expect(error, log).toBeNull();
    const built = Object.entries(outputs).find(([n]) => n.endsWith("msssim.wasm"))?.[1];
    expect(built, `asc wrote ${Object.keys(outputs).join(", ")}`).toBeDefined();
    expect(Buffer.from(built!).equals(readFileSync(MSSSIM_KERNEL_WASM)), "rebuild: npx asc msssim.as.ts --baseDir host/eval/kernels <MSSSIM_KERNEL_ASC_ARGS> --outFile msssim.wasm").toBe(true);
  });

  it("a cached reference gives the same terms and PSNR as a fresh computation, whatever was compared before (resident slots)", async () => {
    const pairs = (await msssimPairs()).slice(1); // three sizes, all small
    const fresh = pairs.map((p) => msssim(p.a, p.b));
    // Interleave references of different sizes so the kernel re-lays out and reloads its slots.
    for (let round = 0; round < 2; round++)
      pairs.forEach((p, i) => {
        expect(msssimReference(p.a).msssim(p.b)).toBe(fresh[i]);
        expect(msssimReference(p.a).terms(p.b)).toEqual(msssimTerms(p.a, p.b));
        expect(msssimReference(p.a).psnr(p.b)).toBe(psnr(p.a, p.b));
      });
  });
});
