import { describe, expect, it } from "vitest";
import { decodePacketSet, PacketDecoder } from "../../host/receiver/packet-decoder.ts";
import {
  buildCompactPacket,
  COMPACT_MAX_PACKET_BYTES,
  compactWidths,
  CRC_BYTES,
  crc16Update,
  MIN_PACKET_BYTES,
  PacketDecodeError,
  crc8Update,
  packetCrc8,
  packetOverheadBytes,
  packetVersionFor,
  parsePacket,
  sealPacket,
} from "../../host/wire/bitstream/packet-format.ts";
import { packetize, PacketizeError } from "../../host/wire/bitstream/packetizer.ts";
import { PacketRate } from "../../host/wire/bitstream/packet-rate.ts";
import { symbolGeometry, SymbolOrder } from "../../host/wire/bitstream/symbol-order.ts";
import { latentOf, modelWithTables, rng } from "./fixtures.ts";

const LINKS = [12, 51, 64, 115, 222];
const { model, tables } = modelWithTables();
const latent = latentOf(model, 7, 168, 120); // 21x15 latent: blocks at the right and bottom edges are partial
const slots = symbolGeometry(latent, tables).totalSlots;

describe("packets", () => {
  it("CRC-16 is CCITT-FALSE (check value 0x29B1)", () => {
    let crc = 0xffff;
    for (const ch of "123456789") crc = crc16Update(crc, ch.charCodeAt(0));
    expect(crc).toBe(0x29b1);
  });

  it("round-trips at every link packet size, each packet within its size, headers as specified", () => {
    for (const P of LINKS) {
      const r = packetize(latent, tables, { imageId: 300, packetBytes: P });
      expect(r.complete).toBe(true);
      expect(r.symbols).toBe(latent.data.length);
      for (const [i, p] of r.packets.entries()) {
        expect(p.length).toBeLessThanOrEqual(P);
        const h = parsePacket(p, tables.id, latent.width, latent.height, slots);
        if (P <= COMPACT_MAX_PACKET_BYTES) {
          expect(p[0]).toBe(0xd2);
          expect(h).toMatchObject({ version: 2, imageId: 300 % 16, imageIdBits: 4, packetIndex: null });
        } else {
          expect(p[0]).toBe(0xd1);
          expect(h).toMatchObject({ version: 1, imageId: 300 & 0xff, imageIdBits: 8, packetIndex: i & 0xff });
        }
      }
      const d = decodePacketSet(r.packets, tables, latent);
      expect(d.rejected).toEqual([]);
      expect(Buffer.from(d.latent.data).equals(Buffer.from(latent.data))).toBe(true);
      expect(d.present.every((v) => v === 1)).toBe(true);
    }
  });

  it("a byte budget is a tail-drop: packets are a prefix, their bytes fit, channel-major order", () => {
    const full = packetize(latent, tables, { imageId: 1, packetBytes: 64 });
    const plane = latent.width * latent.height;
    let prevSymbols = 0;
    for (const budget of [7, 64, 100, 500, 1000, full.bytes - 1, full.bytes]) {
      const r = packetize(latent, tables, { imageId: 1, packetBytes: 64, budgetBytes: budget });
      expect(r.bytes).toBeLessThanOrEqual(budget);
      expect(r.symbols).toBeGreaterThanOrEqual(prevSymbols);
      prevSymbols = r.symbols;
      // Every packet but the last equals the unlimited run's packet.
      r.packets.slice(0, -1).forEach((p, i) => expect(Buffer.from(p).equals(Buffer.from(full.packets[i]))).toBe(true));
      const d = decodePacketSet(r.packets, tables, latent);
      expect(d.symbols).toBe(r.symbols);
      // Channels arrive whole, in order: all earlier channels complete before any later one starts.
      const started = d.channelSymbols.findIndex((n) => n < plane);
      if (started >= 0) expect(d.channelSymbols.slice(started + 1).every((n) => n === 0)).toBe(true);
      for (let i = 0; i < d.present.length; i++) if (d.present[i]) expect(d.latent.data[i]).toBe(latent.data[i]);
    }
    expect(packetize(latent, tables, { imageId: 1, packetBytes: 64, budgetBytes: full.bytes }).complete).toBe(true);
  });

  it("sends only the requested leading channels", () => {
    const r = packetize(latent, tables, { imageId: 1, packetBytes: 115, channels: 3 });
    const d = decodePacketSet(r.packets, tables, latent);
    const plane = latent.width * latent.height;
    expect(d.channelSymbols).toEqual(Array.from({ length: 12 }, (_, c) => (c < 3 ? plane : 0)));
  });

  it("PacketRate (real bytes for tidepool eval) counts every packet byte of a channel prefix", () => {
    const rate = new PacketRate(tables, 222);
    const sizes = Array.from({ length: 12 }, (_, k) => rate.bytes(latent, k + 1));
    expect(sizes[11]).toBe(packetize(latent, tables, { imageId: 0, packetBytes: 222 }).bytes);
    for (let k = 1; k < 12; k++) expect(sizes[k]).toBeGreaterThan(sizes[k - 1]);
  });

  it("scatters a channel's blocks: consecutive slots land in far-apart blocks, each block once", () => {
    const order = new SymbolOrder(symbolGeometry(latent, tables), tables.seed);
    const perm = order.perm(0);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from(perm.keys()));
    expect([...order.perm(1)]).not.toEqual([...perm]);
  });

  it("decodes any subset in any order, with duplicates; missing symbols are flagged, received ones exact (both layouts)", () => {
    for (const P of [12, 51, 222]) subsets(P);
  });
  const subsets = (P: number) => {
    const r = packetize(latent, tables, { imageId: 9, packetBytes: P });
    const g = rng(3);
    for (let t = 0; t < 10; t++) {
      const subset = r.packets.filter(() => g.next() < 0.7);
      const shuffled = [...subset, ...subset.filter(() => g.next() < 0.2)].sort(() => g.next() - 0.5);
      const d = decodePacketSet(shuffled, tables, latent);
      expect(d.rejected).toEqual([]);
      expect(d.accepted.length + d.duplicates.length).toBe(shuffled.length);
      expect(d.accepted.length).toBe(subset.length);
      for (let i = 0; i < latent.data.length; i++) expect(d.present[i] ? d.latent.data[i] === latent.data[i] : d.latent.data[i] === 0).toBe(true);
      const counts = subset.map((p) => parsePacket(p, tables.id, latent.width, latent.height, slots).count);
      expect(d.symbols).toBe(counts.reduce((a, b) => a + b, 0));
    }
  };

  it("drops and reports packets of another image, corrupted ones and conflicting ones", () => {
    const a = packetize(latent, tables, { imageId: 1, packetBytes: 64 }).packets;
    const other = packetize(latentOf(model, 8, 168, 120), tables, { imageId: 2, packetBytes: 64 }).packets;
    const bad = a[3].slice();
    bad[bad.length - 4] ^= 0x10;
    const d = decodePacketSet([...a.slice(0, 5), other[0], bad], tables, latent);
    expect(d.imageId).toBe(1);
    expect(d.rejected.map((x) => x.kind).sort()).toEqual(["crc", "other-image"]);
    expect(decodePacketSet([...a, other[0]], tables, latent, { imageId: 2 }).accepted).toEqual([a.length]);
    // Same image id, same positions, different values: the second is a conflict, not a silent overwrite.
    const o1 = packetize(latentOf(model, 8, 168, 120), tables, { imageId: 1, packetBytes: 64 }).packets;
    const c = decodePacketSet([a[0], o1[0]], tables, latent);
    expect(c.rejected.map((x) => x.kind)).toEqual(["conflict"]);
  });

  it("rejects packets coded for another latent size or other tables (the CRC covers the pseudo-header)", () => {
    const p = packetize(latent, tables, { imageId: 1, packetBytes: 64 }).packets[0];
    expect(() => parsePacket(p, tables.id, latent.width + 1, latent.height, slots)).toThrow(/CRC mismatch/);
    expect(() => parsePacket(p, tables.id ^ 1, latent.width, latent.height, slots)).toThrow(/other entropy tables/);
    const c = packetize(latent, tables, { imageId: 1, packetBytes: 12 }).packets[0];
    expect(() => parsePacket(c, tables.id, latent.width, latent.height + 1, slots)).toThrow(/CRC-8 mismatch/);
    expect(() => parsePacket(c, tables.id ^ 1, latent.width, latent.height, slots)).toThrow(/other entropy tables/);
  });

  it("names what is wrong with malformed packets", () => {
    const dec = new PacketDecoder(tables, latent);
    const p = packetize(latent, tables, { imageId: 1, packetBytes: 64 }).packets[1];
    const kind = (b: Uint8Array) => {
      try {
        dec.decode(b);
        return "ok";
      } catch (e) {
        expect(e).toBeInstanceOf(PacketDecodeError);
        return (e as PacketDecodeError).kind;
      }
    };
    expect(kind(p)).toBe("ok");
    expect(kind(p.subarray(0, 3))).toBe("truncated");
    expect(kind(Uint8Array.of(0x51, ...p.subarray(1)))).toBe("magic");
    expect(kind(Uint8Array.of(0xd3, ...p.subarray(1)))).toBe("version");
    expect(kind(p.subarray(0, p.length - 1))).toBe("crc");
    expect(new PacketDecodeError("crc", "x").name).toBe("PacketDecodeError");
  });

  it("refuses packet sizes that cannot work and latents that do not match the tables", () => {
    expect(() => packetize(latent, tables, { imageId: 0, packetBytes: MIN_PACKET_BYTES - 1 })).toThrow(PacketizeError);
    expect(() => packetize(latent, tables, { imageId: 0, packetBytes: 256 })).toThrow(/outside 12..255/);
    expect(() => packetize({ ...latent, channels: 11, data: latent.data.subarray(0, 11 * 315) }, tables, { imageId: 0, packetBytes: 64 })).toThrow(/12/);
    const r = packetize(latent, tables, { imageId: 0, packetBytes: MIN_PACKET_BYTES });
    expect(decodePacketSet(r.packets, tables, latent).symbols).toBe(latent.data.length);
    expect(r.packets.every((p) => p.length <= MIN_PACKET_BYTES && p.length > CRC_BYTES)).toBe(true);
  });

  describe("compact layout (version 2, packets of 12..63 bytes)", () => {
    it("CRC-8 is AUTOSAR (check value 0xDF); the layout follows the packet size", () => {
      let crc = 0xff;
      for (const ch of "123456789") crc = crc8Update(crc, ch.charCodeAt(0));
      expect(crc ^ 0xff).toBe(0xdf);
      expect([12, 51, 63, 64, 115, 222].map(packetVersionFor)).toEqual([2, 2, 2, 1, 1, 1]);
      expect(packetize(latent, tables, { imageId: 1, packetBytes: 51, version: 1 }).packets[0][0]).toBe(0xd1);
    });

    // Field widths from the latent's slot count: first in its bit length, count − 1 up to the byte boundary (≥ 3 bits).
    it.each([
      { slots: 14400, what: "12x40x30 (320x240 camera)", firstBits: 14, shortBits: 5, shortBytes: 3 },
      { slots: 4224, what: "the 12x21x15 fixture", firstBits: 13, shortBits: 6, shortBytes: 3 },
      { slots: 73728, what: "12x96x64 (a Kodak photo)", firstBits: 17, shortBits: 10, shortBytes: 4 },
      { slots: 1 << 21, what: "the largest latent", firstBits: 21, shortBits: 6, shortBytes: 4 },
      { slots: 2, what: "two slots", firstBits: 1, shortBits: 10, shortBytes: 2 },
    ])("widths for $what", ({ slots: n, firstBits, shortBits, shortBytes }) => {
      expect(compactWidths(n)).toEqual({
        firstBits,
        shortBits,
        longBits: shortBits + 8,
        shortBytes,
        longBytes: shortBytes + 1,
        maxCount: 2 ** (shortBits + 8),
      });
    });

    // Byte by byte, for the camera latent (14400 slots: 14-bit first, 5-bit short count).
    it.each([
      { h: { imageId: 0x15, first: 0x1234, count: 7 }, bytes: "d2 45 23 31 ab" }, // 5 | 0x1234 << 4 | 0 << 18 | 6 << 19
      { h: { imageId: 3, first: 0, count: 32 }, bytes: "d2 03 00 f8 ab" }, // the largest short count: 31 << 19
      { h: { imageId: 3, first: 0, count: 33 }, bytes: "d2 03 00 04 01 ab" }, // long: flag bit 18, 32 << 19
      { h: { imageId: 15, first: 14399, count: 8192 }, bytes: "d2 ff 83 ff ff ab" }, // the largest first and count
    ])("header of $h", ({ h, bytes }) => {
      const p = buildCompactPacket(h, Uint8Array.of(0xab), 14400, 0x12345678, 40, 30);
      expect(Buffer.from(p.subarray(0, -1)).toString("hex").match(/../g)!.join(" ")).toBe(bytes);
      expect(p[p.length - 1]).toBe(packetCrc8(0x12345678, 40, 30, p, p.length - 1));
      expect(parsePacket(p, 0x12345678, 40, 30, 14400)).toMatchObject({
        version: 2,
        ...h,
        imageId: h.imageId % 16,
        packetIndex: null,
        payloadStart: p.length - 2,
      });
    });

    it("5 or 6 bytes of header and CRC at 12 and 51 bytes, where version 1 spends 7 to 9", () => {
      for (const P of [12, 51]) {
        const c = packetize(latent, tables, { imageId: 1, packetBytes: P }).packets;
        const v1 = packetize(latent, tables, { imageId: 1, packetBytes: P, version: 1 }).packets;
        const over = (ps: Uint8Array[]) => ps.map((p) => packetOverheadBytes(parsePacket(p, tables.id, latent.width, latent.height, slots), p.length));
        expect(over(c).every((n) => n === 5 || n === 6)).toBe(true);
        expect(Math.min(...over(v1))).toBeGreaterThanOrEqual(7);
        expect(c.length).toBeLessThan(v1.length);
      }
    });

    it("names what is wrong with malformed compact packets", () => {
      const dec = new PacketDecoder(tables, latent);
      const kind = (b: Uint8Array, seal = true) => {
        const q = b.slice();
        if (seal) sealPacket(q, tables.id, latent.width, latent.height);
        try {
          dec.decode(q);
          return "ok";
        } catch (e) {
          expect(e).toBeInstanceOf(PacketDecodeError);
          return `${(e as PacketDecodeError).kind}: ${(e as Error).message}`;
        }
      };
      const build = (first: number, count: number, payload: number[] = []) =>
        buildCompactPacket({ imageId: 1, first, count }, Uint8Array.from(payload), slots, tables.id, latent.width, latent.height);
      const good = packetize(latent, tables, { imageId: 1, packetBytes: 12 }).packets[2];
      expect(kind(good, false)).toBe("ok");
      expect(kind(good.subarray(0, 4), false)).toMatch(/^truncated: 4 bytes is shorter than the shortest compact packet for 4224 slots \(5 bytes/);
      expect(kind(Uint8Array.of(0xd2), false)).toMatch(/^truncated: 1 bytes is shorter than the shortest packet \(3 bytes/);
      expect(kind(Uint8Array.of(...good.subarray(0, -1), good[good.length - 1] ^ 1), false)).toMatch(/^crc: CRC-8 mismatch/);
      // Long flag set (bit 4 + 13 = 17: byte 3, bit 1) with no byte left for the long count.
      expect(kind(Uint8Array.of(0xd2, 0x01, 0x00, 0x02, 0x00))).toMatch(/^truncated: compact header ends inside its long count/);
      // Long form for a count the short form holds (count − 1 = 0): not minimally encoded.
      expect(kind(Uint8Array.of(0xd2, 0x01, 0x00, 0x02, 0x00, 0x00))).toMatch(/^header: compact header uses the long count form for count 1/);
      expect(kind(build(8191, 1))).toMatch(/^header: first index 8191 is past the last slot 4223/);
      expect(kind(build(slots - 8, 64))).toMatch(/^header: count 64 runs past the end/);
      expect(kind(build(0, 1, [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]))).toMatch(/^payload: /);
    });
  });
});
