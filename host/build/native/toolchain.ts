// Finding and running the native tools: every missing one is reported with the Debian package that
// installs it (CI installs them all from .ci/apt-packages).
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { FailureError, TidepoolError, EXIT_FAILURE } from "../../core/errors.ts";
import type { NativeTarget } from "./targets.ts";

/** A tool the native build needs is not installed. Exit 1: the machine, not the input, is at fault. */
export class MissingToolError extends TidepoolError {
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
  ) {
    super(
      "missing-tool",
      `${tool} not found: install the Debian package ${debianPackage} (apt-get install --no-install-recommends ${debianPackage})`,
      EXIT_FAILURE,
    );
  }
}

export function findOnPath(tool: string, skip?: (dir: string) => boolean): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir || skip?.(dir)) continue;
    const p = join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function requireTool(tool: string, debianPackage: string): string {
  const p = findOnPath(tool);
  if (!p) throw new MissingToolError(tool, debianPackage);
  return p;
}

/** wasm2c and the runtime header it was built against, both from Debian's wabt. */
export const WASM_RT_HEADER = "/usr/include/wasm-rt.h";

export function requireWasm2c(): { wasm2c: string; header: string } {
  // npm's wabt package puts its own wasm2c (another version, no runtime headers) on npm's PATH:
  // its output does not compile against Debian's wasm-rt.h, so only a system wasm2c is taken.
  const wasm2c = findOnPath("wasm2c", (dir) => dir.includes("node_modules"));
  if (!wasm2c) throw new MissingToolError("wasm2c", "wabt");
  if (!existsSync(WASM_RT_HEADER)) throw new MissingToolError(WASM_RT_HEADER, "wabt");
  return { wasm2c, header: WASM_RT_HEADER };
}

/** Compiler, C library and QEMU of a target. */
export function requireTargetTools(t: NativeTarget, withQemu = true) {
  requireTool(t.cc, t.packages.cc);
  if (!existsSync(t.libcProbe)) throw new MissingToolError(`C library (${t.libcProbe})`, t.packages.libc);
  if (withQemu) requireTool(t.qemu, t.packages.qemu);
}

/** Runs a tool to completion; a non-zero exit is a FailureError carrying its output. */
export function run(tool: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(tool, args, { cwd: opts.cwd, encoding: "utf8", timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 });
  if (r.error) throw new FailureError("native-tool", `${tool} could not run: ${r.error.message}`);
  if (r.status !== 0)
    throw new FailureError("native-tool", `${tool} ${args.join(" ")} failed (exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout).trim().slice(-4000)}`);
  return r.stdout;
}

/** First line of `tool --version` (part of the build cache key). */
export function toolVersion(tool: string): string {
  const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
  return (r.stdout || r.stderr || "").split("\n")[0].trim();
}
