// Runs the real `tidepool` bin (or any command) in a child process and captures its output and exit
// code. Asynchronous on purpose: a blocking spawnSync would starve vitest's worker RPC.
import { spawn } from "node:child_process";
import { repoPath } from "../../host/paths.ts";

export interface Ran { code: number | null; stdout: string; stderr: string; /** stdout and stderr interleaved */ out: string }

export function runCommand(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? repoPath(), env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", out = "";
    child.stdout.on("data", (d) => { stdout += d; out += d; });
    child.stderr.on("data", (d) => { stderr += d; out += d; });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 180_000);
    child.on("error", reject);
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, out }); });
  });
}

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  return runCommand(process.execPath, [repoPath("bin", "tidepool.mjs"), ...args], opts);
}
