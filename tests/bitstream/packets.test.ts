import { describe, expect, it } from "vitest";
import { decodePacketSet, PacketDecoder } from "../../host/receiver/packet-decoder.ts";
import { CRC_BYTES, crc16Update, MIN_PACKET_BYTES, PacketDecodeError, parsePacket } from "../../host/wire/bitstream/packet-format.ts";
import { packetize, PacketizeError } from "../../host/wire/bitstream/packetizer.ts";
import { PacketRate } from "../../host/wire/bitstream/packet-rate.ts";
import { symbolGeometry, SymbolOrder } from "../../host/wire/bitstream/symbol-order.ts";
import { latentOf, modelWithTables, rng } from "./fixtures.ts";

const LINKS = [12, 51, 64, 115, 222];
const { model, tables } = modelWithTables();
const latent = latentOf(model, 7, 168, 120); // 21x15 latent: blocks at the right and bottom edges are partial

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
        expect(p[0]).toBe(0xd1);
        const h = parsePacket(p, tables.id, latent.width, latent.height);
        expect(h.imageId).toBe(300 & 0xff);
        expect(h.packetIndex).toBe(i & 0xff);
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

  it("decodes any subset in any order, with duplicates; missing symbols are flagged, received ones exact", () => {
    const r = packetize(latent, tables, { imageId: 9, packetBytes: 51 });
    const g = rng(3);
    for (let t = 0; t < 20; t++) {
      const subset = r.packets.filter(() => g.next() < 0.7);
      const shuffled = [...subset, ...subset.filter(() => g.next() < 0.2)].sort(() => g.next() - 0.5);
      const d = decodePacketSet(shuffled, tables, latent);
      expect(d.rejected).toEqual([]);
      expect(d.accepted.length + d.duplicates.length).toBe(shuffled.length);
      expect(d.accepted.length).toBe(subset.length);
      for (let i = 0; i < latent.data.length; i++) expect(d.present[i] ? d.latent.data[i] === latent.data[i] : d.latent.data[i] === 0).toBe(true);
      const counts = subset.map((p) => parsePacket(p, tables.id, latent.width, latent.height).count);
      expect(d.symbols).toBe(counts.reduce((a, b) => a + b, 0));
    }
  });

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
    expect(() => parsePacket(p, tables.id, latent.width + 1, latent.height)).toThrow(/CRC mismatch/);
    expect(() => parsePacket(p, tables.id ^ 1, latent.width, latent.height)).toThrow(/other entropy tables/);
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
    expect(kind(Uint8Array.of(0xd2, ...p.subarray(1)))).toBe("version");
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
});
