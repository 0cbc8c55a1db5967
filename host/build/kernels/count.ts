// Counts each kernel shape's native instructions per MAC, layer by layer, under QEMU (docs/kernels.md,
// "Choosing the shape"): the model is built once per shape with every layer in that shape, run on a
// fixed seeded frame, and the instructions inside each layer's function divided by its MACs. Each
// (target, shape, layer shape) count is cached by content hash in build/.cache/kernel-counts, so QEMU
// runs once per layer shape; `writeCountTable` copies them into the committed table the build reads.
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../../core/atomic-write.ts";
import type { Model } from "../../core/model-types.ts";
import type { PixelFormat } from "../../core/pixel-format.ts";
import { buildEncoder } from "../build.ts";
import { layerShapes } from "../../model/geometry.ts";
import { runNativeEncoder } from "../native/run.ts";
import { NATIVE_TARGETS, type NativeTargetName } from "../native/targets.ts";
import { toolVersion } from "../native/toolchain.ts";
import { getBoard } from "../../core/boards.ts";
import { COUNT_CACHE, COUNT_TABLE, countKey, type CountEntry, layerCode, layerShape, lookupCount, reloadCountTable, simdLayerCode } from "./choice.ts";
import { SIMD_VARIANT } from "./simd-m7.ts";
import { KERNEL_VARIANTS, variantName } from "./layout.ts";

/** The frame counts run on: a quarter of the usual 320x240, seeded noise (the kernels' work does not depend on the values). */
export const COUNT_FRAME = { width: 160, height: 120 };

function noiseFrame(width: number, height: number, format: PixelFormat): Uint8Array {
  const bpp = format === "gray8" ? 1 : format === "rgb565" ? 2 : 3;
  const out = new Uint8Array(width * height * bpp);
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** Counts every shape for every layer of `model` on `target` that is not yet cached; returns all the entries. */
export async function countKernels(target: NativeTargetName, model: Model): Promise<CountEntry[]> {
  const t = NATIVE_TARGETS[target];
  const format: PixelFormat = model.input.channels === 1 ? "gray8" : "rgb565";
  const { width, height } = COUNT_FRAME;
  const shapes = model.layers.map((_, i) => layerShape(model, i));
  const macs = layerShapes(model, width, height).map((g, i) => {
    const l = model.layers[i];
    return g.outWidth * g.outHeight * l.outChannels * l.kernel * l.kernel * l.inChannels;
  });
  const tools = `${toolVersion(t.cc)}; ${t.qemu}`;
  const out: CountEntry[] = [];
  mkdirSync(COUNT_CACHE, { recursive: true });
  for (const v of KERNEL_VARIANTS) {
    const code = layerCode(getBoard(t.boards[0]), model, v);
    const keys = shapes.map((s, i) => countKey(t, v, s, code[i]));
    const cachedEntries = keys.map((k) => lookupCount(k)); // the build cache, else the committed table
    if (cachedEntries.every(Boolean)) {
      out.push(...(cachedEntries as CountEntry[]));
      continue;
    }
    const built = await buildEncoder({ board: t.boards[0], model, width, height, format, layerKernels: model.layers.map(() => v), withNames: true });
    const run = runNativeEncoder(built.wasm, [noiseFrame(width, height, format)], { width, height, format }, { target, boundsChecks: "off" });
    const per = run.layerInstructions ?? [];
    shapes.forEach((shape, i) => {
      if (!per[i]) throw new Error(`no instruction count for layer ${i} (${variantName(v)} on ${target})`);
      const e: CountEntry = {
        key: keys[i],
        target,
        variant: variantName(v),
        shape,
        instructionsPerMac: +(per[i] / macs[i]).toFixed(4),
        frame: `${width}x${height} ${format}`,
        tools,
      };
      atomicWrite(join(COUNT_CACHE, `${keys[i]}.json`), JSON.stringify(e, null, 2) + "\n");
      out.push(e);
    });
  }
  if (target === "m7") out.push(...(await countSimd(model, shapes, macs, tools)));
  return out;
}

/** The Cortex-M7 DSP kernel of every layer that gets one, counted the same way (the wasm2c kernels of the other layers are not). */
async function countSimd(model: Model, shapes: string[], macs: number[], tools: string): Promise<CountEntry[]> {
  const t = NATIVE_TARGETS.m7;
  const format: PixelFormat = model.input.channels === 1 ? "gray8" : "rgb565";
  const { width, height } = COUNT_FRAME;
  const code = simdLayerCode(getBoard(t.boards[0]), model);
  const keys = shapes.map((s, i) => (code[i] ? countKey(t, SIMD_VARIANT, s, code[i]!) : undefined));
  const cached = keys.map((k) => (k ? lookupCount(k) : undefined));
  if (keys.every((k, i) => !k || cached[i])) return cached.filter(Boolean) as CountEntry[];
  const built = await buildEncoder({ board: t.boards[0], model, width, height, format, order: "taps", lanes: 1, withNames: true });
  const run = runNativeEncoder(
    built.wasm,
    [noiseFrame(width, height, format)],
    { width, height, format },
    { target: "m7", boundsChecks: "off", simd: built.simd },
  );
  const per = run.layerInstructions ?? [];
  const out: CountEntry[] = [];
  keys.forEach((key, i) => {
    if (!key) return;
    if (!per[i]) throw new Error(`no instruction count for layer ${i} (${SIMD_VARIANT} on m7)`);
    const e: CountEntry = {
      key,
      target: "m7",
      variant: SIMD_VARIANT,
      shape: shapes[i],
      instructionsPerMac: +(per[i] / macs[i]).toFixed(4),
      frame: `${width}x${height} ${format}`,
      tools,
    };
    atomicWrite(join(COUNT_CACHE, `${key}.json`), JSON.stringify(e, null, 2) + "\n");
    out.push(e);
  });
  return out;
}

/** Merges counted entries into the committed table (host/build/kernels/counted-kernels.json). */
export function writeCountTable(entries: CountEntry[]): void {
  const t = existsSync(COUNT_TABLE) ? JSON.parse(readFileSync(COUNT_TABLE, "utf8")) : { entries: {} };
  const byKey: Record<string, CountEntry> = t.entries ?? {};
  for (const e of entries) byKey[e.key] = e;
  const sorted = Object.fromEntries(
    Object.entries(byKey).sort((a, b) => `${a[1].target} ${a[1].shape} ${a[1].variant}`.localeCompare(`${b[1].target} ${b[1].shape} ${b[1].variant}`)),
  );
  atomicWrite(
    COUNT_TABLE,
    JSON.stringify(
      {
        note: "Native instructions per MAC of each generated kernel shape, counted under QEMU (host/build/kernels/count.ts; `npm run bench -- native` refreshes it). Keys: content hash of target, compiler flags, kernel shape, layer shape and the layer's generated code with its numbers blanked (host/build/kernels/choice.ts). Instructions, not cycles.",
        entries: sorted,
      },
      null,
      2,
    ) + "\n",
  );
  reloadCountTable();
}
