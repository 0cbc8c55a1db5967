#!/usr/bin/env node
// `npm run train -- [--config training/configs/shipped.json] [--no-export]`: trains with Debian's
// PyTorch (/usr/bin/python3; `apt-get install -y python3-torch python3-torchvision python3-onnx`),
// resuming from the run's checkpoint, then exports models/ (default.tpm, decoder.onnx,
// latent-stats.json, golden/), fits the bitstream's entropy tables into default.tpm
// (`tidepool fit-tables`) and refreshes memory-maps/ (`tidepool maps`). A decoder-only config (the
// task-aware stage) exports just its decoder; a config with "export": {"dir": D} writes D/ instead of
// models/ (the short config does, so a quick run never replaces the shipped model).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..");
const args = process.argv.slice(2);
const i = args.indexOf("--config");
const config = i >= 0 ? args[i + 1] : join(here, "configs", "short.json");
const python = "/usr/bin/python3";
if (!config || !existsSync(config)) {
  console.error(`npm run train: config ${config} not found`);
  process.exit(2);
}
let cfg;
try {
  cfg = JSON.parse(readFileSync(config, "utf8"));
} catch (e) {
  console.error(`npm run train: config ${config} is not valid JSON: ${e.message}`);
  process.exit(2);
}
if (cfg.kind === "policy") {
  // The adaptive policy trains in TypeScript (host/eval/adaptive/train-policy.ts), as the gateway retrains it.
  const loader = join(repo, "node_modules", "tsx", "dist", "loader.mjs");
  const r = spawnSync(
    process.execPath,
    ["--import", `file://${loader}`, join(repo, "host", "eval", "adaptive", "train-policy.ts"), "--config", resolve(config)],
    { stdio: "inherit", cwd: repo },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
  if (cfg.model === undefined || cfg.model === "models/default.tpm" || cfg.model === "models/default-grey.tpm") {
    const m = spawnSync(process.execPath, [join(repo, "bin", "tidepool.mjs"), "maps"], { stdio: "inherit", cwd: repo });
    process.exit(m.status ?? 1);
  }
  process.exit(0);
}
const modules = cfg.task ? "torch, torchvision, onnx" : "torch, onnx";
const probe = spawnSync(python, ["-c", `import ${modules}`], { encoding: "utf8" });
if (probe.status !== 0) {
  console.error(`npm run train: ${python} cannot import ${modules}. Install them with: apt-get install -y python3-torch python3-torchvision python3-onnx`);
  process.exit(1);
}
const run = (cmd, argv) => {
  const r = spawnSync(cmd, argv, { stdio: "inherit", cwd: repo });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(python, [join(here, "train.py"), "--config", config]);
if (!args.includes("--no-export")) {
  run(python, [join(here, "export.py"), "--run", resolve(repo, cfg.run_dir)]);
  if (cfg.export?.encoder !== false) {
    const tidepool = join(repo, "bin", "tidepool.mjs");
    const dir = cfg.export?.dir ?? "models";
    const images = cfg.export?.images ? ["--images", String(cfg.export.images)] : [];
    run(process.execPath, [tidepool, "fit-tables", "--model", resolve(repo, dir, cfg.export?.model ?? "default.tpm"), ...images]);
    // The memory maps describe the shipped model; a config exporting elsewhere leaves them alone.
    if (dir === "models") run(process.execPath, [tidepool, "maps"]);
  }
}
