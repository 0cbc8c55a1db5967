// The packet container (docs/bitstream.md §Container): write/read round trips at odd frame sizes,
// decoding any subset, every damage a clear ContainerError; and `tidepool encode -o` / `decode`
// round-tripping a photo through the CLI.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { loadDefaultModel } from "../../host/build/build.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { repoPath } from "../../host/core/paths.ts";
import { decodeContainer } from "../../host/receiver/decode-container.ts";
import { packetize } from "../../host/wire/bitstream/packetizer.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { ContainerError, modelId, readContainer, writeContainer, type Container } from "../../host/wire/container.ts";
import { runCliInProcess } from "../helpers/cli.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-air-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const model = loadDefaultModel();
const tables = modelTables(model);
const haveDecoder = existsSync(repoPath("models", "decoder.onnx"));

function containerFor(width: number, height: number, packetBytes: number, seed = 1): { c: Container; latent: Uint8Array } {
  const latent = referenceEncode(model, packFrame(randomRgb(seed, width, height), width, height, "rgb888"), width, height, "rgb888");
  const run = packetize(latent, tables, { imageId: 9, packetBytes });
  return {
    c: { board: "host", format: "rgb888", width, height, tablesId: tables.id, modelId: modelId(model), imageId: 9, packetBytes, packets: run.packets },
    latent: latent.data,
  };
}

describe("container format", () => {
  for (const [w, h, p] of [
    [37, 23, 24],
    [1, 1, 12],
    [64, 48, 51],
    [161, 9, 255],
  ] as const) {
    it(`round-trips a ${w}x${h} frame in ${p}-byte packets, and decodes it whole`, async () => {
      const { c, latent } = containerFor(w, h, p);
      const file = writeContainer(c);
      expect(file.length).toBe(31 + 4 + c.packets.reduce((s, x) => s + 1 + x.length, 0));
      const back = readContainer(file, "x.tpk");
      expect(back).toEqual(c);
      const { report } = await decodeContainer(back, model, null);
      expect(report.complete).toBe(true);
      expect(report.used).toEqual(c.packets.map((_, i) => i));
      expect(report.totalSymbols).toBe(latent.length);
    });
  }

  it("decodes a subset: dropped packets are reported, their symbols missing, the rest exact", async () => {
    const { c, latent } = containerFor(64, 48, 16, 3);
    expect(c.packets.length).toBeGreaterThan(6);
    const { report } = await decodeContainer(c, model, null, { drop: [1, 4, 5, 999] });
    expect(report.dropped).toEqual([1, 4, 5]);
    expect(report.used).toEqual(c.packets.map((_, i) => i).filter((i) => ![1, 4, 5].includes(i)));
    expect(report.complete).toBe(false);
    expect(report.symbols).toBeLessThan(latent.length);
    expect(report.symbols).toBeGreaterThan(0);
  });

  it("a damaged packet inside a good container is rejected by its CRC and named; the others decode", async () => {
    const { c } = containerFor(64, 48, 24, 4);
    const bad = { ...c, packets: c.packets.map((p, i) => (i === 2 ? Uint8Array.from(p, (b, k) => (k === 5 ? b ^ 1 : b)) : p)) };
    const { report } = await decodeContainer(readContainer(writeContainer(bad)), model, null);
    expect(report.rejected.map((r) => [r.input, r.kind])).toEqual([[2, "crc"]]);
    expect(report.used).not.toContain(2);
  });

  it("every truncation and every header bit flip is a ContainerError naming the file", () => {
    const file = writeContainer(containerFor(37, 23, 24).c);
    for (let n = 0; n < file.length; n++) {
      expect(() => readContainer(file.subarray(0, n), "cut.tpk")).toThrow(ContainerError);
      try {
        readContainer(file.subarray(0, n), "cut.tpk");
      } catch (e) {
        expect((e as Error).message).toMatch(/^cut\.tpk: /);
      }
    }
    const headerEnd = 27 + 4 + 4; // fixed header, "host", CRC-32
    for (let i = 0; i < headerEnd; i++)
      for (let bit = 0; bit < 8; bit++) {
        const f = Uint8Array.from(file);
        f[i] ^= 1 << bit;
        expect(() => readContainer(f, "flip.tpk")).toThrow(ContainerError);
      }
    expect(() => readContainer(Uint8Array.from([...file, 0]), "t.tpk")).toThrow(/1 bytes after the last of/);
  });

  it("refuses another model's packets and impossible fields when writing", async () => {
    const { c } = containerFor(16, 16, 24);
    await expect(decodeContainer({ ...c, modelId: "00000000000000ff" }, model, null, { source: "m.tpk" })).rejects.toThrow(
      /m\.tpk: coded by model 00000000000000ff/,
    );
    expect(() => writeContainer({ ...c, width: 0 })).toThrow(ContainerError);
    expect(() => writeContainer({ ...c, board: "x".repeat(33) })).toThrow(/longer than 32/);
    expect(() => writeContainer({ ...c, packets: [new Uint8Array(2)] })).toThrow(/outside 3\.\.255/);
  });
});

describe("tidepool encode -o / tidepool decode", () => {
  it("round-trips a photo at an odd size: same packets as --json, any subset decodes, the PNG has the photo's size", async () => {
    const W = 61,
      H = 45;
    const photo = join(tmp, "odd.png");
    writeFileSync(
      photo,
      await sharp(Buffer.from(randomRgb(7, W, H)), { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const out = join(tmp, "odd.tpk");
    const enc = await runCliInProcess(["encode", photo, "-o", out, "--packet-size", "40", "--json"]);
    expect(enc.code, enc.stderr).toBe(0);
    const summary = JSON.parse(enc.stdout);
    const c = readContainer(new Uint8Array(readFileSync(out)));
    expect([c.width, c.height, c.board, c.format, c.packetBytes]).toEqual([W, H, "host", "rgb888", 40]);
    expect(summary.packets).toEqual(c.packets.map((p) => Buffer.from(p).toString("base64")));
    expect(summary.bytes).toBe(c.packets.reduce((s, p) => s + p.length, 0));
    expect(c.packets.every((p) => p.length <= 40)).toBe(true);
    // The WASM packetizer's packets equal the reference packetizer's for the reference encoder's latent.
    const ref = packetize(referenceEncode(model, packFrame(randomRgb(7, W, H), W, H, "rgb888"), W, H, "rgb888"), tables, { imageId: 0, packetBytes: 40 });
    expect(c.packets.map((p) => Buffer.from(p).toString("hex"))).toEqual(ref.packets.map((p) => Buffer.from(p).toString("hex")));

    const dec = await runCliInProcess(["decode", out, "--drop", "0,2-3", "--json"]);
    expect(dec.code, dec.stderr).toBe(0);
    const report = JSON.parse(dec.stdout);
    expect(report.dropped).toEqual([0, 2, 3]);
    expect(report.missing).toEqual([0, 2, 3]);
    expect(report.complete).toBe(false);

    const budget = await runCliInProcess(["encode", photo, "-o", join(tmp, "b.tpk"), "--packet-size", "40", "--budget", "100", "--json"]);
    expect(budget.code, budget.stderr).toBe(0);
    const cut = JSON.parse(budget.stdout);
    expect(cut.bytes).toBeLessThanOrEqual(100);
    expect(cut.complete).toBe(false);
    // A budget is a tail-drop: every packet but the last is the unlimited run's.
    expect(cut.packets.slice(0, -1)).toEqual(summary.packets.slice(0, cut.packets.length - 1));

    if (!haveDecoder) return;
    const png = join(tmp, "odd-out.png");
    const full = await runCliInProcess(["decode", out, "-o", png]);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/packets used/);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([W, H]);
  });

  it("usage errors: -o with several images, both --link and --packet-size, report-mode flags without -o", async () => {
    const two = await runCliInProcess(["encode", "a.png", "b.png", "-o", join(tmp, "x.tpk")]);
    expect([two.code, two.stderr]).toEqual([2, expect.stringMatching(/exactly one IMAGE/)]);
    const both = await runCliInProcess(["encode", "a.png", "-o", join(tmp, "x.tpk"), "--link", "lora-sf7", "--packet-size", "40"]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringMatching(/give one/)]);
    const budget = await runCliInProcess(["encode", "--board", "k210", "a.png", "--budget", "100"]);
    expect([budget.code, budget.stderr]).toEqual([2, expect.stringMatching(/give -o FILE/)]);
    expect(existsSync(join(tmp, "x.tpk"))).toBe(false);
  });
});
