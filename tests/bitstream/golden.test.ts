// Golden vectors: the packets the built WASM emits equal the TypeScript reference's, byte for byte.
import { describe, expect, it } from "vitest";
import { devicePacketize, DevicePacketError } from "../../host/build/runtime/device-packetizer.ts";
import { packetize } from "../../host/wire/bitstream/packetizer.ts";
import { COMPACT_MAX_PACKET_BYTES, COMPACT_TAG, PACKET_TAG } from "../../host/wire/bitstream/packet-format.ts";
import { getBoard } from "../../host/core/boards.ts";
import { buildEncoder } from "../../host/build/build.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { kodakImages, packFrame, randomRgb } from "../helpers/frames.ts";
import { modelWithTables } from "./fixtures.ts";

// 12..63: the compact layout (version 2), 64..: version 1 (packetVersionFor); device and host pick alike.
const LINKS = [12, 51, 63, 64, 115, 222];
const { model, tables } = modelWithTables();

function expectSame(a: Uint8Array[], b: Uint8Array[]) {
  expect(b.length).toBe(a.length);
  a.forEach((p, i) => expect(Buffer.from(b[i]).equals(Buffer.from(p)), `packet ${i}`).toBe(true));
}

describe("golden vectors: WASM packetizer = TypeScript reference", () => {
  it("on generated frames at a board's camera size, for every link size, budgets and channel prefixes", async () => {
    const r = await buildEncoder({ board: "esp32s3-cam", model });
    expect(r.map.regions.map((x) => x.name)).toEqual(expect.arrayContaining(["bitstream.tables", "bitstream.order", "bitstream.packet"]));
    expect(r.map.arenaBytes).toBeLessThanOrEqual(r.board.memory.arenaBudgetBytes);
    const enc = await EncoderInstance.load(r.wasm, r.board);
    for (const seed of [11, 12]) {
      const frame = packFrame(randomRgb(seed, 320, 240), 320, 240, "rgb565");
      const latent = enc.encode(frame, 320, 240, "rgb565");
      expect(Buffer.from(latent.data).equals(Buffer.from(referenceEncode(model, frame, 320, 240, "rgb565").data))).toBe(true);
      for (const P of LINKS) {
        for (const opts of [{}, { budgetBytes: 333 }, { channels: 2 }, { budgetBytes: 1000, channels: 5 }]) {
          const ref = packetize(latent, tables, { imageId: seed, packetBytes: P, ...opts });
          const dev = devicePacketize(enc, { imageId: seed, packetBytes: P, ...opts });
          expectSame(ref.packets, dev.packets);
          expect(dev).toMatchObject({ bytes: ref.bytes, symbols: ref.symbols, complete: ref.complete });
          expect(new Set(dev.packets.map((p) => p[0]))).toEqual(new Set([P <= COMPACT_MAX_PACKET_BYTES ? COMPACT_TAG : PACKET_TAG]));
        }
      }
    }
  });

  it("on Kodak photos (full 768x512) at every link size", async () => {
    const photos = kodakImages().slice(0, 2);
    if (!photos.length) return; // the shared dataset is optional in a fresh clone
    const k = getBoard("k210");
    const board = { ...k, memory: { ...k.memory, arenaBudgetBytes: 1 << 24, totalBytes: 1 << 24 } };
    const img0 = await loadRgb(photos[0]);
    const r = await buildEncoder({ board, model, width: img0.width, height: img0.height, format: "rgb888" });
    const enc = await EncoderInstance.load(r.wasm);
    for (const path of photos) {
      const img = await loadRgb(path);
      const latent = enc.encode(toFrame(img, "rgb888"), img.width, img.height, "rgb888");
      for (const P of LINKS) {
        const ref = packetize(latent, tables, { imageId: 5, packetBytes: P });
        expectSame(ref.packets, devicePacketize(enc, { imageId: 5, packetBytes: P }).packets);
      }
    }
  });

  it("reports device errors: no tables, latent not ready, bad packet size", async () => {
    const plain = await buildEncoder({ board: "gap8", model: randomModel() });
    expect(plain.map.regions.some((x) => x.name.startsWith("bitstream."))).toBe(false);
    const e0 = await EncoderInstance.load(plain.wasm, plain.board);
    expect(() => devicePacketize(e0, { imageId: 0, packetBytes: 64 })).toThrow(/no entropy tables/);
    const r = await buildEncoder({ board: "gap8", model });
    const e1 = await EncoderInstance.load(r.wasm, r.board);
    expect(() => devicePacketize(e1, { imageId: 0, packetBytes: 64 })).toThrow(/latent not complete/);
    e1.encode(packFrame(randomRgb(1, 324, 244), 324, 244, "gray8"), 324, 244, "gray8");
    expect(() => devicePacketize(e1, { imageId: 0, packetBytes: 11 })).toThrow(DevicePacketError);
    expect(devicePacketize(e1, { imageId: 0, packetBytes: 12 }).complete).toBe(true);
  });
});
