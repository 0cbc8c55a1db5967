import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { buildDeviceJpeg, jpegArenaEnd, loadDeviceJpeg, runJpeg } from "../../host/build/jpeg/device-jpeg.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { samplePhotos } from "../../host/image/samples.ts";
import { instrument } from "../../host/build/profile/instrument.ts";
import { costTable } from "../../host/build/profile/cost-models.ts";

describe("on-device baseline JPEG", () => {
  it("decodes with libjpeg (sharp) close to the source and within a few percent of libjpeg's size", async () => {
    const build = await buildDeviceJpeg(200);
    const ex = await loadDeviceJpeg(build);
    expect(ex.ARENA_END.value).toBe(jpegArenaEnd(200, build.outBytes));
    const img = await loadRgb(samplePhotos()[1], { width: 200, height: 152 });
    for (const q of [10, 50]) {
      const jpg = runJpeg(ex, toFrame(img, "rgb888"), 200, 152, "rgb888", q);
      const ours = await sharp(jpg).raw().toBuffer({ resolveWithObject: true });
      expect([ours.info.width, ours.info.height, ours.info.channels]).toEqual([200, 152, 3]);
      // Same image through libjpeg (libvips' libjpeg-turbo-compatible mode, standard Huffman tables).
      const ref = await sharp(Buffer.from(img.data), { raw: { width: 200, height: 152, channels: 3 } })
        .jpeg({ quality: q, chromaSubsampling: "4:2:0", optimiseCoding: false })
        .toBuffer();
      expect(Math.abs(jpg.length / ref.length - 1)).toBeLessThan(0.03);
      const refPixels = await sharp(ref).raw().toBuffer();
      let se = 0;
      for (let i = 0; i < refPixels.length; i++) se += (refPixels[i] - ours.data[i]) ** 2;
      const psnrVsLibjpeg = 10 * Math.log10(255 ** 2 / (se / refPixels.length));
      expect(psnrVsLibjpeg).toBeGreaterThan(35); // near-identical decode
    }
  });

  it("writes the same file when cycle-counted (its row copies priced per byte)", async () => {
    const build = await buildDeviceJpeg(96);
    const counted = instrument(build.wasm, { costTable: costTable("ri5cy", "aot"), trackDepth: true });
    expect(counted.bulkSites.length).toBeGreaterThan(0);
    const plain = await loadDeviceJpeg(build);
    const ex = await loadDeviceJpeg({ ...build, wasm: counted.wasm });
    const frame = toFrame(await loadRgb(samplePhotos()[2], { width: 96, height: 72 }), "rgb565");
    expect(runJpeg(ex, frame, 96, 72, "rgb565", 20)).toEqual(runJpeg(plain, frame, 96, 72, "rgb565", 20));
    const bytes = counted.bulkSites.reduce((s, _, k) => s + Number((ex as any)[`__bulk_bytes${k}`].value), 0);
    expect(bytes).toBeGreaterThan(0);
  });

  it("grey output matches libjpeg's greyscale file size", async () => {
    const build = await buildDeviceJpeg(160);
    const ex = await loadDeviceJpeg(build);
    const img = await loadRgb(samplePhotos()[0], { width: 160, height: 123 });
    const grey = toFrame(img, "gray8");
    const jpg = runJpeg(ex, grey, 160, 123, "gray8", 20);
    const ref = await sharp(Buffer.from(grey), { raw: { width: 160, height: 123, channels: 1 } })
      .toColourspace("b-w")
      .jpeg({ quality: 20, optimiseCoding: false })
      .toBuffer();
    expect(Math.abs(jpg.length / ref.length - 1)).toBeLessThan(0.03);
    expect((await sharp(jpg).metadata()).width).toBe(160);
  });

  it("reports bad input instead of writing past its arena", async () => {
    const ex = await loadDeviceJpeg(await buildDeviceJpeg(64, 600));
    expect(() => runJpeg(ex, new Uint8Array(65 * 8 * 3), 65, 8, "rgb888", 50)).toThrow(/wider than built for/);
    expect(() => runJpeg(ex, new Uint8Array(64 * 8 * 3), 64, 8, "rgb888", 0)).toThrow(/quality outside/);
    const noisy = Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251);
    expect(() => runJpeg(ex, noisy, 64, 64, "rgb888", 100)).toThrow(/output buffer full/);
  });
});
