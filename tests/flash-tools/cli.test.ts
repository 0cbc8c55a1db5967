import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { repoPath } from "../../host/core/paths.ts";
import { runCli } from "../helpers/cli.ts";
import { SerialPort } from "serialport";

describe("emulate + flash commands", () => {
  it("emulate prints its pty on the first line, flash installs through it, SIGTERM stops it", async () => {
    const emu = spawn(process.execPath, [repoPath("bin", "tidepool.mjs"), "emulate", "--board", "gap8", "--baud", "921600"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const path = await new Promise<string>((resolve, reject) => {
        let out = "";
        emu.stdout.on("data", (d) => {
          out += d;
          const nl = out.indexOf("\n");
          if (nl >= 0) resolve(out.slice(0, nl));
        });
        emu.on("exit", (c) => reject(new Error(`emulate exited with ${c}`)));
      });
      expect(path).toMatch(/^\/dev\/pts\/\d+$/);
      const r = await runCli(["flash", "--board", "gap8", "--port", path, "--baud", "921600", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ board: "gap8", verified: true, bridgeWritten: true, moduleWritten: true });
      expect(report.bytes).toBeGreaterThan(5000);
      expect(report.seconds).toBeGreaterThan(0);
      const again = JSON.parse((await runCli(["flash", "--board", "gap8", "--port", path, "--baud", "921600", "--json"])).stdout);
      expect(again).toMatchObject({ bytes: 0, verified: true });
    } finally {
      const exited = new Promise((r) => emu.once("exit", r));
      emu.kill("SIGTERM");
      await exited;
    }
  });

  it("flash to a port that does not exist fails clearly", async () => {
    const r = await runCli(["flash", "--board", "k210", "--port", "/dev/does-not-exist"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot open serial port \/dev\/does-not-exist/);
  });

  it("boards --detect works without udevadm", async () => {
    const r = await runCli(["boards", "--detect", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout).ports)).toBe(true);
  });
});

export { SerialPort };
