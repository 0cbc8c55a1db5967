#!/usr/bin/env node
// `npm run train -- [--config training/configs/shipped.json] [--no-export]`: trains with Debian's
// PyTorch (/usr/bin/python3; `apt-get install -y python3-torch python3-onnx`), resuming from the
// run's checkpoint, then exports models/ (default.tpm, decoder.onnx, latent-stats.json, golden/).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const i = args.indexOf("--config");
const config = i >= 0 ? args[i + 1] : join(here, "configs", "short.json");
const python = "/usr/bin/python3";
const probe = spawnSync(python, ["-c", "import torch, onnx"], { encoding: "utf8" });
if (probe.status !== 0) {
  console.error(`npm run train: ${python} cannot import torch/onnx. Install them with: apt-get install -y python3-torch python3-onnx`);
  process.exit(1);
}
if (!existsSync(config)) { console.error(`npm run train: config ${config} not found`); process.exit(2); }
const run = (script, extra) => {
  const r = spawnSync(python, [join(here, script), ...extra], { stdio: "inherit", cwd: join(here, "..") });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run("train.py", ["--config", config]);
if (!args.includes("--no-export")) run("export.py", ["--run", join(here, "..", JSON.parse(readFileSync(config, "utf8")).run_dir)]);
