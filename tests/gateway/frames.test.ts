// Which frame and model a packet belongs to (host/receiver/gateway/frames.ts), for compact packets: their
// CRC-8 alone would match a wrong frame or model once in 256 tries, so a match must also decode, and a
// learned frame that stops matching is retried against the other candidates.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FrameCatalog, type Codec } from "../../host/receiver/gateway/frames.ts";
import { DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { readModel } from "../../host/model/format.ts";
import { COMPACT_TAG, PacketDecodeError, sealPacket } from "../../host/wire/bitstream/packet-format.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { photoPackets } from "./packets.ts";

const codec = (path: string): Codec => {
  const model = readModel(new Uint8Array(readFileSync(path)), path);
  return { model, tables: modelTables(model), source: path };
};
const colour = { width: 320, height: 240 },
  grey = { width: 324, height: 244 };

describe("frame catalog with compact packets", () => {
  const catalog = new FrameCatalog([codec(DEFAULT_MODEL_PATH), codec(DEFAULT_GREY_MODEL_PATH)], [grey, colour]);

  it("finds the frame and model of a compact packet, and moves a learned wrong frame back", async () => {
    const [p] = await photoPackets({ imageId: 3, packetBytes: 12 });
    expect(p[0]).toBe(COMPACT_TAG);
    const unknown = catalog.identify(p, null);
    expect(unknown).toMatchObject({ frame: colour, header: { version: 2, imageId: 3, packetIndex: null } });
    expect(unknown.codec.source).toBe(DEFAULT_MODEL_PATH);
    // Learned (not configured) 324x244: tried first, then the others.
    expect(catalog.identify(p, grey, false).frame).toEqual(colour);
    // Configured 324x244: only that frame counts.
    expect(() => catalog.identify(p, grey, true)).toThrow(PacketDecodeError);
  });

  it("refuses a compact packet whose CRC-8 matches but whose payload does not decode there", async () => {
    const [, p] = await photoPackets({ imageId: 3, packetBytes: 12 });
    const bad = Uint8Array.of(...p.subarray(0, -1), 0x5a, 0xa5, 0x5a, 0);
    sealPacket(bad, catalog.codecs[0].tables.id, 40, 30);
    try {
      catalog.identify(bad, colour, true);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PacketDecodeError);
      expect((e as PacketDecodeError).kind).toBe("payload");
    }
  });
});
