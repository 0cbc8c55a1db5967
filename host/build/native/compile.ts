// Native build of a Tidepool module: wasm2c (Debian wabt) turns the built .wasm into C, the target's
// GCC compiles it with the bare-metal runtime (native/runtime) and the harness (native/harness) into a
// firmware for QEMU, and the module alone into a static library for a board runtime. Results are
// cached in build/.cache/native by a hash of the module, the settings, native/ and the tool versions.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, copyFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { FailureError } from "../../core/errors.ts";
import { repoPath } from "../../core/paths.ts";
import { memoryLimits } from "../../core/wasm-binary.ts";
import type { NativeWorkload } from "./io-format.ts";
import { simdFunction, type SimdKernels } from "../kernels/simd-m7.ts";
import { boundsCheckFlags, type BoundsChecks, type NativeTarget } from "./targets.ts";
import { requireTargetTools, requireWasm2c, run, toolVersion } from "./toolchain.ts";

export const NATIVE_DIR = repoPath("native");
export const NATIVE_CACHE = repoPath("build", ".cache", "native");
/** Bumped when NativeBuild's fields change, so cached builds of an older shape are not reused. */
const BUILD_FORMAT = 5;

/** Berkeley sizes (bytes) as size(1) prints them: text includes read-only data. */
export interface SectionSizes {
  text: number;
  data: number;
  bss: number;
}
/** size -A split of an object's text: instructions vs read-only data (for the module: weights, tables). */
export interface CodeSplit {
  code: number;
  constants: number;
}

export interface NativeBuild {
  target: NativeTarget["name"];
  boundsChecks: BoundsChecks;
  workload: NativeWorkload;
  dir: string;
  elf: string;
  /** Static library with the module and the runtime only (no harness, no C library). */
  library: string;
  header: string;
  /** Addresses of the counting markers (tp_count_on/off/cut). */
  markers: { on: number; off: number; cut: number };
  /** Address ranges [start, end) of each generated layer kernel (modules built with names; GCC's clones of a layer's function included). */
  layerFunctions: Array<{ layer: number; start: number; end: number }>;
  hasPacketizer: boolean;
  /** Layers whose wasm2c function was swapped for the generated Cortex-M7 DSP kernel (swapInSimdKernels). */
  simdLayers: number[];
  linearMemoryBytes: number;
  /** The wasm2c module object (code + the module's data segments as constants; the linear memory is the runtime's). */
  moduleSizes: SectionSizes;
  moduleSplit: CodeSplit;
  /** The C API object (tidepool_native.c); zero for the JPEG harness. */
  apiSizes: SectionSizes;
  /** The generated DSP kernels' object (code + their re-laid weights as constants); zero without them. */
  simdSizes: SectionSizes;
  simdSplit: CodeSplit;
  /** The bare-metal runtime object (linear memory block in .bss). */
  runtimeSizes: SectionSizes;
  /** The whole QEMU firmware (harness, newlib/picolibc stdio and semihosting included). */
  firmwareSizes: SectionSizes;
  wasm2c: string;
  cc: string;
}

function nativeSources(dir = NATIVE_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? nativeSources(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

function parseSize(out: string, what: string): SectionSizes {
  const line = out.trim().split("\n")[1]?.trim().split(/\s+/);
  if (!line || line.length < 3) throw new FailureError("native-build", `cannot read size(1) output for ${what}: ${out}`);
  return { text: +line[0], data: +line[1], bss: +line[2] };
}

function parseSplit(out: string): CodeSplit {
  let code = 0,
    constants = 0;
  for (const line of out.split("\n")) {
    const [name, size] = line.trim().split(/\s+/);
    if (!name || !/^\d+$/.test(size ?? "")) continue;
    if (name.startsWith(".text")) code += +size;
    else if (name.startsWith(".rodata") || name.startsWith(".srodata")) constants += +size;
  }
  return { code, constants };
}

function symbolAddress(nmOut: string, name: string): number {
  const m = nmOut.match(new RegExp(`^([0-9a-fA-F]+) [Tt] ${name}$`, "m"));
  if (!m) throw new FailureError("native-build", `firmware has no symbol ${name}`);
  const v = parseInt(m[1], 16);
  return v - (v % 2); // Thumb function symbols may carry the mode bit (no 32-bit bitwise ops: RISC-V addresses are above 2^31)
}

/**
 * wasm2c's name for layer N's generated kernel (with names), GCC's clones of it (.part.0, .constprop.0, ...),
 * and the DSP kernel that replaces it on Cortex-M7 (tp_simd_conv_layerN).
 */
const LAYER_SYMBOL = /^(?:w2c__lib_tidepool_kernels_conv_layer|tp_simd_conv_layer)(\d+)(\.[\w.]+)?$/;

function layerFunctions(nmSizes: string): NativeBuild["layerFunctions"] {
  const out: NativeBuild["layerFunctions"] = [];
  // Only a module built with names has every layer's function: without them, count none (not some).
  if (!/ w2c__lib_tidepool_kernels_conv_layer\d+$/m.test(nmSizes)) return out;
  for (const line of nmSizes.split("\n")) {
    const [addr, size, type, name] = line.trim().split(/\s+/);
    const m = name?.match(LAYER_SYMBOL);
    if (!m || !/^[tT]$/.test(type ?? "") || !size) continue;
    const a = parseInt(addr, 16);
    const start = a - (a % 2);
    out.push({ layer: +m[1], start, end: start + parseInt(size, 16) });
  }
  return out.sort((x, y) => x.start - y.start);
}

/** Symbols the module object may need from outside: the runtime and the C compiler's helpers. */
const RUNTIME_SYMBOLS =
  /^(wasm_rt_\w+|tp_simd_conv_layer\d+|memcpy|memmove|memset|__assert_func|__assert_fail|abort|__aeabi_\w+|__\w+di3|__\w+si2|__\w+di2|__clz\w+|__ctz\w+|__popcount\w+|__mul\w+|__div\w+|__mod\w+|__udiv\w+|__umod\w+|__ashl\w+|__ashr\w+|__lshr\w+)$/;

/**
 * Swaps the wasm2c translation of each SIMD layer's kernel for a call to the generated DSP kernel on the
 * module's linear memory: the function keeps its name and its slot in the function table (the module
 * calls layer kernels through it), and its wasm2c body is renamed and left unused (GCC drops it).
 * Throws when a function is not found as expected (a wasm2c whose output differs).
 */
export function swapInSimdKernels(moduleC: string, simd: SimdKernels): { source: string; layers: number[] } {
  let source = moduleC;
  const layers: number[] = [];
  const protos: string[] = [];
  for (const l of simd.layers) {
    if (l.kernel !== "simd") continue;
    const names = [`w2c_f${simd.functionIndex[l.layer]}`, `w2c__lib_tidepool_kernels_conv_layer${l.layer}`];
    const defs = names.map((n) => `static void ${n}(Z_tp_instance_t* instance, u32 w2c_p0) {`).filter((d) => source.split(d).length === 2);
    if (defs.length !== 1)
      throw new FailureError("native-build", `wasm2c's output has no single definition of layer ${l.layer}'s kernel (${names.join(" or ")})`);
    const name = defs[0].slice("static void ".length, defs[0].indexOf("("));
    source = source.replace(
      defs[0],
      `static void ${name}(Z_tp_instance_t* instance, u32 w2c_p0) { ${simdFunction(l.layer)}(instance->w2c_memory.data, w2c_p0); }\n` +
        `__attribute__((unused)) static void ${name}_wasm2c(Z_tp_instance_t* instance, u32 w2c_p0) {`,
    );
    protos.push(`void ${simdFunction(l.layer)}(u8* memory, u32 oy);`);
    layers.push(l.layer);
  }
  // The prototypes right after the module's header (which defines u8, u32).
  const include = '#include "module.h"\n';
  if (protos.length && source.split(include).length !== 2) throw new FailureError("native-build", "wasm2c's output does not include module.h once");
  if (protos.length) source = source.replace(include, `${include}/* Cortex-M7 DSP kernels (host/build/kernels/simd-m7.ts) */\n${protos.join("\n")}\n`);
  return { source, layers };
}

export function buildNative(opts: {
  wasm: Uint8Array;
  target: NativeTarget;
  boundsChecks: BoundsChecks;
  workload: NativeWorkload;
  /** Generated DSP kernels to swap in for the layers' wasm2c functions (Cortex-M7, bounds checks off). */
  simd?: SimdKernels;
}): NativeBuild {
  const { wasm, target, boundsChecks, workload } = opts;
  // With bounds checks on, every access is to be checked: the layers keep wasm2c's checked translation.
  const simd = target.name === "m7" && workload === "encoder" && boundsChecks === "off" ? opts.simd : undefined;
  const { wasm2c, header } = requireWasm2c();
  requireTargetTools(target, false);
  const versions = { wasm2c: toolVersion(wasm2c), cc: toolVersion(target.cc) };
  const h = createHash("sha256");
  h.update(wasm);
  h.update(
    JSON.stringify({
      format: BUILD_FORMAT,
      target: target.name,
      boundsChecks,
      workload,
      versions,
      cflags: target.cflags,
      module: target.moduleCflags(""),
      ld: target.ldflags(""),
    }),
  );
  if (simd) h.update(simd.source + JSON.stringify(simd.layers) + JSON.stringify(simd.functionIndex));
  h.update(readFileSync(header));
  for (const f of nativeSources()) {
    h.update(relative(NATIVE_DIR, f));
    h.update(readFileSync(f));
  }
  const key = h.digest("hex").slice(0, 24);
  const dir = join(NATIVE_CACHE, `${target.name}-${workload}-${boundsChecks}-${key}`);
  const meta = join(dir, "build.json");
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, "utf8")) as NativeBuild;

  const limits = memoryLimits(wasm);
  if (!limits || limits.maximum === null)
    throw new FailureError("native-build", "module memory has no maximum: the native runtime needs a fixed linear memory");
  const linearMemoryBytes = limits.maximum * 65536;

  mkdirSync(NATIVE_CACHE, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileSync(join(tmp, "module.wasm"), wasm);
    run(wasm2c, ["module.wasm", "-n", "tp", "-o", "module.c"], { cwd: tmp });
    let simdLayers: number[] = [];
    if (simd) {
      const swapped = swapInSimdKernels(readFileSync(join(tmp, "module.c"), "utf8"), simd);
      renameSync(join(tmp, "module.c"), join(tmp, "module.wasm2c.c"));
      writeFileSync(join(tmp, "module.c"), swapped.source);
      simdLayers = swapped.layers;
      if (simdLayers.length) writeFileSync(join(tmp, "simd-kernels.c"), simd.source);
    }
    copyFileSync(header, join(tmp, "wasm-rt.h"));
    const hasPacketizer = readFileSync(join(tmp, "module.h"), "utf8").includes("Z_tpZ_tp_pk_begin(");
    const cc = (src: string, obj: string, extra: string[]) =>
      run(
        target.cc,
        [
          ...target.cflags,
          "-I",
          tmp,
          "-I",
          join(NATIVE_DIR, "runtime"),
          "-I",
          join(NATIVE_DIR, "lib"),
          `-DTP_MEMORY_BYTES=${linearMemoryBytes}`,
          ...extra,
          "-c",
          src,
          "-o",
          obj,
        ],
        { cwd: tmp },
      );
    const bounds = boundsCheckFlags(boundsChecks);
    cc("module.c", "module.o", [...bounds, ...target.moduleCflags(NATIVE_DIR)]);
    cc(join(NATIVE_DIR, "runtime", "wasm-rt-bare.c"), "runtime.o", bounds);
    const kernels = simdLayers.length ? ["simd-kernels.o"] : [];
    if (kernels.length) cc("simd-kernels.c", "simd-kernels.o", []);
    const features = workload === "jpeg" ? ["-DTP_JPEG"] : hasPacketizer ? ["-DTP_HAS_PACKETIZER"] : [];
    cc(join(NATIVE_DIR, "harness", "main.c"), "main.o", [...bounds, ...features]);
    // The C library API (what a board runtime links): encoder modules only.
    const api = workload === "encoder" ? ["api.o"] : [];
    if (api.length) cc(join(NATIVE_DIR, "lib", "tidepool_native.c"), "api.o", [...bounds, ...features]);
    const startup = target.startup.map((s, i) => {
      const o = `startup${i}.o`;
      cc(join(NATIVE_DIR, s), o, []);
      return o;
    });

    const undefinedSyms = run(target.nm, ["-u", "module.o"], { cwd: tmp })
      .split("\n")
      .map((l) => l.trim().split(/\s+/).pop()!)
      .filter(Boolean);
    const imports = undefinedSyms.filter((s) => !RUNTIME_SYMBOLS.test(s));
    if (imports.length)
      throw new FailureError("native-build", `module needs ${imports.join(", ")}, which the bare-metal runtime does not provide (a module import?)`);

    run(target.cc, [...startup, "main.o", ...api, "module.o", ...kernels, "runtime.o", ...target.ldflags(NATIVE_DIR), "-o", "firmware.elf"], { cwd: tmp });
    run(target.ar, ["rcs", "libtidepool.a", ...api, "module.o", ...kernels, "runtime.o"], { cwd: tmp });
    const nmOut = run(target.nm, ["firmware.elf"], { cwd: tmp });
    const build: NativeBuild = {
      target: target.name,
      boundsChecks,
      workload,
      dir,
      elf: join(dir, "firmware.elf"),
      library: join(dir, "libtidepool.a"),
      header: join(dir, "module.h"),
      markers: { on: symbolAddress(nmOut, "tp_count_on"), off: symbolAddress(nmOut, "tp_count_off"), cut: symbolAddress(nmOut, "tp_count_cut") },
      layerFunctions: layerFunctions(run(target.nm, ["-S", "firmware.elf"], { cwd: tmp })),
      hasPacketizer,
      simdLayers,
      linearMemoryBytes,
      moduleSizes: parseSize(run(target.size, ["module.o"], { cwd: tmp }), "module.o"),
      moduleSplit: parseSplit(run(target.size, ["-A", "module.o"], { cwd: tmp })),
      simdSizes: kernels.length ? parseSize(run(target.size, ["simd-kernels.o"], { cwd: tmp }), "simd-kernels.o") : { text: 0, data: 0, bss: 0 },
      simdSplit: kernels.length ? parseSplit(run(target.size, ["-A", "simd-kernels.o"], { cwd: tmp })) : { code: 0, constants: 0 },
      runtimeSizes: parseSize(run(target.size, ["runtime.o"], { cwd: tmp }), "runtime.o"),
      apiSizes: api.length ? parseSize(run(target.size, ["api.o"], { cwd: tmp }), "api.o") : { text: 0, data: 0, bss: 0 },
      firmwareSizes: parseSize(run(target.size, ["firmware.elf"], { cwd: tmp }), "firmware.elf"),
      wasm2c: versions.wasm2c,
      cc: versions.cc,
    };
    publishBuild(tmp, dir, build);
    return build;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Writes a finished build's build.json into its temporary folder and renames the folder into the cache,
 * so a cache entry is whole or absent. When another process finished the same build first, its copy is kept.
 */
export function publishBuild(tmp: string, dir: string, build: object): void {
  writeFileSync(join(tmp, "build.json"), JSON.stringify(build, null, 2) + "\n");
  try {
    renameSync(tmp, dir);
  } catch (e) {
    if (!existsSync(join(dir, "build.json"))) throw e;
    rmSync(tmp, { recursive: true, force: true });
  }
}
