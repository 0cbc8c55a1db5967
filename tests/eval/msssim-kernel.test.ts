// The committed WebAssembly kernel of MS-SSIM is what its AssemblyScript source compiles to, and it
// gives bit-identical results to the scalar definition (the NumPy comparison is in metrics.test.ts).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, basename } from "node:path";
import { describe, expect, it } from "vitest";
import { KERNEL_MEMORY_LIMIT, kernelBytes, MSSSIM_KERNEL_ASC_ARGS, MSSSIM_KERNEL_SOURCE, MSSSIM_KERNEL_WASM } from "../../host/eval/msssim-kernel.ts";
import { msssim, msssimReference, msssimTerms, psnr } from "../../host/eval/metrics.ts";
import { msssimPairs } from "./msssim-pairs.ts";

describe("MS-SSIM kernel", () => {
  it("kernels/msssim.wasm is the compile of kernels/msssim.as.ts", async () => {
    const { default: asc } = await import("assemblyscript/asc");
    const src = fileURLToPath(MSSSIM_KERNEL_SOURCE);
    const outputs: Record<string, Uint8Array> = {};
    let log = "";
    const sink = {
      write(s: string | Uint8Array) {
        log += typeof s === "string" ? s : new TextDecoder().decode(s);
        return true;
      },
    };
    const { error } = await asc.main([basename(src), "--baseDir", dirname(src), ...MSSSIM_KERNEL_ASC_ARGS, "--outFile", "msssim.wasm"], {
      writeFile: (name: string, contents: string | Uint8Array) => {
        outputs[name] = typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
      },
      stdout: sink as never,
      stderr: sink as never,
    });
    expect(error, log).toBeNull();
    const built = Object.entries(outputs).find(([n]) => n.endsWith("msssim.wasm"))?.[1];
    expect(built, `asc wrote ${Object.keys(outputs).join(", ")}`).toBeDefined();
    expect(
      Buffer.from(built!).equals(readFileSync(MSSSIM_KERNEL_WASM)),
      "rebuild: npx asc msssim.as.ts --baseDir host/eval/kernels <MSSSIM_KERNEL_ASC_ARGS> --outFile msssim.wasm",
    ).toBe(true);
  });

  it("says clearly when an image is too large for the kernel's 4 GiB memory", () => {
    expect(kernelBytes(768, 512)).toBeLessThan(64 * 2 ** 20);
    expect(kernelBytes(7000, 5000)).toBeLessThan(KERNEL_MEMORY_LIMIT); // 35 MP
    expect(kernelBytes(8000, 6000)).toBeGreaterThan(KERNEL_MEMORY_LIMIT); // 48 MP
    // The size is checked before any work or allocation beyond the image itself (48 MP of zero bytes here).
    const huge = { width: 8000, height: 6000, data: new Uint8Array(8000 * 6000 * 3) };
    expect(() => msssimReference(huge)).toThrow(/8000x6000 image needs 5\.0 GiB .* more than the 4 GiB/);
  });

  it("keeps only the last few references, so a run over many images does not hold them all", async () => {
    const [a, b, c] = (await msssimPairs()).slice(1).map((p) => p.a);
    const ra = msssimReference(a);
    expect(msssimReference(a)).toBe(ra);
    msssimReference(b);
    expect(msssimReference(a)).toBe(ra); // still among the recent ones
    msssimReference(b);
    msssimReference(c);
    expect(msssimReference(a)).not.toBe(ra); // dropped, built again
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
