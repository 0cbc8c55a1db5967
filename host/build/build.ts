// Builds the encoder WASM for one board: plan the arena, compile assembly/ with asc for the board's
// asconfig target, place the initialised arena block (plan + weights) at its fixed offset.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { getBoard, type Board } from "../core/boards.ts";
import { readModel } from "../model/format.ts";
import { randomModel } from "../model/random-model.ts";
import type { Model } from "../core/model-types.ts";
import { planArena, type ExtraRegion, type MemoryMap } from "./memory-map/planner.ts";
import { mapToJson, renderMapText } from "./memory-map/render.ts";
import type { PixelFormat } from "../core/pixel-format.ts";
import { repoPath } from "../core/paths.ts";
import { EXIT_FAILURE, TidepoolError } from "../core/errors.ts";
import { appendDataSegment, dataSegments, functionIndexByName, memoryLimits, stripNameSection } from "../core/wasm-binary.ts";
import { bitstreamInit, bitstreamRegions } from "./memory-map/packet-regions.ts";
import { modelLayout, type KernelVariant, type Lanes, type LayerLayout, type LoopOrder, variantName } from "./kernels/layout.ts";
import { chooseKernels, type KernelChoiceInfo } from "./kernels/choice.ts";
import { generateKernels, KERNELS_LIB_NAME, LAYER_FUNCTION } from "./kernels/generate.ts";
import { generateSimdKernels, type SimdKernels, type SimdLayer } from "./kernels/simd-m7.ts";
import { nativeTargetForBoard } from "./native/targets.ts";
import type { RuntimeMode } from "./profile/cost-models.ts";
import { atomicWrite } from "../core/atomic-write.ts";
import { readInputFile } from "../core/input-file.ts";
import { modelPathForFormat, resolveModelPath } from "../core/model-registry.ts";
import { policyInit, policyRegions } from "./policy/layout.ts";

export const PAGE = 65536;
export const DEFAULT_MODEL_PATH = repoPath("models", "default.tpm");

export interface BuildOptions {
  board: string | Board;
  model?: Model;
  modelPath?: string;
  width?: number;
  height?: number;
  format?: PixelFormat;
  outDir?: string;
  extra?: ExtraRegion[];
  /** Keep the function-name section (for profiling); the code is the same. */
  withNames?: boolean;
  /** "specialised" (default): per-layer kernels generated for this model and frame; "generic": the plan-driven reference kernel. */
  kernels?: KernelMode;
  /** Runtime the specialised kernels are tuned for (default: the board's); picks the lanes by the board's cost model. */
  runtime?: RuntimeMode;
  /** Forces the output channels per multiply (1: i32, 2: i64 pairs) instead of the build's choice (window order unless `order` is given). */
  lanes?: Lanes;
  /** Forces the loop order of every layer (with `lanes`, default 1). */
  order?: LoopOrder;
  /** Forces each layer's kernel shape (one entry per layer). */
  layerKernels?: readonly KernelVariant[];
  /**
   * Native Cortex-M7 DSP kernels for the layers (boards whose core is a Cortex-M7, specialised kernels;
   * default true): generated beside the module for the native build, which swaps them in for the wasm2c
   * translation of those layers. The WebAssembly module is the same either way.
   */
  simdKernels?: boolean;
}

export type KernelMode = "generic" | "specialised";
export const KERNEL_MODES: readonly KernelMode[] = ["generic", "specialised"];

/** Checks a kernel mode given by a user (exit status 2 when it is not one). */
export function parseKernelMode(text: string): KernelMode {
  if ((KERNEL_MODES as readonly string[]).includes(text)) return text as KernelMode;
  throw new TidepoolError("usage", `kernel mode must be ${KERNEL_MODES.join(" or ")}, got "${text}"`, 2);
}

export interface KernelsInfo {
  mode: KernelMode;
  /** Per layer (specialised only): kernel shape, lanes, 32-bit requantization proven, largest |accumulator|. */
  layers: Array<{ variant: string; order: LoopOrder; lanes: Lanes; requant32: boolean; maxAbsAcc: number }>;
  /** How the shapes were chosen: forced by the caller, from instructions counted under QEMU, or from a cost model. */
  choice?: KernelChoiceInfo;
  /** Cortex-M7 builds: the kernel each layer gets in the native build ("simd": the DSP kernel; "wasm2c": the translated one, with the reason). */
  native?: SimdLayer[];
}

export interface BuildResult {
  board: Board;
  model: Model;
  map: MemoryMap;
  wasm: Uint8Array;
  moduleBytes: number;
  memoryPages: number;
  staticDataBytes: number;
  kernels: KernelsInfo;
  /** Cortex-M7 DSP kernels for the native build (docs/kernels.md); absent for other cores and generic builds. */
  simd?: SimdKernels;
  files?: { wasm: string; map: string; mapJson: string; report: string };
}

export class BuildError extends TidepoolError {
  constructor(m: string) {
    super("build", m, EXIT_FAILURE);
  }
}

/** The grey model (first layer reads one channel), shipped beside the colour one for GRAY8 cameras (docs/training.md). */
export const DEFAULT_GREY_MODEL_PATH = repoPath("models", "default-grey.tpm");

/**
 * The model a build uses when none is given: the trained default if shipped, else the seeded random
 * one. For GRAY8 frames the grey model when it is shipped (a colour model would read Y three times).
 */
export function loadDefaultModel(format?: PixelFormat): Model {
  if (format === "gray8" && existsSync(DEFAULT_GREY_MODEL_PATH)) return readModel(readFileSync(DEFAULT_GREY_MODEL_PATH), DEFAULT_GREY_MODEL_PATH);
  try {
    return readModel(readFileSync(DEFAULT_MODEL_PATH), DEFAULT_MODEL_PATH);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return randomModel({ seed: 1 });
    throw e;
  }
}

/** The default model file for a pixel format (the path loadDefaultModel reads). */
export function defaultModelPath(format?: PixelFormat): string {
  return format === "gray8" && existsSync(DEFAULT_GREY_MODEL_PATH) ? DEFAULT_GREY_MODEL_PATH : DEFAULT_MODEL_PATH;
}

const CACHE_DIR = repoPath("build", ".cache");

function assemblySources(dir = repoPath("assembly")): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? assemblySources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []))
    .sort();
}

/** Key of a compilation: compiler version, config, every AssemblyScript source and the arguments. */
function compileKey(args: string[]): string {
  const h = createHash("sha256");
  h.update(JSON.parse(readFileSync(repoPath("node_modules", "assemblyscript", "package.json"), "utf8")).version);
  // Every asconfig (asconfig.json for the encoder, asconfig.head.json for the split head).
  for (const f of readdirSync(repoPath())
    .filter((n) => /^asconfig.*\.json$/.test(n))
    .sort())
    h.update(readFileSync(repoPath(f)));
  for (const f of assemblySources()) {
    h.update(relative(repoPath(), f));
    h.update(readFileSync(f));
  }
  // A generated kernels library is named by its content hash, which the arguments carry.
  h.update(JSON.stringify(args));
  return h.digest("hex").slice(0, 32);
}

/**
 * Compiles assembly/ for an asconfig target with the plan-specific constants. Results are cached in
 * build/.cache by a hash of the sources and arguments (asc -O3 takes seconds; the cache makes
 * repeated builds of the same shape instant).
 */
export async function compileEncoder(
  target: string,
  planOffset: number,
  memoryBase: number,
  pages: number,
  withNames = false,
  uses: Record<string, number> = {},
  kernelsSource?: string,
): Promise<Uint8Array> {
  return ascCompile([
    ...(kernelsSource ? ["--lib", kernelsLibrary(kernelsSource)] : []),
    "--use",
    `TIDEPOOL_KERNELS=${kernelsSource ? 1 : 0}`,
    ...Object.entries(uses).flatMap(([name, value]) => ["--use", `${name}=${value}`]),
    ...(withNames ? ["--debug"] : []),
    "--config",
    "asconfig.json",
    "--target",
    target,
    "--use",
    `TIDEPOOL_PLAN_OFFSET=${planOffset}`,
    "--memoryBase",
    String(memoryBase),
    "--initialMemory",
    String(pages),
    "--maximumMemory",
    String(pages),
  ]);
}

/**
 * Writes a generated kernels file where asc can take it as a library (`--lib DIR`), in a folder named
 * by its content hash (so parallel builds of different models never share one); returns DIR relative
 * to the repository root.
 */
function kernelsLibrary(source: string): string {
  const dir = join(CACHE_DIR, "kernels", createHash("sha256").update(source).digest("hex").slice(0, 24));
  const file = join(dir, `${KERNELS_LIB_NAME}.ts`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    atomicWrite(file, source);
  }
  return relative(repoPath(), dir);
}

/** Runs asc with `args` (plus an output file) from the repository root; cached by sources and arguments. */
export async function ascCompile(args: string[]): Promise<Uint8Array> {
  args = [...args, "--outFile", "module.wasm"];
  const cached = join(CACHE_DIR, `${compileKey(args)}.wasm`);
  if (existsSync(cached)) return new Uint8Array(readFileSync(cached));
  const ascModule = await import("assemblyscript/asc");
  const asc = ascModule.default;
  // asc keeps every --lib file it reads in its module-wide libraryFiles table and parses that table
  // into each later compilation: drop ours so one build's kernels never leak into the next.
  const dropLibraries = () => {
    for (const k of Object.keys(ascModule.libraryFiles)) if (k.startsWith(KERNELS_LIB_NAME)) delete ascModule.libraryFiles[k];
  };
  dropLibraries();
  const outputs: Record<string, Uint8Array> = {};
  let log = "";
  const sink = {
    write(s: string | Uint8Array) {
      log += typeof s === "string" ? s : new TextDecoder().decode(s);
      return true;
    },
  };
  const cwd = process.cwd();
  process.chdir(repoPath()); // asc resolves entries and the config against the working directory
  try {
    const { error } = await asc.main(args, {
      writeFile: (name: string, contents: string | Uint8Array) => {
        outputs[name] = typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
      },
      stdout: sink as never,
      stderr: sink as never,
    });
    if (error) throw new BuildError(`AssemblyScript compilation failed: ${error.message}\n${log}`);
  } finally {
    process.chdir(cwd);
    dropLibraries();
  }
  const wasm = outputs["module.wasm"];
  if (!wasm) throw new BuildError(`asc produced no module\n${log}`);
  mkdirSync(CACHE_DIR, { recursive: true });
  atomicWrite(cached, wasm);
  return wasm;
}

export async function buildEncoder(opts: BuildOptions): Promise<BuildResult> {
  const board = typeof opts.board === "string" ? getBoard(opts.board) : opts.board;
  const width = opts.width ?? board.camera.width;
  const height = opts.height ?? board.camera.height;
  const format = opts.format ?? board.camera.format;
  // "task" -> models/task.tpm; "fast" on a GRAY8 frame -> models/fast-grey.tpm
  const modelPath = opts.modelPath === undefined ? undefined : modelPathForFormat(resolveModelPath(opts.modelPath), format);
  const model = opts.model ?? (modelPath ? readModel(readInputFile(modelPath, "model file"), modelPath) : loadDefaultModel(format));
  if (model.input.channels === 1 && format !== "gray8") {
    // A grey model accepts colour rows (luma is taken on the device), so this is allowed; nothing to check.
  }
  // The packetizer's regions (tables, block order, packet buffer) when the model has ENTR tables.
  const mode = opts.kernels ?? "specialised";
  let choice: KernelChoiceInfo | undefined;
  let layouts: LayerLayout[] | undefined;
  if (mode === "specialised") {
    if (opts.layerKernels) {
      if (opts.layerKernels.length !== model.layers.length)
        throw new BuildError(`layerKernels has ${opts.layerKernels.length} entries for a model of ${model.layers.length} layers`);
      choice = { source: "forced" };
      layouts = modelLayout(model, opts.layerKernels);
    } else if (opts.lanes || opts.order) {
      choice = { source: "forced" };
      layouts = modelLayout(model, { order: opts.order ?? "window", lanes: opts.lanes ?? 1 });
    } else {
      const chosen = chooseKernels(board, model, opts.runtime ?? (board.runtime.default as RuntimeMode));
      choice = chosen.info;
      layouts = modelLayout(model, chosen.variants);
    }
  }
  const map = planArena({
    model,
    board,
    width,
    height,
    format,
    extra: [...(opts.extra ?? []), ...bitstreamRegions(model, width, height), ...policyRegions(model)],
    params: layouts,
    paddedRings: !!layouts,
  });
  const bitstream = bitstreamInit(model, map);
  const policy = policyInit(model, map);
  // AssemblyScript's own static data (if any) goes after the arena; the build then checks it fits too.
  const memoryBase = map.arenaBytes;
  const pages = Math.max(1, Math.ceil((memoryBase + 1024) / PAGE));
  const target = board.name in JSON.parse(readFileSync(repoPath("asconfig.json"), "utf8")).targets ? board.name : "release";
  const kernelsSource = layouts ? generateKernels(model, map, layouts) : undefined;
  // The native DSP kernels replace the layer functions by index: the module is compiled with its name
  // section to find them (asc's --debug adds that section and changes no other byte), then stripped.
  const simdWanted = !!layouts && (opts.simdKernels ?? true) && nativeTargetForBoard(board.name)?.name === "m7";
  const named = await compileEncoder(
    target,
    map.planOffset,
    memoryBase,
    pages,
    opts.withNames || simdWanted,
    { ...(bitstream ? { TIDEPOOL_BITSTREAM_OFFSET: bitstream.offset } : {}), ...(policy ? { TIDEPOOL_POLICY_OFFSET: policy.offset } : {}) },
    kernelsSource,
  );
  let simd: SimdKernels | undefined;
  if (simdWanted) {
    const index = functionIndexByName(named);
    const functionIndex = model.layers.map((_, i) => {
      const found = [...index].find(([n]) => LAYER_FUNCTION.exec(n)?.[1] === String(i));
      if (!found) throw new BuildError(`the compiled module has no function for layer ${i}'s kernel`);
      return found[1];
    });
    simd = generateSimdKernels(model, map, layouts!, functionIndex);
  }
  const compiled = opts.withNames || !simdWanted ? named : stripNameSection(named);
  let wasm = appendDataSegment(compiled, map.initOffset, map.init);
  if (bitstream) wasm = appendDataSegment(wasm, bitstream.offset, bitstream.bytes);
  if (policy) wasm = appendDataSegment(wasm, policy.offset, policy.bytes);
  const limits = memoryLimits(wasm);
  if (!limits || limits.maximum !== pages) throw new BuildError(`module memory is ${JSON.stringify(limits)}, expected a fixed ${pages} page(s)`);
  const staticDataBytes = staticDataAfter(wasm, memoryBase);
  const total = memoryBase + staticDataBytes;
  if (total > board.memory.arenaBudgetBytes)
    throw new BuildError(
      `arena for ${board.name} does not fit: ${total} bytes with ${staticDataBytes} bytes of AssemblyScript static data (region "as-static"), budget ${board.memory.arenaBudgetBytes} (${total - board.memory.arenaBudgetBytes} bytes over)`,
    );

  const kernels: KernelsInfo = {
    mode,
    layers: (layouts ?? []).map((l) => ({ variant: variantName(l), order: l.order, lanes: l.lanes, requant32: l.requant32, maxAbsAcc: l.maxAbsAcc })),
    ...(choice ? { choice } : {}),
    ...(simd ? { native: simd.layers } : {}),
  };
  const result: BuildResult = { board, model, map, wasm, moduleBytes: wasm.length, memoryPages: pages, staticDataBytes, kernels, ...(simd ? { simd } : {}) };
  if (opts.outDir) {
    const dir = resolve(opts.outDir);
    mkdirSync(dir, { recursive: true });
    const files = {
      wasm: join(dir, `tidepool-${board.name}.wasm`),
      map: join(dir, `tidepool-${board.name}.map`),
      mapJson: join(dir, `tidepool-${board.name}.map.json`),
      report: join(dir, `tidepool-${board.name}.report.json`),
    };
    atomicWrite(files.wasm, wasm);
    atomicWrite(files.map, renderMapText(map, { moduleBytes: wasm.length, staticDataBytes, memoryPages: pages }));
    atomicWrite(files.mapJson, JSON.stringify(mapToJson(map, { moduleBytes: wasm.length, staticDataBytes, memoryPages: pages }), null, 2) + "\n");
    atomicWrite(files.report, JSON.stringify(buildReport(result, files), null, 2) + "\n");
    result.files = files;
  }
  return result;
}

export function buildReport(r: BuildResult, files?: BuildResult["files"]) {
  return {
    board: r.board.name,
    frame: `${r.map.width}x${r.map.height}`,
    format: r.map.format,
    model: r.model.meta.name ?? "unnamed",
    arenaBytes: r.map.arenaBytes,
    arenaBudgetBytes: r.map.arenaBudgetBytes,
    headroomBytes: r.map.headroomBytes,
    staticDataBytes: r.staticDataBytes,
    memoryPages: r.memoryPages,
    moduleBytes: r.moduleBytes,
    kernels: r.kernels,
    wasm: files?.wasm ?? null,
    map: files?.map ?? null,
    mapJson: files?.mapJson ?? null,
  };
}

/** Bytes of data segments the compiler placed at or after the arena end (strings, static arrays). */
function staticDataAfter(wasm: Uint8Array, base: number): number {
  let end = base;
  for (const seg of dataSegments(wasm)) if (seg.offset >= base) end = Math.max(end, seg.offset + seg.length);
  return end - base;
}
