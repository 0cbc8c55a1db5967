// The QEMU instruction-counting plugin (native/qemu-plugin/insn-count.c), compiled for the host with
// the host's gcc and cached next to the native builds.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { NATIVE_CACHE, NATIVE_DIR } from "./compile.ts";
import { requireTool, run } from "./toolchain.ts";

export function buildCountingPlugin(): string {
  const gcc = requireTool("gcc", "gcc");
  const src = join(NATIVE_DIR, "qemu-plugin", "insn-count.c");
  const hdr = join(NATIVE_DIR, "qemu-plugin", "qemu-plugin-v1.h");
  const key = createHash("sha256").update(readFileSync(src)).update(readFileSync(hdr)).digest("hex").slice(0, 16);
  const so = join(NATIVE_CACHE, `insn-count-${key}.so`);
  if (existsSync(so)) return so;
  mkdirSync(NATIVE_CACHE, { recursive: true });
  const tmp = `${so}.tmp-${process.pid}`;
  run(gcc, ["-O2", "-shared", "-fPIC", "-Wall", "-o", tmp, src]);
  renameSync(tmp, so);
  return so;
}
