// The native encoder (wasm2c + GCC) on real instruction sets under QEMU, bit for bit against the host
// WASM. Needs the Debian packages in .ci/apt-packages; without them the tests fail naming the package.
import { describe, expect, it } from "vitest";
import { buildEncoder } from "../../host/build/build.ts";
import { buildDeviceJpeg } from "../../host/build/jpeg/device-jpeg.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { samplePhotos } from "../../host/image/samples.ts";
import { compareEncoderWithHost, compareJpegWithHost, runNativeEncoder, runNativeJpeg } from "../../host/build/native/run.ts";
import { MissingToolError, requireTargetTools, requireWasm2c } from "../../host/build/native/toolchain.ts";
import { NATIVE_TARGETS } from "../../host/build/native/targets.ts";
import { decodeOutput, encodeInput } from "../../host/build/native/io-format.ts";
import { runCliInProcess, runCommand } from "../helpers/cli.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const W = 64,
  H = 48;

describe("native encoder under QEMU", () => {
  it("runs a photo on Cortex-M7 bit-exact with the host WASM (latent and packets), instructions counted", async () => {
    const built = await buildEncoder({ board: "openmv-h7", width: W, height: H, runtime: "aot", withNames: true });
    const photos = samplePhotos().slice(0, 2);
    const frames = await Promise.all(photos.map(async (p) => toFrame(await loadRgb(p, { width: W, height: H }), "rgb565")));
    const spec = { width: W, height: H, format: "rgb565" as const };
    const packets = { packetBytes: 51, imageId: 9 };
    // The native build as shipped for Cortex-M7: every layer's kernel is the generated DSP code.
    const run = runNativeEncoder(built.wasm, frames, spec, { target: "m7", boundsChecks: "off", packets, simd: built.simd });
    expect(run.build.simdLayers).toEqual([0, 1, 2]);
    const check = await compareEncoderWithHost(built.wasm, frames, spec, run, packets);
    expect(check.mismatches).toEqual([]);
    expect(check.packets).toBeGreaterThan(2);
    // Counted, not modelled: millions of instructions per 64x48 frame, the same code path for both photos.
    for (const n of run.encodeInstructions) expect(n).toBeGreaterThan(1e6);
    expect(Math.abs(run.encodeInstructions[0] - run.encodeInstructions[1])).toBeLessThan(run.encodeInstructions[0] * 0.01);
    expect(run.packetInstructions.every((n) => n > 0)).toBe(true);
    expect(run.totalInstructions).toBeGreaterThan(run.encodeInstructions[0] + run.encodeInstructions[1]);
    expect(run.build.moduleSplit.code).toBeGreaterThan(1000);
    // Built with names: each layer's generated kernel is counted on its own, and they are most of the encode.
    const layers = run.layerInstructions!;
    expect(layers.length).toBe(built.model.layers.length);
    for (const n of layers) expect(n).toBeGreaterThan(0);
    const sum = layers.reduce((s, n) => s + n, 0);
    expect(sum).toBeLessThan(run.encodeInstructions[0] * 1.01);
    expect(sum).toBeGreaterThan(run.encodeInstructions[0] * 0.5);
  });

  it("swaps in the Cortex-M7 DSP kernels for any layer shape, bit-exact, fewer instructions than the wasm2c kernels", async () => {
    // A shipped-shape build: the report names the native kernels; the module is the same with or without them.
    const plain = await buildEncoder({ board: "openmv-h7", width: W, height: H, runtime: "aot", simdKernels: false });
    const shipped = await buildEncoder({ board: "openmv-h7", width: W, height: H, runtime: "aot" });
    expect(Buffer.from(shipped.wasm).equals(Buffer.from(plain.wasm))).toBe(true);
    expect(shipped.kernels.native?.map((l) => l.kernel)).toEqual(["simd", "simd", "simd"]);
    expect(plain.simd).toBeUndefined();
    expect((await buildEncoder({ board: "gap8", width: W, height: H, runtime: "aot" })).simd).toBeUndefined(); // RISC-V keeps wasm2c
    // Odd shapes: 4x4 stride 4 (the fast model's first layer), 5x5 padding 2 with 7 channels and a linear
    // output, 1x1 (one tap per row), 2x2 with 9 inputs (a pair of leftovers per row), 13 channels (blocks 7 + 6).
    const model = randomModel({
      seed: 21,
      layers: [
        { kernel: 4, stride: 4, padding: 0, outChannels: 13, activation: "relu" },
        { kernel: 5, stride: 2, padding: 2, outChannels: 7, activation: "linear" },
        { kernel: 1, stride: 1, padding: 0, outChannels: 9, activation: "relu" },
        { kernel: 2, stride: 2, padding: 1, outChannels: 5, activation: "latent" },
      ],
    });
    const w = 72,
      h = 52;
    const spec = { width: w, height: h, format: "rgb565" as const };
    for (const kernels of [
      { order: "taps" as const, lanes: 1 as const },
      { order: "window" as const, lanes: 2 as const },
    ]) {
      const built = await buildEncoder({ board: "openmv-h7", model, width: w, height: h, format: "rgb565", ...kernels, withNames: true });
      expect(built.simd?.layers.every((l) => l.kernel === "simd")).toBe(true);
      const frame = toFrame(await loadRgb(samplePhotos()[1], { width: w, height: h }), "rgb565");
      const dsp = runNativeEncoder(built.wasm, [frame], spec, { target: "m7", boundsChecks: "off", simd: built.simd });
      const w2c = runNativeEncoder(built.wasm, [frame], spec, { target: "m7", boundsChecks: "off" });
      expect(dsp.build.simdLayers).toEqual([0, 1, 2, 3]);
      expect(w2c.build.simdLayers).toEqual([]);
      expect((await compareEncoderWithHost(built.wasm, [frame], spec, dsp)).mismatches).toEqual([]);
      expect(Buffer.from(dsp.frames[0].latent!.data).equals(Buffer.from(w2c.frames[0].latent!.data))).toBe(true);
      // The DSP kernels' own functions are what the layer counts measure, and they execute fewer instructions.
      expect(dsp.layerInstructions!.every((n) => n > 0)).toBe(true);
      expect(dsp.encodeInstructions[0]).toBeLessThan(w2c.encodeInstructions[0]);
    }
    // 32-bit requantization where the range proves it; a layer whose accumulator bound does not fit int32 keeps wasm2c's kernel.
    const mixed = randomModel({
      seed: 10,
      layers: [
        { kernel: 3, stride: 2, padding: 1, outChannels: 4, activation: "relu" },
        { kernel: 3, stride: 1, padding: 1, outChannels: 4, activation: "latent" },
      ],
    });
    for (let c = 0; c < 4; c++) {
      mixed.layers[0].multiplier[c] = (c + 1) * 2 ** 27;
      mixed.layers[0].shift[c] = 40;
    }
    mixed.layers[1].bias[0] = 2 ** 31 - 1;
    const mb = await buildEncoder({ board: "openmv-h7", model: mixed, width: w, height: h, format: "rgb565", runtime: "aot" });
    expect(mb.kernels.layers[0].requant32).toBe(true);
    expect(mb.simd?.layers.map((l) => l.kernel)).toEqual(["simd", "wasm2c"]);
    expect(mb.simd?.layers[1].reason).toMatch(/does not fit int32/);
    const frame = toFrame(await loadRgb(samplePhotos()[0], { width: w, height: h }), "rgb565");
    const run = runNativeEncoder(mb.wasm, [frame], spec, { target: "m7", boundsChecks: "off", simd: mb.simd });
    expect(run.build.simdLayers).toEqual([0]);
    expect((await compareEncoderWithHost(mb.wasm, [frame], spec, run)).mismatches).toEqual([]);
  });

  it("bounds checks cost instructions but not exactness; RV32IMC and the device JPEG are bit-exact too", async () => {
    const built = await buildEncoder({ board: "gap8", width: W, height: H });
    const frame = toFrame(await loadRgb(samplePhotos()[2], { width: W, height: H }), "gray8");
    const spec = { width: W, height: H, format: "gray8" as const };
    const off = runNativeEncoder(built.wasm, [frame], spec, { target: "rv32", boundsChecks: "off" });
    const on = runNativeEncoder(built.wasm, [frame], spec, { target: "rv32", boundsChecks: "on" });
    expect((await compareEncoderWithHost(built.wasm, [frame], spec, off)).mismatches).toEqual([]);
    expect((await compareEncoderWithHost(built.wasm, [frame], spec, on)).mismatches).toEqual([]);
    expect(on.encodeInstructions[0]).toBeGreaterThan(off.encodeInstructions[0]); // the specialised kernels keep the window in locals: fewer checked loads

    const jpeg = await buildDeviceJpeg(W, 16 * 1024);
    const js = { ...spec, quality: 20 };
    const j = runNativeJpeg(jpeg.wasm, [frame], js, { target: "rv32", boundsChecks: "off" });
    expect((await compareJpegWithHost(jpeg, [frame], js, j)).mismatches).toEqual([]);
    expect(j.encodeInstructions[0]).toBeGreaterThan(0);
  });

  it("tidepool profile --runtime qemu-m7 prints counted instructions per pixel and per MAC", { timeout: 240_000 }, async () => {
    const r = await runCliInProcess(["profile", "--board", "openmv-h7", "--runtime", "qemu-m7", "--frame", `${W}x${H}`, samplePhotos()[0], "--json"]);
    expect(r.code, r.out).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.runtime).toBe("qemu-m7");
    expect(p.modelledRuntime).toBe("aot");
    expect(p.native.bitExact).toBe(true);
    expect(p.native.boundsChecks).toBe("off");
    expect(p.native.note).toMatch(/not cycles/);
    expect(p.native.instructionsPerMac).toBeGreaterThan(1);
    expect(p.native.instructionsPerPixel).toBeCloseTo(p.native.instructionsPerFrame / (W * H), 6);
    expect(p.cyclesPerFrame).toBeGreaterThan(0); // the modelled figure stays beside the counted one
    const bad = await runCliInProcess(["profile", "--board", "openmv-h7", "--runtime", "qemu-m7", "--bounds-checks", "maybe", samplePhotos()[0]]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bounds-checks must be on or off/);
  });

  it("tidepool native writes the C library, its header and its code size and RAM", async () => {
    const out = mkdtempSync(join(tmpdir(), "tidepool-native-"));
    try {
      const r = await runCliInProcess(["native", "--board", "openmv-h7", "--frame", `${W}x${H}`, "--out", out, "--json"]);
      expect(r.code, r.out).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.target).toBe("m7");
      expect(existsSync(rep.library) && existsSync(rep.header)).toBe(true);
      expect(readFileSync(rep.header, "utf8")).toMatch(/int32_t tidepool_push_row\(void\)/);
      expect(rep.flashBytes.moduleCode).toBeGreaterThan(1000);
      expect(rep.simdLayers).toEqual([0, 1, 2]);
      expect(rep.flashBytes.simdKernelWeights).toBeGreaterThan(0);
      expect(rep.ramBytes.linearMemory).toBeGreaterThanOrEqual(rep.ramBytes.arenaInUse);
      const nm = await runCommand("arm-none-eabi-nm", [rep.library]);
      expect(nm.stdout).toMatch(/ T tidepool_push_row$/m);
      expect(nm.stdout).toMatch(/ U tp_fatal$/m); // the integrator's hook
      expect(nm.stdout).toMatch(/ T tp_simd_conv_layer0$/m); // the DSP kernels travel in the library
      const esp = await runCliInProcess(["native", "--board", "esp32s3-cam", "--out", out]);
      expect(esp.code).toBe(2);
      expect(esp.stderr).toMatch(/no native target/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("names the Debian package of a missing tool", () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      expect(() => requireWasm2c()).toThrow(/install the Debian package wabt/);
      expect(() => requireTargetTools(NATIVE_TARGETS.m7)).toThrow(MissingToolError);
      expect(() => requireTargetTools(NATIVE_TARGETS.m7)).toThrow(/gcc-arm-none-eabi/);
      expect(() => requireTargetTools(NATIVE_TARGETS.rv32)).toThrow(/gcc-riscv64-unknown-elf/);
    } finally {
      process.env.PATH = path;
    }
  });

  it("rejects a truncated or foreign output file with a clear error", () => {
    const input = encodeInput({ workload: "encoder", width: 4, height: 2, format: 0, frames: [new Uint8Array(8)] });
    expect(new DataView(input.buffer).getUint32(0, true)).toBe(0x314e5054);
    expect(() => decodeOutput(new Uint8Array([1, 2, 3, 4]), "encoder", false)).toThrow(/not a Tidepool native output/);
    const truncated = new Uint8Array([0x54, 0x50, 0x4f, 0x31, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => decodeOutput(truncated, "encoder", false)).toThrow(/truncated at byte 16/);
  });
});
