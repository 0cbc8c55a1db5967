// `npm run train` end to end with Debian's PyTorch, on a tiny config in a temporary directory:
// training, resuming from the checkpoint, export (model file, ONNX decoder, golden vectors, weights),
// the entropy tables fitted into the exported model, and the task-aware stage (encoder frozen, decoder
// distilled into MobileNetV2) that exports a decoder pairing with the same encoder. The exported
// golden latents must come out of the built WASM bit for bit.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildEncoder } from "../../host/build/build.ts";
import { loadDecoder } from "../../host/receiver/decoder.ts";
import { readModel } from "../../host/model/format.ts";
import { repoPath } from "../../host/core/paths.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { runCommand, type Ran } from "../helpers/cli.ts";

const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch, torchvision, onnx"]).status === 0;
const tmp = mkdtempSync(join(tmpdir(), "tidepool-train-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function train(config: object, extra: string[] = []): Promise<Ran> {
  const path = join(tmp, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(config));
  return runCommand(process.execPath, [repoPath("training", "run.mjs"), "--config", path, ...extra], { timeoutMs: 280_000 });
}

const run = join(tmp, "run");
const models = join(tmp, "models");
/** The knobs every test run shares: a tiny batch and crop on one thread, so a stage runs in seconds. */
const TINY_RUN = { batch: 2, crop: 96, threads: 1, log_every: 1 };
const base = {
  ...TINY_RUN,
  run_dir: run,
  seed: 3,
  lr: 0.001,
  lambda: 0.1,
  log_every: 2,
  checkpoint_every: 2,
  calibrate_steps: 2,
  encoder: [
    [8, 3, 2, 1],
    [8, 3, 2, 1],
    [6, 3, 2, 1],
  ],
  decoder: { width: 16, blocks: 1, up: [8, 8, 4], up_blocks: [0, 0, 0] },
  export: { dir: models, images: 40 },
};

describe.skipIf(!hasTorch)("npm run train (Debian python3-torch)", () => {
  it("trains, resumes from its checkpoint, and exports a model the WASM encoder reproduces bit for bit", async () => {
    const first = await train({ ...base, steps: 2 }, ["--no-export"]);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/step 2 ms-ssim/);
    expect(existsSync(join(run, "checkpoint.pt"))).toBe(true);

    const second = await train({ ...base, steps: 4 });
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain("resumed from step 2");
    expect(second.out).toMatch(/step 4 ms-ssim/);
    expect(second.out).toMatch(/wrote ENTR tables/);
    expect(readFileSync(join(run, "train.log"), "utf8")).toContain("resumed from step 2");

    const bytes = readFileSync(join(models, "default.tpm"));
    const model = readModel(bytes, "exported model");
    expect(model.layers.map((l) => [l.outChannels, l.kernel, l.stride])).toEqual([
      [8, 3, 2],
      [8, 3, 2],
      [6, 3, 2],
    ]);
    expect(model.entropy).toBeTruthy();
    expect(model.meta.steps).toBe(4);
    expect(existsSync(join(models, "codec-weights.pt"))).toBe(true);

    const golden = JSON.parse(readFileSync(join(models, "golden", "latents.json"), "utf8"));
    expect(golden.vectors.length).toBeGreaterThan(0);
    for (const v of golden.vectors) {
      const built = await buildEncoder({ board: "k210", model, width: v.width, height: v.height, format: "rgb888" });
      const enc = await EncoderInstance.load(built.wasm, built.board);
      const got = enc.encode(new Uint8Array(Buffer.from(v.rgb888, "base64")), v.width, v.height, "rgb888");
      expect(Buffer.from(got.data).equals(Buffer.from(v.latent.symbols, "base64")), v.image).toBe(true);
    }
    const dec = await loadDecoder(join(models, "decoder.onnx"));
    const v = golden.vectors[0];
    const latent = { width: v.latent.width, height: v.latent.height, channels: 6, data: new Uint8Array(Buffer.from(v.latent.symbols, "base64")) };
    const img = await dec.decode(latent, new Uint8Array(latent.data.length).fill(1), model);
    expect([img.width, img.height]).toEqual([latent.width * 8, latent.height * 8]);
    await dec.close();
  });

  it("the task-aware stage starts from the exported weights, keeps the encoder, and exports only a decoder", async () => {
    const tpm = readFileSync(join(models, "default.tpm"));
    const task = {
      run_dir: join(tmp, "task"),
      init_from: join(models, "codec-weights.pt"),
      freeze_encoder: true,
      seed: 4,
      steps: 2,
      ...TINY_RUN,
      lr: 0.0003,
      lambda: 0,
      checkpoint_every: 2,
      task: { weight: 0.1, temperature: 2 },
      export: { dir: models, encoder: false, decoder: "decoder-task.onnx" },
    };
    const r = await train(task);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/initialised from .*codec-weights.pt/);
    expect(r.out).toMatch(/step 2 ms-ssim .* kd \d/);
    expect(r.out).toMatch(/golden latents match/);
    expect(readFileSync(join(models, "default.tpm")).equals(tpm)).toBe(true); // the encoder is untouched
    const model = readModel(tpm, "exported model");
    const dec = await loadDecoder(join(models, "decoder-task.onnx"));
    const latent = { width: 4, height: 3, channels: 6, data: new Uint8Array(72).fill(8) };
    const img = await dec.decode(latent, new Uint8Array(72).fill(1), model);
    expect([img.width, img.height]).toEqual([32, 24]);
    await dec.close();
  });

  it("a grey stage starts from the colour weights (first layer summed), keeps the decoder, and exports a 1-channel model under its own names", async () => {
    const decoderBefore = readFileSync(join(models, "decoder.onnx"));
    const greyRun = {
      run_dir: join(tmp, "grey"),
      init_from: join(models, "codec-weights.pt"),
      input_channels: 1,
      freeze_decoder: true,
      seed: 5,
      steps: 2,
      ...TINY_RUN,
      lr: 0.0003,
      lambda: 0.1,
      checkpoint_every: 2,
      calibrate_steps: 1,
      export: {
        dir: models,
        images: 40,
        model: "default-grey.tpm",
        decoder: null,
        golden: "golden/latents-grey.json",
        stats: "latent-stats-grey.json",
        weights: "codec-weights-grey.pt",
        name: "test-grey",
      },
    };
    const r = await train(greyRun);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/initialised from .*codec-weights.pt/);
    expect(r.out).toMatch(/wrote ENTR tables .* into .*default-grey.tpm/);
    expect(readFileSync(join(models, "decoder.onnx")).equals(decoderBefore)).toBe(true);
    const grey = readModel(readFileSync(join(models, "default-grey.tpm")), "grey model");
    expect([grey.meta.name, grey.input.channels, grey.layers[0].inChannels]).toEqual(["test-grey", 1, 1]);
    expect(grey.entropy).toBeTruthy();
    const golden = JSON.parse(readFileSync(join(models, "golden", "latents-grey.json"), "utf8"));
    const v = golden.vectors[0];
    for (const format of ["gray8", "rgb888"] as const) {
      const built = await buildEncoder({ board: "gap8", model: grey, width: v.width, height: v.height, format });
      const enc = await EncoderInstance.load(built.wasm, built.board);
      const got = enc.encode(new Uint8Array(Buffer.from(format === "gray8" ? v.gray8 : v.rgb888, "base64")), v.width, v.height, format);
      expect(Buffer.from(got.data).equals(Buffer.from(v.latent.symbols, "base64")), `${v.image} ${format}`).toBe(true);
    }
  });

  it("a task-encoder stage trains encoder and decoder (decoder from an ONNX one), exports under its own names, never over the picture codec", async () => {
    const pictureBefore = readFileSync(join(models, "default.tpm"));
    const taskRun = {
      run_dir: join(tmp, "task-encoder"),
      init_from: join(models, "codec-weights.pt"),
      init_decoder_from: join(models, "decoder-task.onnx"),
      seed: 6,
      steps: 2,
      ...TINY_RUN,
      lr: 0.0002,
      lambda: 3,
      checkpoint_every: 2,
      calibrate_steps: 1,
      distortion_weight: 1,
      tail_drop: 0.75,
      erasure: 0.5,
      task: { weight: 1, temperature: 2 },
      export: {
        dir: models,
        images: 40,
        model: "task.tpm",
        decoder: "decoder-task-encoder.onnx",
        golden: "golden/latents-task.json",
        stats: "latent-stats-task.json",
        weights: "codec-weights-task.pt",
        name: "test-task",
      },
    };
    const r = await train(taskRun);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/decoder initialised from .*decoder-task.onnx/);
    expect(r.out).toMatch(/step 2 ms-ssim .* kd \d/);
    expect(r.out).toMatch(/wrote ENTR tables .* into .*task.tpm/);
    expect(readFileSync(join(models, "default.tpm")).equals(pictureBefore)).toBe(true);
    const task = readModel(readFileSync(join(models, "task.tpm")), "task model");
    expect(task.meta.name).toBe("test-task");
    expect(task.entropy).toBeTruthy();
    const golden = JSON.parse(readFileSync(join(models, "golden", "latents-task.json"), "utf8"));
    const v = golden.vectors[0];
    const built = await buildEncoder({ board: "k210", model: task, width: v.width, height: v.height, format: "rgb888" });
    const enc = await EncoderInstance.load(built.wasm, built.board);
    const got = enc.encode(new Uint8Array(Buffer.from(v.rgb888, "base64")), v.width, v.height, "rgb888");
    expect(Buffer.from(got.data).equals(Buffer.from(v.latent.symbols, "base64"))).toBe(true);
    // Named like the picture codec's files: refused before anything is written.
    const clash = await train({ ...taskRun, run_dir: join(tmp, "task-encoder-clash"), steps: 1, export: { ...taskRun.export, model: "default.tpm" } });
    expect(clash.code).not.toBe(0);
    expect(clash.out).toMatch(/would overwrite the picture codec's default.tpm/);
    expect(readFileSync(join(models, "default.tpm")).equals(pictureBefore)).toBe(true);
  });

  it("a fast stage: a new encoder architecture takes only the decoder and prior (init_parts), distils onto the teacher's latent, then trains end to end with the decoder frozen", async () => {
    const fastRun = {
      run_dir: join(tmp, "fast"),
      init_from: join(models, "codec-weights.pt"),
      init_parts: ["dec", "prior"],
      freeze_decoder: true,
      encoder: [
        [8, 4, 4, 0],
        [6, 3, 2, 1],
      ],
      distil: { teacher: join(models, "codec-weights.pt"), steps: 2, lr: 0.002, batch: 2 },
      seed: 7,
      steps: 4,
      ...TINY_RUN,
      lr: 0.0003,
      lambda: 0.1,
      checkpoint_every: 2,
      calibrate_steps: 2,
    };
    const r = await train(fastRun, ["--no-export"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/step 2 distil latent mse \d/);
    expect(r.out).toMatch(/step 4 ms-ssim/);
    // The decoder in the checkpoint is the initial one, unchanged; the encoder has the new layers.
    const check = spawnSync(PYTHON, [
      "-c",
      `import torch; a = torch.load(${JSON.stringify(join(tmp, "fast", "checkpoint.pt"))}); b = torch.load(${JSON.stringify(join(models, "codec-weights.pt"))}); ` +
        `print(all(torch.equal(a['dec'][k], b['dec'][k]) for k in b['dec']), tuple(a['enc']['convs.0.weight'].shape))`,
    ]);
    expect(check.stdout.toString().trim()).toBe("True (8, 3, 4, 4)");
  });

  it("refuses a decoder-only export whose encoder no longer matches the golden latents", async () => {
    const other = join(tmp, "other-models");
    const a = await train({ ...base, run_dir: join(tmp, "run-other"), seed: 9, steps: 2, export: { dir: other, images: 40 } });
    expect(a.code, a.out).toBe(0);
    // A task stage initialised from the first run but exported next to the second run's golden vectors.
    const bad = await train({
      run_dir: join(tmp, "task-bad"),
      init_from: join(models, "codec-weights.pt"),
      freeze_encoder: true,
      seed: 4,
      steps: 1,
      ...TINY_RUN,
      lr: 0.0003,
      lambda: 0,
      checkpoint_every: 1,
      export: { dir: other, encoder: false, decoder: "decoder-task.onnx" },
    });
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/does not reproduce .*latents.json/);
    expect(existsSync(join(other, "decoder-task.onnx"))).toBe(false);
  });

  it("fails clearly on a missing or malformed config and a missing init_from", async () => {
    const missing = spawnSync(process.execPath, [repoPath("training", "run.mjs"), "--config", join(tmp, "nope.json")], { encoding: "utf8" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope.json not found/);
    writeFileSync(join(tmp, "bad.json"), "{ not json");
    const bad = spawnSync(process.execPath, [repoPath("training", "run.mjs"), "--config", join(tmp, "bad.json")], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad.json is not valid JSON/);
    const r = await train({ ...base, run_dir: join(tmp, "run-init"), steps: 1, init_from: join(tmp, "absent.pt") }, ["--no-export"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/init_from .*absent.pt not found/);
  });
});
