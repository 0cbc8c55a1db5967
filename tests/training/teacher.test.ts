// The differentiable MobileNetV2 teacher (training/teacher.py) against onnxruntime-node on the int8
// ONNX it was rebuilt from: per-op integers equal except at rounding ties, and top-1 agreement on
// test-split images above the int8 model's own noise floor (docs/training.md).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { repoPath } from "../../host/core/paths.ts";
import { runCommand, type Ran } from "../helpers/cli.ts";

const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch, torchvision, onnx"]).status === 0;

function check(args: string[]): Promise<Ran> {
  return runCommand(PYTHON, [repoPath("training", "teacher_check.py"), "--node", process.execPath, ...args], { timeoutMs: 280_000 });
}

describe.skipIf(!hasTorch)("MobileNetV2 teacher", () => {
  it("matches onnxruntime op by op and agrees on top-1 for test-split images", async () => {
    const r = await check(["--n", "24", "--per-op", "1", "--threads", "2"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/OK: top-1 agreement \d\.\d+ >= 0.9 on 24 images/);
    expect(r.out).not.toMatch(/FAIL/);
  });

  it("names a missing classifier file", async () => {
    const r = await check(["--n", "2", "--per-op", "0", "--model", "/nonexistent/mobilenet.onnx"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/\/nonexistent\/mobilenet.onnx/);
  });
});
