// The encoder as a MicroPython native module (.mpy): the same wasm2c module.c as the C library
// (compile.ts), compiled position-independent for MicroPython's native-module ABI with the glue in
// native/mpy and linked by MicroPython's tools/mpy_ld.py (vendored in native/vendor/micropython).
// Cached in build/.cache/native by a hash of the module, the settings, the sources and the tools.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { FailureError } from "../../core/errors.ts";
import { buildNative, NATIVE_CACHE, NATIVE_DIR, publishBuild, type NativeBuild } from "./compile.ts";
import type { SimdKernels } from "../kernels/simd-m7.ts";
import { boundsCheckFlags, type BoundsChecks, type NativeTarget, type NativeTargetName } from "./targets.ts";
import { MissingToolError, requireTargetTools, run, toolVersion } from "./toolchain.ts";

/** MicroPython's source subset the .mpy build and the QEMU test need (native/vendor/micropython/PROVENANCE.md). */
export const MICROPYTHON_DIR = join(NATIVE_DIR, "vendor", "micropython");
const BUILD_FORMAT = 1;

/** MicroPython's natmod architecture for each native target, with its compiler flags. */
export const MPY_ARCH: Record<NativeTargetName, { arch: string; cflags: string[]; libgccFlags: string[]; floatImpl: string }> = {
  // armv7emsp loads on Cortex-M4F and M7 firmware alike (MicroPython accepts any lower ARM arch).
  m7: {
    arch: "armv7emsp",
    cflags: ["-mthumb", "-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"],
    libgccFlags: ["-mthumb", "-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"],
    floatImpl: "FLOAT",
  },
  // No atomics ("a"): GAP8/GAP9's cores are rv32imc. libgcc comes from Debian's rv32im multilib.
  rv32: {
    arch: "rv32imc",
    cflags: ["-march=rv32imc", "-mabi=ilp32", "-mno-relax", "--specs=picolibc.specs"],
    libgccFlags: ["-march=rv32im", "-mabi=ilp32"],
    floatImpl: "NONE",
  },
  rv64: {
    arch: "rv64imc",
    cflags: ["-march=rv64imac", "-mabi=lp64", "-mcmodel=medany", "-mno-relax", "--specs=picolibc.specs"],
    libgccFlags: ["-march=rv64imac", "-mabi=lp64"],
    floatImpl: "NONE",
  },
};

export interface MpyBuild {
  target: NativeTargetName;
  arch: string;
  boundsChecks: BoundsChecks;
  /** The .mpy file (import name: its file name without .mpy). */
  mpy: string;
  mpyBytes: number;
  /** What the loader copies into RAM: code and read-only data (mpy_ld's "text"). */
  textBytes: number;
  /** Of the text: instructions and constants (weights, entropy tables, plan), from the objects. */
  code: number;
  constants: number;
  /** Zero-initialised state allocated at import (runtime tables, Python types). */
  bssBytes: number;
  /** The module's linear memory, a GC heap block allocated by Module(). */
  linearMemoryBytes: number;
  /** Exports callable by name (i32 only). */
  exports: string[];
  /** The C library build the module.c came from. */
  native: NativeBuild;
  mpyLd: string;
  cc: string;
}

/** A python3 that can import elftools (mpy_ld.py's one dependency); Debian's first, as pyenv shims may lack it. */
export function requirePythonWithElftools(): string {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", "import elftools"], { encoding: "utf8" });
    if (r.status === 0) return py;
  }
  throw new MissingToolError("python3 with elftools (for MicroPython's mpy_ld.py)", "python3-pyelftools");
}

function vendorFiles(dir = MICROPYTHON_DIR): string[] {
  if (!existsSync(dir)) throw new FailureError("native-build", `MicroPython's sources are missing at ${dir} (see docs/native.md)`);
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? vendorFiles(join(dir, e.name)) : [join(dir, e.name)]))
    .filter((f) => !f.endsWith(".elf"))
    .sort();
}

/** TP_EXPORT(name, arity) for each export wasm2c declared with i32 parameters and result only. */
export function exportTable(moduleH: string): { names: string[]; header: string } {
  const rows: string[] = [];
  const names: string[] = [];
  for (const m of moduleH.matchAll(/^u32 Z_tpZ_(\w+)\(Z_tp_instance_t\*((?:, u32)*)\);$/gm)) {
    const arity = (m[2].match(/u32/g) ?? []).length;
    if (arity > 5) continue; // the glue calls up to five arguments
    names.push(m[1]);
    rows.push(`TP_EXPORT(${m[1]}, ${arity})`);
  }
  return { names, header: `${rows.join("\n")}\n` };
}

/** mpy_ld reaches zero-initialised data only through global symbols: wasm2c's file-scope state loses `static`. */
export function unstaticState(moduleC: string): string {
  return moduleC.replace(/^static ((?:bool|u8|u16|u32|u64|s32|s64) [A-Za-z_0-9]+(?:\[\d+\])?(?: = [^;]*)?;)$/gm, "$1");
}

/** Members of libgcc that define the symbols still undefined (64-bit division…), extracted as objects. */
function pullLibgcc(target: NativeTarget, flags: string[], objects: string[], cwd: string): string[] {
  const libgcc = run(target.cc, [...flags, "--print-libgcc-file-name"]).trim();
  const members = new Map<string, string>();
  for (const line of run(target.nm, ["-A", "--defined-only", libgcc], { cwd }).split("\n")) {
    const m = line.match(/^[^:]+:([^:]+):[0-9a-fA-F]* [TtDdRrBbWwVv] (\S+)$/);
    if (m && !members.has(m[2])) members.set(m[2], m[1]);
  }
  const pulled: string[] = [];
  for (;;) {
    const all = [...objects, ...pulled];
    const defined = new Set(
      run(target.nm, ["--defined-only", ...all], { cwd })
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[2])
        .filter(Boolean),
    );
    const wanted = new Set<string>();
    for (const l of run(target.nm, ["-u", ...all], { cwd }).split("\n")) {
      const s = l.trim().split(/\s+/).pop();
      if (!s || s.endsWith(":") || defined.has(s) || s.startsWith("mp_") || s === "_GLOBAL_OFFSET_TABLE_") continue; // mpy_ld and the loader resolve these
      const member = members.get(s);
      if (!member) throw new FailureError("native-build", `the native module needs ${s}, which neither the glue nor libgcc provides`);
      if (!pulled.includes(`libgcc-${member}`)) wanted.add(member);
    }
    if (wanted.size === 0) return pulled;
    const dir = join(cwd, "libgcc");
    mkdirSync(dir, { recursive: true });
    run(target.ar, ["x", libgcc, ...wanted], { cwd: dir });
    for (const m of wanted) {
      renameSync(join(dir, m), join(cwd, `libgcc-${m}`));
      pulled.push(`libgcc-${m}`);
    }
  }
}

function objectSplit(target: NativeTarget, objects: string[], cwd: string): { code: number; constants: number } {
  let code = 0,
    constants = 0;
  for (const line of run(target.size, ["-A", ...objects], { cwd }).split("\n")) {
    const [name, size] = line.trim().split(/\s+/);
    if (!name || !/^\d+$/.test(size ?? "")) continue;
    if (name.startsWith(".text")) code += +size;
    else if (name.startsWith(".rodata") || name.startsWith(".srodata") || name.startsWith(".data.rel.ro")) constants += +size;
  }
  return { code, constants };
}

export function buildNativeMpy(opts: {
  wasm: Uint8Array;
  target: NativeTarget;
  boundsChecks: BoundsChecks;
  name: string;
  /** Cortex-M7 DSP kernels (the same module.c as the C library's, with the same layers swapped in). */
  simd?: SimdKernels;
}): MpyBuild {
  const { wasm, target, boundsChecks, name } = opts;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new FailureError("native-build", `native module name "${name}" is not a Python identifier`);
  requireTargetTools(target, false);
  const python = requirePythonWithElftools();
  const native = buildNative({ wasm, target, boundsChecks, workload: "encoder", simd: opts.simd });
  const mpyArch = MPY_ARCH[target.name];
  const mpyLd = join(MICROPYTHON_DIR, "tools", "mpy_ld.py");
  const h = createHash("sha256");
  h.update(JSON.stringify({ format: BUILD_FORMAT, native: native.dir, name, mpyArch, cc: toolVersion(target.cc) }));
  for (const f of [...vendorFiles(), ...vendorFiles(join(NATIVE_DIR, "mpy")), join(NATIVE_DIR, "runtime", "wasm-rt-bare.c")]) {
    h.update(relative(NATIVE_DIR, f));
    h.update(readFileSync(f));
  }
  const dir = join(NATIVE_CACHE, `mpy-${target.name}-${boundsChecks}-${name}-${h.digest("hex").slice(0, 24)}`);
  const meta = join(dir, "build.json");
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, "utf8")) as MpyBuild;

  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileSync(join(tmp, "module.c"), unstaticState(readFileSync(join(native.dir, "module.c"), "utf8")));
    writeFileSync(join(tmp, "module.h"), readFileSync(join(native.dir, "module.h")));
    writeFileSync(join(tmp, "wasm-rt.h"), readFileSync(join(native.dir, "wasm-rt.h")));
    const exports = exportTable(readFileSync(join(native.dir, "module.h"), "utf8"));
    writeFileSync(join(tmp, "tp_exports.h"), exports.header);
    const glue = join(NATIVE_DIR, "mpy", "tidepool_mpy.c");
    // The QSTRs the glue uses, as mpy_ld's config header (dynruntime.mk's first step).
    run(python, [mpyLd, "--arch", mpyArch.arch, "--preprocess", "-o", "config.h", glue], { cwd: tmp });
    const cflags = [
      ...mpyArch.cflags,
      "-I",
      tmp,
      "-I",
      MICROPYTHON_DIR,
      "-I",
      join(NATIVE_DIR, "runtime"),
      "-std=c99",
      "-O2",
      "-DNDEBUG",
      "-DNO_QSTR",
      "-DMICROPY_ENABLE_DYNRUNTIME",
      "-DMP_CONFIGFILE=<config.h>",
      `-DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_${mpyArch.floatImpl}`,
      "-fpic",
      "-fno-common",
      "-U_FORTIFY_SOURCE",
      `-DTP_MEMORY_BYTES=${native.linearMemoryBytes}`,
      "-DTP_MEMORY_EXTERNAL",
      "-DTP_STATE=",
      ...boundsCheckFlags(boundsChecks),
    ];
    const kernels = native.simdLayers.length ? [[join(native.dir, "simd-kernels.c"), "simd-kernels.o"]] : [];
    const objects = ["glue.o", "module.o", "runtime.o", ...kernels.map((k) => k[1])];
    for (const [src, obj] of [[glue, "glue.o"], ["module.c", "module.o"], [join(NATIVE_DIR, "runtime", "wasm-rt-bare.c"), "runtime.o"], ...kernels])
      run(target.cc, [...cflags, "-c", src, "-o", obj], { cwd: tmp });
    const libgcc = pullLibgcc(target, mpyArch.libgccFlags, objects, tmp);
    const mpyName = `${name}.mpy`;
    const log = run(python, [mpyLd, "--arch", mpyArch.arch, "--qstrs", "config.h", "-o", mpyName, ...objects, ...libgcc], { cwd: tmp });
    const text = log.match(/text size:\s+(\d+)/),
      bss = log.match(/bss size:\s+(\d+)/);
    if (!text) throw new FailureError("native-build", `cannot read mpy_ld's sizes from its output: ${log}`);
    const split = objectSplit(target, [...objects, ...libgcc], tmp);
    const build: MpyBuild = {
      target: target.name,
      arch: mpyArch.arch,
      boundsChecks,
      mpy: join(dir, mpyName),
      mpyBytes: statSync(join(tmp, mpyName)).size,
      textBytes: +text[1],
      code: split.code,
      constants: split.constants,
      bssBytes: bss ? +bss[1] : 0,
      linearMemoryBytes: native.linearMemoryBytes,
      exports: exports.names,
      native,
      mpyLd: `MicroPython ${readFileSync(join(MICROPYTHON_DIR, "PROVENANCE.md"), "utf8").match(/commit ([0-9a-f]{40})/)?.[1] ?? "(unknown commit)"} tools/mpy_ld.py`,
      cc: toolVersion(target.cc),
    };
    publishBuild(tmp, dir, build);
    return build;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The import name of a board's .mpy (a Python identifier): tidepool_openmv_h7. */
export function mpyModuleName(board: string): string {
  return `tidepool_${board.replace(/[^A-Za-z0-9_]/g, "_")}`;
}
