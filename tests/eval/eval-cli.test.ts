// `tidepool eval` end to end on two small Kodak crops: the --json shape, the HTML page, the message
// when no trained decoder is installed, and clear errors for bad input.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DECODER_ONNX, DECODER_TASK_ONNX } from "../../host/eval/tidepool-codec.ts";
import { runCli } from "../helpers/cli.ts";
import { KODAK_DIR } from "./msssim-pairs.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-eval-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("tidepool eval", () => {
  it("--json prints one object of codecs with bytes/bpp/psnr/msssim points, and --html writes the curves", async () => {
    const html = join(tmp, "rd.html");
    const r = await runCli([
      "eval",
      "--images",
      KODAK_DIR,
      "--size",
      "224",
      "--limit",
      "2",
      "--codecs",
      "tidepool,jpeg-turbo,webp",
      "--rate-images",
      "40",
      "--json",
      "--html",
      html,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(["codecs"]);
    const names = out.codecs.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(["jpeg-turbo", "jpeg-turbo-bestscale", "webp", "webp-bestscale"]));
    if (existsSync(DECODER_ONNX)) expect(names).toContain("tidepool");
    else {
      expect(names).not.toContain("tidepool");
      expect(r.stderr).toContain("no trained decoder installed (models/decoder.onnx)");
    }
    const jpeg = out.codecs.find((c: { name: string }) => c.name === "jpeg-turbo");
    expect(jpeg.points.length).toBeGreaterThan(2);
    for (const p of jpeg.points) {
      expect(Object.keys(p)).toEqual(["bytes", "bpp", "psnr", "msssim"]);
      expect(p.bpp).toBeCloseTo((8 * p.bytes) / (224 * 224), 4);
      expect(p.msssim).toBeGreaterThan(0.5);
      expect(p.msssim).toBeLessThan(1);
    }
    const ms = jpeg.points.map((p: { msssim: number }) => p.msssim);
    expect(ms[ms.length - 1]).toBeGreaterThan(ms[0]);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<svg");
    expect(page).toContain("jpeg-turbo-bestscale");
    expect(page).toContain("<polyline");
  });

  it("--jobs 2 (images split over child processes) gives the same curves as one process", async () => {
    const args = ["eval", "--images", KODAK_DIR, "--size", "224", "--limit", "2", "--codecs", "jpeg-mozjpeg", "--json"];
    const [one, two] = await Promise.all([runCli(args), runCli([...args, "--jobs", "2"])]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout)).toEqual(JSON.parse(one.stdout));
  });

  it("fails clearly on a missing directory, a directory without images, unknown codecs and tiny sizes", async () => {
    const missing = await runCli(["eval", "--images", join(tmp, "nope")]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope: no such directory/);
    writeFileSync(join(tmp, "notes.txt"), "x");
    const none = await runCli(["eval", "--images", tmp]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no image files/);
    const bad = await runCli(["eval", "--images", KODAK_DIR, "--codecs", "jpeg2000"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown codec jpeg2000/);
    const tiny = await runCli(["eval", "--images", KODAK_DIR, "--size", "64"]);
    expect(tiny.code).toBe(2);
    expect(tiny.stderr).toMatch(/--size must be an integer >= 161/);
    const nodec = await runCli(["eval", "--images", KODAK_DIR, "--decoder", join(tmp, "missing.onnx")]);
    expect(nodec.code).toBe(2);
    expect(nodec.stderr).toMatch(/--decoder: no such file .*missing.onnx/);
  });

  it("--decoder evaluates Tidepool with another server decoder for the same encoder and bytes", async () => {
    if (!existsSync(DECODER_ONNX) || !existsSync(DECODER_TASK_ONNX)) return;
    const args = ["eval", "--images", KODAK_DIR, "--size", "224", "--limit", "1", "--codecs", "tidepool", "--json"];
    const [shipped, task] = await Promise.all([runCli(args), runCli([...args, "--decoder", DECODER_TASK_ONNX])]);
    expect(shipped.code, shipped.stderr).toBe(0);
    expect(task.code, task.stderr).toBe(0);
    const points = (r: { stdout: string }) => JSON.parse(r.stdout).codecs.find((c: { name: string }) => c.name === "tidepool").points;
    const [a, b] = [points(shipped), points(task)];
    expect(b.map((p: { bytes: number }) => p.bytes)).toEqual(a.map((p: { bytes: number }) => p.bytes));
    expect(b.map((p: { msssim: number }) => p.msssim)).not.toEqual(a.map((p: { msssim: number }) => p.msssim));
  });

  it("names a corrupt image file", async () => {
    const dir = join(tmp, "corrupt");
    rmSync(dir, { recursive: true, force: true });
    await import("node:fs").then((fs) => fs.mkdirSync(dir));
    writeFileSync(join(dir, "broken.png"), "not a png");
    const r = await runCli(["eval", "--images", dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/broken\.png: cannot decode image/);
  });
});
