// fit-tables and simulate through the real CLI, and prefix decoding with the shipped model and decoder.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodePacketSet } from "../../host/receiver/packet-decoder.ts";
import { packetize } from "../../host/wire/bitstream/packetizer.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { msssim } from "../../host/eval/metrics.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { readModel } from "../../host/model/format.ts";
import { repoPath } from "../../host/core/paths.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { runCli } from "../helpers/cli.ts";
import { kodakImages } from "../helpers/frames.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-bitstream-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const shipped = repoPath("models", "default.tpm");
const haveDecoder = existsSync(repoPath("models", "decoder.onnx")) && existsSync(shipped);
const fitted = join(tmp, "fitted.tpm");

describe("tidepool fit-tables", () => {
  it("fits on the training split and writes the ENTR section to --out, leaving the input untouched", async () => {
    if (!existsSync(shipped)) return;
    const src = join(tmp, "model.tpm");
    copyFileSync(shipped, src);
    const before = readFileSync(src);
    const r = await runCli(["fit-tables", "--model", src, "--out", fitted, "--images", "40", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.source).toMatch(/label_index % 5 != 0/);
    expect(summary.trainingBitsPerSymbol.context).toBeLessThan(summary.trainingBitsPerSymbol.staticPerChannel);
    expect(readFileSync(src).equals(before)).toBe(true);
    const m = readModel(new Uint8Array(readFileSync(fitted)), fitted);
    expect(modelTables(m).id).toBe(summary.tablesId);
  });

  it("rejects a corrupt model and bad options with one clear message", async () => {
    const junk = join(tmp, "junk.tpm");
    writeFileSync(junk, "TPMD not really");
    const r = await runCli(["fit-tables", "--model", junk, "--out", join(tmp, "x.tpm")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/junk\.tpm/);
    expect(existsSync(join(tmp, "x.tpm"))).toBe(false);
    const b = await runCli(["fit-tables", "--block", "0x4"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--block/);
  });
});

describe("tidepool simulate", () => {
  it("reports delivered packets and quality for Tidepool, JPEG and progressive JPEG on a link", async () => {
    if (!existsSync(fitted) || !kodakImages().length) return;
    const dir = join(tmp, "imgs");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir);
    copyFileSync(kodakImages()[2], join(dir, "k.png"));
    const r = await runCli([
      "simulate",
      "--images",
      dir,
      "--link",
      "802154",
      "--loss",
      "none,iid:0.3",
      "--deadline",
      "50%,100%",
      "--size",
      "192",
      "--model",
      fitted,
      "--no-classifier",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rows).toHaveLength(2 * 2 * 3);
    const row = (loss: string, dl: string, codec: string) => out.rows.find((x: any) => x.loss === loss && x.deadline === dl && x.codec === codec);
    const full = row("none", "100%", "tidepool");
    expect(full.packetsDelivered).toBe(full.packetsTotal);
    expect(row("none", "50%", "tidepool").packetsDelivered).toBeLessThan(full.packetsTotal);
    if (haveDecoder) {
      expect(full.msssim).toBeGreaterThan(row("none", "50%", "tidepool").msssim);
      expect(full.msssim).toBeGreaterThan(0.7);
    } else {
      expect(full.msssim).toBeNull();
      expect(r.stderr).toMatch(/no Tidepool decoder installed/);
    }
    const bad = await runCli(["simulate", "--images", dir, "--link", "wifi"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown link "wifi"; known: .*lora-sf7/);
  });
});

describe("progressive decoding with the shipped model and decoder", () => {
  it("every packet prefix decodes; MS-SSIM does not decrease with more packets (mean over Kodak photos)", async () => {
    if (!haveDecoder || !existsSync(fitted) || !kodakImages().length) return;
    const model = readModel(new Uint8Array(readFileSync(fitted)));
    const tables = modelTables(model);
    const { loadDecoder } = await import("../../host/receiver/decoder.ts");
    const dec = await loadDecoder();
    const fractions = [0.1, 0.25, 0.5, 0.75, 1];
    const sums = fractions.map(() => 0);
    const photos = kodakImages().slice(0, 3);
    for (const path of photos) {
      const img = await loadRgb(path, { width: 256, height: 256 });
      const latent = referenceEncode(model, toFrame(img, "rgb888"), 256, 256, "rgb888");
      const { packets } = packetize(latent, tables, { imageId: 0, packetBytes: 64 });
      for (const [i, f] of fractions.entries()) {
        const set = decodePacketSet(packets.slice(0, Math.max(1, Math.round(f * packets.length))), tables, latent);
        expect(set.rejected).toEqual([]);
        sums[i] += msssim(img, await dec.decode(set.latent, set.present, model));
      }
    }
    await dec.close();
    for (let i = 1; i < sums.length; i++) expect(sums[i]).toBeGreaterThanOrEqual(sums[i - 1]);
  });
});
