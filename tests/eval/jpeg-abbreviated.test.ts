import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { buildDeviceJpeg, loadDeviceJpeg, runJpeg } from "../../host/build/jpeg/device-jpeg.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { samplePhotos } from "../../host/image/samples.ts";
import { abbreviateJpeg, abbreviateJpegOptimised, expandAbbreviatedJpeg, expandAbbreviatedJpegOptimised } from "../../host/wire/link/jpeg-abbreviated.ts";
import { jpegHeader } from "../../host/wire/link/jpeg-tables.ts";
import { optimalTable } from "../../host/wire/link/jpeg-huffman.ts";

const pixels = async (file: Uint8Array) => new Uint8Array(await sharp(file).raw().toBuffer());

describe("device JPEG in abbreviated form (tables known to the receiver)", () => {
  it("sends quality + scan only, and the receiver rebuilds the device's exact file (colour and grey)", async () => {
    const ex = await loadDeviceJpeg(await buildDeviceJpeg(96));
    const img = await loadRgb(samplePhotos()[1], { width: 96, height: 72 });
    for (const [format, colour] of [
      ["rgb565", true],
      ["gray8", false],
    ] as const)
      for (const q of [5, 20, 75]) {
        const file = runJpeg(ex, toFrame(img, format), 96, 72, format, q);
        const f = { width: 96, height: 72, colour };
        const abbr = abbreviateJpeg(file, q, f);
        // The headers the receiver knows: ~600 B for colour (DQT 134, DHT 432, SOF/SOS 33), all but one byte of them saved.
        expect(file.length - abbr.length).toBe(jpegHeader(q, 96, 72, colour).length + 2 - 1);
        expect(expandAbbreviatedJpeg(abbr, f)).toEqual(file);
        expect(() => abbreviateJpeg(file, q + 1, f)).toThrow(/fixed headers of quality/);
      }
  });

  it("with optimised Huffman tables: fewer scan bytes, the tables sent, the same decoded pixels", async () => {
    const ex = await loadDeviceJpeg(await buildDeviceJpeg(160));
    const img = await loadRgb(samplePhotos()[0], { width: 160, height: 120 });
    const f = { width: 160, height: 120, colour: true };
    for (const q of [10, 50]) {
      const file = runJpeg(ex, toFrame(img, "rgb565"), 160, 120, "rgb565", q);
      const opt = abbreviateJpegOptimised(file, q, f);
      const rebuilt = expandAbbreviatedJpegOptimised(opt, f);
      expect(await pixels(rebuilt)).toEqual(await pixels(file));
      // quality byte, then 4 tables (16 counts + their symbols each), then the re-coded scan
      expect(opt[0]).toBe(q);
      let p = 1;
      for (let t = 0; t < 4; t++) p += 16 + opt.subarray(p, p + 16).reduce((s, n) => s + n, 0);
      const standardScan = abbreviateJpeg(file, q, f).length - 1;
      expect(opt.length - p).toBeLessThan(standardScan);
      expect(p - 1).toBeLessThan(jpegHeader(q, 160, 120, true).length); // the tables cost less than the file's headers
    }
  });

  it("optimal tables give shorter codes to frequent symbols, none all ones, at most 16 bits", () => {
    const counts = new Array(256).fill(0);
    counts[0] = 1000;
    counts[1] = 10;
    counts[2] = 10;
    for (let i = 3; i < 40; i++) counts[i] = 1;
    const t = optimalTable(counts);
    expect(t.vals.length).toBe(40);
    expect(t.vals[0]).toBe(0);
    expect(t.bits[0]).toBe(1); // the frequent symbol gets a 1-bit code
    // Kraft sum < 1: the all-ones code stays free.
    expect(t.bits.reduce((s, n, i) => s + n * 2 ** -(i + 1), 0)).toBeLessThan(1);
    const skewed = Array.from({ length: 256 }, (_, i) => 2 ** Math.min(i, 40));
    expect(optimalTable(skewed).bits.reduce((s, n) => s + n, 0)).toBe(256);
  });
});
