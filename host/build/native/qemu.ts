// Runs a native firmware under QEMU with the instruction-counting plugin: the input file is written
// to a fresh directory that QEMU's semihosting sees as its working directory, the output read back.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailureError } from "../../core/errors.ts";
import type { NativeBuild } from "./compile.ts";
import { buildCountingPlugin } from "./plugin.ts";
import { NATIVE_TARGETS } from "./targets.ts";
import { requireTool } from "./toolchain.ts";

export interface QemuRun {
  output: Uint8Array;
  /** Instructions counted between the markers, one entry per tp_count_cut in the harness. */
  counts: number[];
  /** Instructions of each of the build's layer functions (build.layerFunctions order), over the whole run. */
  functionCounts: number[];
  /** Every instruction the guest executed (startup, file I/O and the C library included). */
  totalInstructions: number;
  qemu: string;
  wallMs: number;
}

export function runUnderQemu(build: NativeBuild, input: Uint8Array, timeoutMs = 300_000): QemuRun {
  const target = NATIVE_TARGETS[build.target];
  const qemu = requireTool(target.qemu, target.packages.qemu);
  const plugin = buildCountingPlugin();
  const dir = mkdtempSync(join(tmpdir(), "tidepool-qemu-"));
  try {
    writeFileSync(join(dir, "tp-in.bin"), input);
    const hex = (n: number) => `0x${n.toString(16)}`;
    const args = [
      ...target.qemuArgs,
      "-plugin",
      [
        `${plugin},on=${hex(build.markers.on)},off=${hex(build.markers.off)},cut=${hex(build.markers.cut)}`,
        ...(build.layerFunctions ?? []).map((f) => `fn=${hex(f.start)}:${hex(f.end)}`),
        `out=${join(dir, "counts.txt")}`,
      ].join(","),
      "-kernel",
      build.elf,
    ];
    const t0 = Date.now();
    const r = spawnSync(qemu, args, { cwd: dir, encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 << 20 });
    const wallMs = Date.now() - t0;
    const said = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
    if (r.error) throw new FailureError("qemu", `${target.qemu} could not run ${build.elf}: ${r.error.message}${said ? `\n${said}` : ""}`);
    // Semihosting passes the guest's exit status only as 0/1 on Arm: the output file is the real check.
    if (r.status !== 0)
      throw new FailureError("qemu", `${target.qemu} exited with ${r.status ?? r.signal} running ${build.elf}${said ? `:\n${said.slice(-2000)}` : ""}`);
    const outFile = join(dir, "tp-out.bin"),
      countFile = join(dir, "counts.txt");
    if (!existsSync(outFile)) throw new FailureError("qemu", `the firmware wrote no output${said ? `:\n${said.slice(-2000)}` : ""}`);
    if (!existsSync(countFile))
      throw new FailureError("qemu", `the counting plugin wrote no counts (QEMU built without plugin support?)${said ? `\n${said.slice(-2000)}` : ""}`);
    const lines = readFileSync(countFile, "utf8").trim().split("\n");
    const counts = lines.filter((l) => l.startsWith("count ")).map((l) => Number(l.slice(6)));
    const total = Number(lines.find((l) => l.startsWith("total "))?.slice(6));
    const functionCounts = lines.filter((l) => l.startsWith("fn ")).map((l) => Number(l.split(" ")[2]));
    const version = spawnSync(qemu, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0].trim();
    return { output: new Uint8Array(readFileSync(outFile)), counts, functionCounts, totalInstructions: total, qemu: version, wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
