// Tidepool packet, format versions 1 and 2 (docs/bitstream.md §5). One module owns the header layouts,
// the CRCs, the parse rules and which layout a packet size gets; the packetizer, the decoder and
// assembly/bitstream/packets.ts follow it.
//
// Version 1, packets of 64..255 bytes:
//   0      u8      0xD1: magic nibble 0xD, version nibble 1
//   1      u8      image id (the device's frame counter, mod 256)
//   2      u8      packet index mod 256 (a sequence number: gaps show losses; `first` says what it carries)
//   3..    varint  first: index slot of the first symbol carried (LEB128, 1–3 bytes)
//          varint  count: symbols carried (≥ 1)
//          ...     payload: range-coded symbols, trailing zero bytes dropped
//   end−2  u16 LE  CRC-16/CCITT-FALSE over the 8-byte pseudo-header (tables id u32, latent width u16,
//                  latent height u16, all LE) followed by every packet byte before the CRC
//
// Version 2, compact, packets of 12..63 bytes (Sigfox, LoRaWAN DR0–2): 5–7 bytes of header and CRC instead of 7–11:
//   0      u8      0xD2: magic nibble 0xD, version nibble 2
//   1..h   bits    little-endian bit string: image id mod 16 (4 bits), first (F bits, F = bit length of
//                  the latent's slot count − 1), long flag (1 bit), count − 1 (S bits short, S + 8 long;
//                  S fills the short header to a byte boundary, at least 3 bits)
//          ...     payload, as in version 1
//   end−1  u8      CRC-8/AUTOSAR over the same pseudo-header and every packet byte before it
// No packet index (the link's own frame counter numbers the uplinks); the link's MIC / CRC protects the bytes.
import { TidepoolError } from "../../core/errors.ts";

export const PACKET_MAGIC = 0xd;
export const PACKET_VERSION = 1;
export const PACKET_TAG = (PACKET_MAGIC << 4) | PACKET_VERSION;
export const COMPACT_VERSION = 2;
export const COMPACT_TAG = (PACKET_MAGIC << 4) | COMPACT_VERSION;
/** Packet sizes up to this use the compact layout (version 2); larger ones version 1 (docs/bitstream.md §5). */
export const COMPACT_MAX_PACKET_BYTES = 63;
export const COMPACT_IMAGE_ID_BITS = 4;
export const CRC_BYTES = 2;
export const COMPACT_CRC_BYTES = 1;
/** Varints are at most 3 bytes: indices and counts stay below 2^21. */
export const VARINT_MAX_BYTES = 3;
export const VARINT_LIMIT = 1 << 21;
export const HEADER_MAX_BYTES = 3 + 2 * VARINT_MAX_BYTES;
/** Smallest packet size a link may ask for (Sigfox's 12 B): a symbol needs at most 2 payload bytes. */
export const MIN_PACKET_BYTES = 12;
/** Shortest well-formed version-1 packet: 3 fixed bytes, two 1-byte varints, an empty payload (all zeros, trimmed), the CRC. */
export const SHORTEST_PACKET_BYTES = 7;
/** Shortest well-formed packet of either layout: a compact tag, one header byte, an empty payload, the CRC-8. */
export const SHORTEST_ANY_PACKET_BYTES = 3;
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

/** The layout the packetizer uses for a link's packet size: compact (2) up to COMPACT_MAX_PACKET_BYTES. */
export function packetVersionFor(packetBytes: number): 1 | 2 {
  return packetBytes <= COMPACT_MAX_PACKET_BYTES ? COMPACT_VERSION : PACKET_VERSION;
}

/** Field widths of a compact header for a latent of `totalSlots` index slots. */
export interface CompactWidths {
  /** Bits of `first`: the bit length of totalSlots − 1 (at least 1). */
  firstBits: number;
  /** Bits of count − 1 in the short and the long form. */
  shortBits: number;
  longBits: number;
  /** Header bytes after the tag, short and long form. */
  shortBytes: number;
  longBytes: number;
  /** Most symbols a compact packet carries: 2^longBits. */
  maxCount: number;
}

export function compactWidths(totalSlots: number): CompactWidths {
  const firstBits = Math.max(1, 32 - Math.clz32(Math.max(0, totalSlots - 1)));
  const fixed = COMPACT_IMAGE_ID_BITS + firstBits + 1;
  let shortBits = (8 - (fixed % 8)) % 8;
  if (shortBits < 3) shortBits += 8;
  const shortBytes = (fixed + shortBits) / 8;
  return { firstBits, shortBits, longBits: shortBits + 8, shortBytes, longBytes: shortBytes + 1, maxCount: 2 ** (shortBits + 8) };
}

/** Header + CRC bytes of a compact packet carrying `count` symbols. */
export function compactOverhead(w: CompactWidths, count: number): number {
  return 1 + (count <= 2 ** w.shortBits ? w.shortBytes : w.longBytes) + COMPACT_CRC_BYTES;
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
  for (const b of pseudoHeader(tablesId, latentWidth, latentHeight)) crc = crc16Update(crc, b);
  for (let i = 0; i < end; i++) crc = crc16Update(crc, bytes[i]);
  return crc;
}

/** One byte of CRC-8/AUTOSAR (poly 0x2F, no reflection; init 0xFF and final XOR 0xFF in packetCrc8; check value 0xDF). */
export function crc8Update(crc: number, b: number): number {
  crc ^= b;
  for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x2f) & 0xff : (crc << 1) & 0xff;
  return crc;
}

/** CRC-8/AUTOSAR of the pseudo-header and `bytes[0..end)`: the compact packet's check. */
export function packetCrc8(tablesId: number, latentWidth: number, latentHeight: number, bytes: Uint8Array, end: number): number {
  let crc = 0xff;
  for (const b of pseudoHeader(tablesId, latentWidth, latentHeight)) crc = crc8Update(crc, b);
  for (let i = 0; i < end; i++) crc = crc8Update(crc, bytes[i]);
  return crc ^ 0xff;
}

function pseudoHeader(tablesId: number, latentWidth: number, latentHeight: number): number[] {
  return [
    tablesId & 0xff,
    (tablesId >>> 8) & 0xff,
    (tablesId >>> 16) & 0xff,
    (tablesId >>> 24) & 0xff,
    latentWidth & 0xff,
    latentWidth >>> 8,
    latentHeight & 0xff,
    latentHeight >>> 8,
  ];
}

/** Rewrites the check (CRC-16 or CRC-8, by the packet's tag) of a packet in place: tests and the fuzzer. */
export function sealPacket(p: Uint8Array, tablesId: number, latentWidth: number, latentHeight: number): void {
  if (p[0] === COMPACT_TAG) {
    if (p.length < 2) return;
    p[p.length - 1] = packetCrc8(tablesId, latentWidth, latentHeight, p, p.length - 1);
    return;
  }
  if (p.length < CRC_BYTES + 1) return;
  const crc = packetCrc(tablesId, latentWidth, latentHeight, p, p.length - CRC_BYTES);
  p[p.length - 2] = crc & 0xff;
  p[p.length - 1] = crc >>> 8;
}

export interface PacketHeader {
  /** Layout: 1, or 2 (compact). */
  version: 1 | 2;
  /** Image id as carried: mod 256 (version 1) or mod 16 (compact); `imageIdBits` says which. */
  imageId: number;
  imageIdBits: number;
  /** Packet index mod 256; null in compact packets, which carry none. */
  packetIndex: number | null;
  first: number;
  count: number;
  payloadStart: number;
  payloadEnd: number;
}

/** Assembles a version-1 packet from its fields and payload, CRC included. */
export function buildPacket(
  h: { imageId: number; packetIndex: number; first: number; count: number },
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

/** Assembles a compact (version 2) packet, CRC-8 included; `totalSlots` sets the width of `first`. */
export function buildCompactPacket(
  h: { imageId: number; first: number; count: number },
  payload: Uint8Array,
  totalSlots: number,
  tablesId: number,
  latentWidth: number,
  latentHeight: number,
): Uint8Array {
  const w = compactWidths(totalSlots);
  if (h.count < 1 || h.count > w.maxCount || h.first >= 2 ** w.firstBits)
    throw new RangeError(`compact header cannot carry first ${h.first}, count ${h.count}`);
  const long = h.count > 2 ** w.shortBits ? 1 : 0;
  const bytes = long ? w.longBytes : w.shortBytes;
  // At most 4 + 21 + 1 + 18 = 44 bits: exact in a double, so plain arithmetic instead of 32-bit shifts.
  let v = (h.imageId % 16) + 16 * h.first + 2 ** (4 + w.firstBits) * long + 2 ** (5 + w.firstBits) * (h.count - 1);
  const out = new Uint8Array(1 + bytes + payload.length + COMPACT_CRC_BYTES);
  out[0] = COMPACT_TAG;
  for (let i = 1; i <= bytes; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out.set(payload, 1 + bytes);
  out[out.length - 1] = packetCrc8(tablesId, latentWidth, latentHeight, out, out.length - 1);
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

/**
 * Parses and CRC-checks a packet of either layout; throws PacketDecodeError naming what is wrong.
 * `totalSlots` (the latent's index slots, docs/bitstream.md §2) sets the width of a compact packet's `first`.
 */
export function parsePacket(b: Uint8Array, tablesId: number, latentWidth: number, latentHeight: number, totalSlots: number): PacketHeader {
  if (!(b instanceof Uint8Array)) throw new PacketDecodeError("truncated", "not a byte array");
  if (b.length < SHORTEST_ANY_PACKET_BYTES)
    throw new PacketDecodeError(
      "truncated",
      `${b.length} bytes is shorter than the shortest packet (${SHORTEST_ANY_PACKET_BYTES} bytes: a compact tag, a header byte, the CRC-8)`,
    );
  if (b[0] >> 4 !== PACKET_MAGIC)
    throw new PacketDecodeError(
      "magic",
      `first byte 0x${b[0].toString(16).padStart(2, "0")} is not a Tidepool packet (magic nibble 0x${PACKET_MAGIC.toString(16)})`,
    );
  const version = b[0] & 0xf;
  if (version === COMPACT_VERSION) return parseCompact(b, tablesId, latentWidth, latentHeight, totalSlots);
  if (version !== PACKET_VERSION)
    throw new PacketDecodeError("version", `packet format version ${version}, this decoder reads ${PACKET_VERSION} and ${COMPACT_VERSION} (compact)`);
  if (b.length < SHORTEST_PACKET_BYTES)
    throw new PacketDecodeError("truncated", `${b.length} bytes is shorter than the shortest packet (${SHORTEST_PACKET_BYTES} bytes with an empty payload)`);
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
  return { version: 1, imageId, imageIdBits: 8, packetIndex, first, count, payloadStart: at, payloadEnd: end };
}

function parseCompact(b: Uint8Array, tablesId: number, latentWidth: number, latentHeight: number, totalSlots: number): PacketHeader {
  const w = compactWidths(totalSlots);
  const shortest = 1 + w.shortBytes + COMPACT_CRC_BYTES;
  if (b.length < shortest)
    throw new PacketDecodeError(
      "truncated",
      `${b.length} bytes is shorter than the shortest compact packet for ${totalSlots} slots (${shortest} bytes: tag, ${w.shortBytes} header bytes, CRC-8)`,
    );
  const end = b.length - COMPACT_CRC_BYTES;
  const stored = b[end],
    actual = packetCrc8(tablesId, latentWidth, latentHeight, b, end);
  if (stored !== actual)
    throw new PacketDecodeError(
      "crc",
      `CRC-8 mismatch: stored 0x${stored.toString(16).padStart(2, "0")}, computed 0x${actual.toString(16).padStart(2, "0")} (corrupted, or coded with other entropy tables or another latent size than ${latentWidth}x${latentHeight})`,
    );
  let v = 0;
  for (let i = w.shortBytes; i >= 1; i--) v = v * 256 + b[i];
  const long = Math.floor(v / 2 ** (4 + w.firstBits)) % 2;
  if (long) {
    if (end < 1 + w.longBytes)
      throw new PacketDecodeError("truncated", `compact header ends inside its long count (needs ${w.longBytes} header bytes, ${end - 1} before the CRC)`);
    v += b[1 + w.longBytes - 1] * 2 ** (8 * w.shortBytes);
  }
  const imageId = v % 16,
    first = Math.floor(v / 16) % 2 ** w.firstBits,
    count = Math.floor(v / 2 ** (5 + w.firstBits)) + 1;
  if (long && count <= 2 ** w.shortBits)
    throw new PacketDecodeError("header", `compact header uses the long count form for count ${count}, which the short form holds (up to ${2 ** w.shortBits})`);
  return {
    version: 2,
    imageId,
    imageIdBits: COMPACT_IMAGE_ID_BITS,
    packetIndex: null,
    first,
    count,
    payloadStart: 1 + (long ? w.longBytes : w.shortBytes),
    payloadEnd: end,
  };
}

/** Header and CRC bytes of a parsed packet (everything but the payload). */
export function packetOverheadBytes(h: PacketHeader, packetLength: number): number {
  return h.payloadStart + (packetLength - h.payloadEnd);
}
