// Runs the real `tidepool` bin in a child process and captures its output and exit code.
// Asynchronous on purpose: a blocking spawnSync would starve vitest's worker RPC.
import { spawn } from "node:child_process";
import { repoPath } from "../../host/paths.ts";

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [repoPath("bin", "tidepool.mjs"), ...args], {
      cwd: opts.cwd ?? repoPath(), env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("error", reject);
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
