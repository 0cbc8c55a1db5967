// Runs the real `tidepool` bin (or any command) in a child process and captures its output and exit
// code. Asynchronous on purpose: a blocking spawnSync would starve vitest's worker RPC.
import { spawn } from "node:child_process";
import { repoPath } from "../../host/core/paths.ts";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string /** stdout and stderr interleaved */;
  out: string;
}

export function runCommand(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? repoPath(), env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "",
      stderr = "",
      out = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      out += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 180_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, out });
    });
  });
}

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  return runCommand(process.execPath, [repoPath("bin", "tidepool.mjs"), ...args], opts);
}

/**
 * Runs a `tidepool` command inside this test process (no child Node, no tsx start-up): the same
 * main() the bin runs, with stdout/stderr captured. For tests where a child process is not the point;
 * tests of the bin itself (exit status of the process, signals) use runCli.
 */
export async function runCliInProcess(args: string[]): Promise<Ran> {
  const { main } = await import("../../host/cli/main.ts");
  let stdout = "",
    stderr = "",
    out = "";
  const real = { out: process.stdout.write, err: process.stderr.write, log: console.log, error: console.error, warn: console.warn };
  const sink = (to: "out" | "err") => (chunk: unknown) => {
    const s = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString();
    if (to === "out") stdout += s;
    else stderr += s;
    out += s;
    return true;
  };
  const fmt = (a: unknown[]) => `${a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ")}\n`;
  process.stdout.write = sink("out") as typeof process.stdout.write;
  process.stderr.write = sink("err") as typeof process.stderr.write;
  console.log = (...a: unknown[]) => {
    sink("out")(fmt(a));
  };
  console.error = console.warn = (...a: unknown[]) => {
    sink("err")(fmt(a));
  };
  try {
    const code = await main(args);
    return { code, stdout, stderr, out };
  } finally {
    process.stdout.write = real.out;
    process.stderr.write = real.err;
    console.log = real.log;
    console.error = real.error;
    console.warn = real.warn;
  }
}
