// Tidepool packet, format version 1 (docs/bitstream.md §Packet). One module owns the header layout,
// the CRC and the parse rules; the packetizer, the decoder and assembly/bitstream/packets.ts follow it.
//
//   0      u8      0xD1: magic nibble 0xD, version nibble 1
//   1      u8      image id (the device's frame counter, mod 256)
//   2      u8      packet index mod 256 (a sequence number: gaps show losses; `first` says what it carries)
//   3..    varint  first: index slot of the first symbol carried (LEB128, 1–3 bytes)
//          varint  count: symbols carried (≥ 1)
//          ...     payload: range-coded symbols, trailing zero bytes dropped
//   end−2  u16 LE  CRC-16/CCITT-FALSE over the 8-byte pseudo-header (tables id u32, latent width u16,
//                  latent height u16, all LE) followed by every packet byte before the CRC
import { TidepoolError } from "../../core/errors.ts";

export const PACKET_MAGIC = 0xd;
export const PACKET_VERSION = 1;
export const PACKET_TAG = (PACKET_MAGIC << 4) | PACKET_VERSION;
export const CRC_BYTES = 2;
/** Varints are at most 3 bytes: indices and counts stay below 2^21. */
export const VARINT_MAX_BYTES = 3;
export const VARINT_LIMIT = 1 << 21;
export const HEADER_MAX_BYTES = 3 + 2 * VARINT_MAX_BYTES;
/** Smallest packet size a link may ask for (Sigfox's 12 B): a symbol needs at most 2 payload bytes. */
export const MIN_PACKET_BYTES = 12;
/** Shortest well-formed packet: 3 fixed bytes, two 1-byte varints, an empty payload (all zeros, trimmed), the CRC. */
export const SHORTEST_PACKET_BYTES = 7;
/** Largest packet the device's output buffer holds. */
export const MAX_PACKET_BYTES = 255;

export type PacketErrorKind = "truncated" | "magic" | "version" | "header" | "crc" | "payload" | "other-image" | "conflict";

/** The one error a packet decode may raise: the packet is dropped and reported, never trusted. */
export class PacketDecodeError extends TidepoolError {
  declare readonly kind: PacketErrorKind;
  constructor(kind: PacketErrorKind, message: string) {
    super(kind, message);
  }
}

export function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : 3;
}

export function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

export function crc16Update(crc: number, b: number): number {
  crc ^= b << 8;
  for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the pseudo-header and `bytes[0..end)`. */
export function packetCrc(tablesId: number, latentWidth: number, latentHeight: number, bytes: Uint8Array, end: number): number {
  let crc = 0xffff;
  const pseudo = [
    tablesId & 0xff,
    (tablesId >>> 8) & 0xff,
    (tablesId >>> 16) & 0xff,
    (tablesId >>> 24) & 0xff,
    latentWidth & 0xff,
    latentWidth >>> 8,
    latentHeight & 0xff,
    latentHeight >>> 8,
  ];
  for (const b of pseudo) crc = crc16Update(crc, b);
  for (let i = 0; i < end; i++) crc = crc16Update(crc, bytes[i]);
  return crc;
}

export interface PacketHeader {
  imageId: number;
  /** Packet index mod 256. */
  packetIndex: number;
  first: number;
  count: number;
  payloadStart: number;
  payloadEnd: number;
}

/** Assembles a packet from its fields and payload, CRC included. */
export function buildPacket(
  h: Omit<PacketHeader, "payloadStart" | "payloadEnd">,
  payload: Uint8Array,
  tablesId: number,
  latentWidth: number,
  latentHeight: number,
): Uint8Array {
  const hdr = 3 + varintLength(h.first) + varintLength(h.count);
  const out = new Uint8Array(hdr + payload.length + CRC_BYTES);
  out[0] = PACKET_TAG;
  out[1] = h.imageId & 0xff;
  out[2] = h.packetIndex & 0xff;
  let at = writeVarint(out, 3, h.first);
  at = writeVarint(out, at, h.count);
  out.set(payload, at);
  const crc = packetCrc(tablesId, latentWidth, latentHeight, out, out.length - CRC_BYTES);
  out[out.length - 2] = crc & 0xff;
  out[out.length - 1] = crc >>> 8;
  return out;
}

function readVarint(b: Uint8Array, at: number, end: number, what: string): [number, number] {
  let v = 0;
  for (let n = 0; n < VARINT_MAX_BYTES; n++) {
    if (at >= end) throw new PacketDecodeError("truncated", `header ends inside the ${what} field (offset ${at})`);
    const byte = b[at++];
    v |= (byte & 0x7f) << (7 * n);
    if (!(byte & 0x80)) {
      if (n > 0 && byte === 0) throw new PacketDecodeError("header", `${what} field is not minimally encoded (offset ${at - 1})`);
      return [v, at];
    }
  }
  throw new PacketDecodeError("header", `${what} field longer than ${VARINT_MAX_BYTES} bytes (offset ${at - 1})`);
}

/** Parses and CRC-checks a packet; throws PacketDecodeError naming what is wrong. */
export function parsePacket(b: Uint8Array, tablesId: number, latentWidth: number, latentHeight: number): PacketHeader {
  if (!(b instanceof Uint8Array)) throw new PacketDecodeError("truncated", "not a byte array");
  if (b.length < SHORTEST_PACKET_BYTES)
    throw new PacketDecodeError("truncated", `${b.length} bytes is shorter than the shortest packet (${SHORTEST_PACKET_BYTES} bytes with an empty payload)`);
  if (b[0] >> 4 !== PACKET_MAGIC)
    throw new PacketDecodeError(
      "magic",
      `first byte 0x${b[0].toString(16).padStart(2, "0")} is not a Tidepool packet (magic nibble 0x${PACKET_MAGIC.toString(16)})`,
    );
  if ((b[0] & 0xf) !== PACKET_VERSION) throw new PacketDecodeError("version", `packet format version ${b[0] & 0xf}, this decoder reads ${PACKET_VERSION}`);
  const end = b.length - CRC_BYTES;
  const stored = b[end] | (b[end + 1] << 8);
  const actual = packetCrc(tablesId, latentWidth, latentHeight, b, end);
  if (stored !== actual)
    throw new PacketDecodeError(
      "crc",
      `CRC mismatch: stored 0x${stored.toString(16).padStart(4, "0")}, computed 0x${actual.toString(16).padStart(4, "0")} (corrupted, or coded with other entropy tables or another latent size than ${latentWidth}x${latentHeight})`,
    );
  const imageId = b[1],
    packetIndex = b[2];
  let at = 3,
    first: number,
    count: number;
  [first, at] = readVarint(b, at, end, "first");
  [count, at] = readVarint(b, at, end, "count");
  if (count < 1) throw new PacketDecodeError("header", "count is 0: a packet carries at least one symbol");
  return { imageId, packetIndex, first, count, payloadStart: at, payloadEnd: end };
}
