// Build-time specialised kernels (docs/kernels.md): bit-exact with the generic kernel, the TypeScript
// reference and the golden vectors, for the four kernel shapes (window or taps order, i32 or i64
// channel pairs, mixed per layer), every pixel format, frames smaller than planned, odd channel
// counts, and the 32-bit requantization path.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildEncoder, DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH, parseKernelMode } from "../../host/build/build.ts";
import { chooseKernels, layerNativePerMac, layerShape, perShapeModel } from "../../host/build/kernels/choice.ts";
import { NATIVE_TARGETS } from "../../host/build/native/targets.ts";
import { chooseLanes, KERNEL_VARIANTS, type KernelVariant, layerLayout, modelLayout, variantName } from "../../host/build/kernels/layout.ts";
import { readModel } from "../../host/model/format.ts";
import { randomModel, type LayerSpec } from "../../host/model/random-model.ts";
import type { Model } from "../../host/core/model-types.ts";
import { PIXEL_FORMATS, type PixelFormat } from "../../host/core/pixel-format.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { profileWorkload } from "../../host/build/profile/profile.ts";
import { encoderWorkload } from "../../host/build/profile/encoder-workload.ts";
import { getBoard } from "../../host/core/boards.ts";
import { repoPath } from "../../host/core/paths.ts";
import { modelPathForFormat, namedModel } from "../../host/core/model-registry.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import { runCli } from "../helpers/cli.ts";

const shipped = readModel(readFileSync(DEFAULT_MODEL_PATH), DEFAULT_MODEL_PATH);
const SIZES = [
  [75, 51],
  [64, 48],
  [33, 17],
  [16, 9],
] as const;

/** Encodes each size with every encoder and checks all agree with the reference; returns how many latents compared. */
function expectAllEqual(model: Model, encoders: EncoderInstance[], format: PixelFormat, sizes: ReadonlyArray<readonly [number, number]>, seed = 1): void {
  for (const [w, h] of sizes) {
    const frame = packFrame(randomRgb(seed + w, w, h), w, h, format);
    const want = referenceEncode(model, frame, w, h, format);
    for (const [k, enc] of encoders.entries()) {
      const got = enc.encode(frame, w, h, format);
      expect([got.width, got.height, got.channels]).toEqual([want.width, want.height, want.channels]);
      expect(
        got.data.findIndex((v, i) => v !== want.data[i]),
        `encoder ${k}, ${w}x${h} ${format}: first mismatching latent index`,
      ).toBe(-1);
    }
  }
}

/** Per-layer mixes of the four kernel shapes: over the three mixes, each of a model's first three layers meets three shapes. */
const MIXES: KernelVariant[][] = [
  [KERNEL_VARIANTS[0], KERNEL_VARIANTS[3], KERNEL_VARIANTS[2], KERNEL_VARIANTS[1]],
  [KERNEL_VARIANTS[2], KERNEL_VARIANTS[1], KERNEL_VARIANTS[0], KERNEL_VARIANTS[3]],
  [KERNEL_VARIANTS[3], KERNEL_VARIANTS[2], KERNEL_VARIANTS[1], KERNEL_VARIANTS[0]],
];
const mix = (model: Model, m: number): KernelVariant[] => model.layers.map((_, i) => MIXES[m][i % 4]);

async function encoders(model: Model, format: PixelFormat, [w, h]: readonly [number, number]) {
  const out: EncoderInstance[] = [];
  for (const opts of [{ kernels: "generic" as const }, { layerKernels: mix(model, 0) }, { layerKernels: mix(model, 1) }, { layerKernels: mix(model, 2) }]) {
    const b = await buildEncoder({ board: "k210", model, width: w, height: h, format, ...opts });
    expect(b.kernels.mode).toBe(opts.kernels ?? "specialised");
    out.push(await EncoderInstance.load(b.wasm, b.board));
  }
  return out;
}

describe("specialised kernels equal the generic kernel and the reference", () => {
  for (const format of PIXEL_FORMATS)
    it(`shipped model, ${format}, several frame sizes in one module (generic and three per-layer mixes of the four kernel shapes)`, async () => {
      expectAllEqual(shipped, await encoders(shipped, format, SIZES[0]), format, SIZES);
    });

  it("the golden vectors, with every kernel shape", async () => {
    const golden = JSON.parse(readFileSync(repoPath("models", "golden", "latents.json"), "utf8"));
    const v0 = golden.vectors[0];
    for (const m of [0, 2]) {
      const lanes = mix(shipped, m).map(variantName).join(", ");
      const b = await buildEncoder({ board: "gap8", model: shipped, width: v0.width, height: v0.height, format: "rgb888", layerKernels: mix(shipped, m) });
      const enc = await EncoderInstance.load(b.wasm, b.board);
      for (const v of golden.vectors) {
        const got = enc.encode(new Uint8Array(Buffer.from(v.rgb888, "base64")), v.width, v.height, "rgb888");
        expect(Buffer.from(got.data).equals(Buffer.from(v.latent.symbols, "base64")), `${v.image}, lanes ${lanes}`).toBe(true);
      }
    }
  });

  const odd: LayerSpec[] = [
    { kernel: 5, stride: 2, padding: 2, outChannels: 7, activation: "linear" }, // odd channels, signed input to the next layer
    { kernel: 1, stride: 1, padding: 0, outChannels: 9, activation: "relu" },
    { kernel: 2, stride: 2, padding: 1, outChannels: 5, activation: "latent" },
  ];
  it("odd channel counts, 5x5 / 1x1 / 2x2 kernels, a linear layer, 5x5 with padding 2", async () => {
    const model = randomModel({ seed: 8, layers: odd });
    expectAllEqual(model, await encoders(model, "rgb565", [41, 30]), "rgb565", [
      [41, 30],
      [12, 7],
      [3, 3],
    ]);
  });

  it("a 4x4 stride-4 patchify first layer without padding (the fast model's shape), frames not a multiple of 4, colour and grey (luma of RGB565 rows)", async () => {
    for (const inputChannels of [3, 1]) {
      const model = randomModel({
        seed: 11 + inputChannels,
        inputChannels,
        layers: [
          { kernel: 4, stride: 4, padding: 0, outChannels: 12, activation: "relu" },
          { kernel: 3, stride: 2, padding: 1, outChannels: 12, activation: "latent" },
        ],
      });
      const format = inputChannels === 1 ? "rgb565" : "rgb888"; // grey: the device's luma of colour rows
      expectAllEqual(model, await encoders(model, format, [79, 49]), format, [
        [79, 49],
        [64, 48],
        [17, 10],
        [4, 4],
      ]);
    }
  });

  it("a 1-channel model (grey camera) with every kernel shape", async () => {
    const model = randomModel({
      seed: 9,
      inputChannels: 1,
      layers: [
        { kernel: 3, stride: 2, padding: 1, outChannels: 8, activation: "relu" },
        { kernel: 3, stride: 2, padding: 1, outChannels: 6, activation: "latent" },
      ],
    });
    expectAllEqual(model, await encoders(model, "gray8", [50, 38]), "gray8", [
      [50, 38],
      [7, 5],
    ]);
  });

  it("requantizes in 32-bit only where the accumulator range proves it exact", async () => {
    const model = randomModel({ seed: 10, layers: [{ kernel: 3, stride: 2, padding: 1, outChannels: 4, activation: "latent" }] });
    const l = model.layers[0];
    // Multipliers with many trailing zero bits: 2^30·k/8 for small k, so m' = k·2^27 / 2^27 leaves a small factor.
    for (let c = 0; c < 4; c++) {
      l.multiplier[c] = (c + 1) * 2 ** 27;
      l.shift[c] = 40;
    }
    const lay = layerLayout(model, 0, 2);
    expect(lay.requant32).toBe(true);
    expect(Array.from(lay.multiplier)).toEqual([1, 1, 3, 1]);
    expect(Array.from(lay.shift)).toEqual([13, 12, 13, 11]);
    expect(layerLayout(shipped, 1, 1).requant32).toBe(false); // a trained multiplier has ~30 significant bits
    expectAllEqual(model, await encoders(model, "rgb888", [31, 23]), "rgb888", [
      [31, 23],
      [9, 4],
    ]);
  });
});

describe("layout and choices", () => {
  it("packs two output channels per i64 so each half holds one channel's weight", () => {
    const lay = layerLayout(shipped, 1, 2);
    const l = shipped.layers[1],
      taps = 9 * l.inChannels;
    expect(lay.groups).toBe(12);
    expect(lay.weights.length).toBe(12 * taps * 8);
    const dv = new DataView(lay.weights.buffer, lay.weights.byteOffset);
    for (const [g, t] of [
      [0, 0],
      [5, 77],
      [11, taps - 1],
    ]) {
      const packed = dv.getBigInt64((g * taps + t) * 8, true);
      const lo = BigInt.asIntN(32, packed);
      expect([Number(lo), Number((packed - lo) >> 32n)]).toEqual([l.weights[2 * g * taps + t], l.weights[(2 * g + 1) * taps + t]]);
    }
    // One lane keeps the trained layout [out][ky][kx][in] byte for byte.
    modelLayout(shipped, 1).forEach((x, i) =>
      expect(
        Buffer.from(x.weights).equals(Buffer.from(shipped.layers[i].weights.buffer, shipped.layers[i].weights.byteOffset, shipped.layers[i].weights.length)),
      ).toBe(true),
    );
  });

  it("chooses each layer's shape from counted native instructions where a QEMU target exists (committed table; a changed generator needs `npm run bench -- native`)", () => {
    for (const board of ["k210", "openmv-h7", "gap8"]) {
      const b = getBoard(board);
      const model = b.camera.format === "gray8" ? readModel(readFileSync(DEFAULT_GREY_MODEL_PATH), DEFAULT_GREY_MODEL_PATH) : shipped;
      // The fast encoder's shapes too (fast-grey on GRAY8 cameras), when it is shipped.
      const fastPath = modelPathForFormat(namedModel("fast")!.model, b.camera.format);
      for (const m of existsSync(fastPath) ? [model, readModel(readFileSync(fastPath), fastPath)] : [model]) {
        const { variants, info } = chooseKernels(b, m, "aot");
        expect(info.source, `${board} ${m.meta.name}`).toBe("counted");
        variants.forEach((v, i) => {
          const c = info.candidates![i];
          expect(Object.keys(c).sort()).toEqual(KERNEL_VARIANTS.map(variantName).sort());
          expect(c[variantName(v)], `${board} ${m.meta.name} layer ${i}`).toBe(Math.min(...Object.values(c)));
        });
      }
    }
    // k210: the i64 window kernel that the interpreter prefers is not what its ahead-of-time code gets where it counts worse.
    const k = chooseKernels(getBoard("k210"), shipped, "aot");
    k.variants.forEach((v, i) => expect(k.info.candidates![i][variantName(v)]).toBeLessThanOrEqual(k.info.candidates![i]["window-i64"]));
    expect(chooseKernels(getBoard("k210"), shipped, "interp").variants.every((v) => v.order === "window" && v.lanes === 2)).toBe(true);
  });

  it("prices Cortex-M7's DSP kernels from their counts (committed table), one count per layer shape whatever the weights", () => {
    const m7 = getBoard("openmv-h7");
    const grey = readModel(readFileSync(DEFAULT_GREY_MODEL_PATH), DEFAULT_GREY_MODEL_PATH);
    for (const model of [shipped, grey]) {
      const priced = layerNativePerMac(
        m7,
        model,
        model.layers.map(() => "taps-i32"),
        model.layers.map(() => true),
      );
      for (const p of priced) {
        expect(p).toMatchObject({ source: "counted", kernel: "simd-smlad" });
        expect(p!.instructions).toBeLessThan(3); // issue 14: <= 3 native Cortex-M7 instructions per MAC
      }
    }
    // The 16->24 and 24->12 layers of the colour and the grey model share their counts (weights differ).
    const price = (model: Model) => layerNativePerMac(m7, model, ["taps-i32", "taps-i32", "taps-i32"], [true, true, true]).map((p) => p!.instructions);
    expect(price(shipped).slice(1)).toEqual(price(grey).slice(1));
  });

  it("prices a layer shape that was never counted by a fit of each kernel shape's counts on that target (a + b/taps)", () => {
    const model = randomModel({
      seed: 8,
      layers: [
        { kernel: 5, stride: 2, padding: 2, outChannels: 7, activation: "linear" },
        { kernel: 1, stride: 1, padding: 0, outChannels: 9, activation: "latent" },
      ],
    });
    const { variants, info } = chooseKernels(getBoard("gap8"), model, "aot");
    const priceOf = perShapeModel(NATIVE_TARGETS.rv32)!;
    expect(info.source).toBe("modelled");
    variants.forEach((v, i) => {
      const c = priceOf(layerShape(model, i));
      expect(c[variantName(v)]).toBe(Math.min(...Object.values(c)));
    });
    // The fit reproduces the counted shapes closely (each counted entry against a fit without it is checked in the native bench).
    const counted = chooseKernels(getBoard("gap8"), shipped, "aot").info.candidates![1];
    for (const [k, v] of Object.entries(priceOf(layerShape(shipped, 1)))) expect(Math.abs(v / counted[k] - 1), k).toBeLessThan(0.25);
    expect(layerShape(model, 0)).toBe("5x5/s2/p2 3->7 i8 linear rq64");
  });

  it("picks i64 pairs where the board's cost model makes them cheaper", () => {
    expect(chooseLanes("ri5cy", "aot")).toBe(1); // RV32: a 64-bit multiply is several instructions
    expect(chooseLanes("rv64gc-k210", "aot")).toBe(2); // 64-bit core
    expect(chooseLanes("ri5cy", "interp")).toBe(2); // an interpreter pays per dispatched instruction
  });

  it("rejects an unknown kernel mode with a usage error", async () => {
    expect(() => parseKernelMode("fast")).toThrow(/generic or specialised/);
    const r = await runCli(["build", "--board", "gap8", "--kernels", "fast"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--kernels: kernel mode must be generic or specialised, got "fast"/);
  });
});

describe("instructions per multiply-accumulate", () => {
  it("the profile reports each 3x3 layer at <= 4 WebAssembly instructions per MAC with i64 pairs, and the generic kernel as one entry", async () => {
    const board = getBoard("k210");
    const frame = packFrame(randomRgb(3, 96, 64), 96, 64, "rgb565");
    const spec = await buildEncoder({ board, model: shipped, width: 96, height: 64, format: "rgb565", withNames: true, lanes: 2 });
    const r = await profileWorkload(encoderWorkload(spec, [frame]), board, "interp");
    expect(r.layers!.map((l) => l.name)).toEqual(["layer 0: 3x3/2 3->16", "layer 1: 3x3/2 16->24", "layer 2: 3x3/2 24->12"]);
    for (const l of r.layers!) expect(l.instructionsPerMac, l.name).toBeLessThanOrEqual(4);
    const gen = await buildEncoder({ board, model: shipped, width: 96, height: 64, format: "rgb565", withNames: true, kernels: "generic" });
    const g = await profileWorkload(encoderWorkload(gen, [frame]), board, "interp");
    expect(g.layers!.length).toBe(1);
    expect(g.layers![0].macsPerFrame).toBe(r.layers!.reduce((s, l) => s + l.macsPerFrame, 0));
    expect(g.layers![0].instructionsPerMac).toBeGreaterThan(3 * Math.max(...r.layers!.map((l) => l.instructionsPerMac)));
  });
});
