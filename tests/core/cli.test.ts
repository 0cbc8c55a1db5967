import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, runCliInProcess } from "../helpers/cli.ts";
import { writeModel } from "../../host/model/format.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { samplePhotos } from "../../host/image/samples.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-cli-"));

describe("tidepool CLI", () => {
  it("lists boards", async () => {
    const r = await runCliInProcess(["boards"]);
    expect(r.code).toBe(0);
    for (const b of ["gap8", "gap9", "k210", "esp32s3-cam", "openmv-h7"]) expect(r.stdout).toContain(b);
  });

  it("build --json prints one object and writes the wasm, map and report", async () => {
    const out = join(tmp, "k210");
    const r = await runCliInProcess(["build", "--board", "k210", "--frame", "160x120", "--format", "rgb888", "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ board: "k210", frame: "160x120", format: "rgb888", arenaBudgetBytes: 524288 });
    for (const k of ["arenaBytes", "moduleBytes"]) expect(report[k]).toBeGreaterThan(0);
    expect(readFileSync(report.wasm).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
    expect(readFileSync(report.map, "utf8")).toContain("layer0.lines");
    expect(JSON.parse(readFileSync(join(out, "tidepool-k210.map.json"), "utf8")).regions.length).toBeGreaterThan(5);
  });

  it("an unknown board fails with the list of known boards", async () => {
    const r = await runCliInProcess(["build", "--board", "esp8266"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown board "esp8266": known boards are esp32s3-cam, gap8, gap9, k210, openmv-h7');
  });

  it("a corrupt model file fails naming the file and the problem, and leaves the previous build intact", async () => {
    const out = join(tmp, "keep");
    expect((await runCliInProcess(["build", "--board", "gap8", "--out", out])).code).toBe(0);
    const before = readFileSync(join(out, "tidepool-gap8.wasm"));
    const bad = join(tmp, "bad.tpm");
    const bytes = writeModel(randomModel());
    writeFileSync(bad, bytes.subarray(0, 200));
    const r = await runCliInProcess(["build", "--board", "gap8", "--model", bad, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.tpm: truncated/);
    expect(readFileSync(join(out, "tidepool-gap8.wasm"))).toEqual(before);
  });

  it("an oversized frame fails naming the region over budget", async () => {
    const r = await runCliInProcess(["build", "--board", "gap8", "--frame", "2000x2000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/arena for gap8 does not fit: .* bytes over\); region "/);
  });

  it("bad arguments exit 2 with usage", async () => {
    const r = await runCli(["build", "--board", "k210", "--frame", "big"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid frame size "big"');
    const yuv = await runCli(["build", "--board", "k210", "--format", "yuv"]);
    expect(yuv.code).toBe(2);
    expect(yuv.stderr).toContain('unknown pixel format "yuv"');
    expect((await runCli(["frobnicate"])).code).toBe(2);
  });

  it("encode --json reports the latent for each image; a non-image fails clearly", async () => {
    const [photo] = samplePhotos();
    const r = await runCliInProcess(["encode", "--board", "openmv-h7", photo, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.images[0].latent).toEqual({ width: 40, height: 30, channels: 12, symbols: 14400 });
    const junk = join(tmp, "junk.png");
    writeFileSync(junk, "not a png");
    const bad = await runCliInProcess(["encode", "--board", "k210", junk]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/junk\.png: cannot decode image/);
    const missing = await runCliInProcess(["encode", "--board", "k210", join(tmp, "nope.jpg")]);
    expect(missing.stderr).toMatch(/nope\.jpg: (file not found|cannot decode)/);
    expect(existsSync(junk)).toBe(true);
  });

  it("the committed memory maps are current for the default model and the task encoder", async () => {
    const r = await runCliInProcess(["maps", "--check"]);
    expect(r.code, r.stderr).toBe(0);
  });
});
