// Reference packetizer: quantized latent → link-sized packets (docs/bitstream.md §Packetizing).
// assembly/bitstream/packets.ts does exactly the same on the device; golden tests compare the bytes.
import {
  buildCompactPacket,
  buildPacket,
  compactOverhead,
  compactWidths,
  CRC_BYTES,
  MAX_PACKET_BYTES,
  MIN_PACKET_BYTES,
  packetVersionFor,
  varintLength,
  VARINT_LIMIT,
} from "./packet-format.ts";
import { RangeEncoder } from "./range-coder.ts";
import { contextOf, symbolGeometry, SymbolOrder, type SlotPosition } from "./symbol-order.ts";
import type { EntropyTables } from "./tables.ts";
import type { Latent } from "../../core/types.ts";
import { TidepoolError } from "../../core/errors.ts";

export class PacketizeError extends TidepoolError {
  constructor(m: string) {
    super("packetize", m);
  }
}

export interface PacketizeOptions {
  /** Frame counter carried in every header (mod 256). */
  imageId: number;
  /** Largest packet, header and CRC included (the link's payload size). */
  packetBytes: number;
  /** Total bytes the device may send for this image; it stops before a packet would cross it. */
  budgetBytes?: number;
  /** Send only the first `channels` channels (a tail-drop operating point); default all. */
  channels?: number;
  /**
   * Packet layout; default the one the device picks for `packetBytes` (packetVersionFor: compact up to
   * 63 B). Host only: benches force version 1 for a same-run baseline.
   */
  version?: 1 | 2;
}

export interface PacketizeResult {
  packets: Uint8Array[];
  bytes: number;
  /** Symbols coded, and whether every symbol of the requested channels was sent. */
  symbols: number;
  complete: boolean;
}

export function packetize(latent: Latent, tables: EntropyTables, opts: PacketizeOptions): PacketizeResult {
  const { width, height, channels } = latent;
  if (channels !== tables.channels.length) throw new PacketizeError(`latent has ${channels} channels, the entropy tables ${tables.channels.length}`);
  if (latent.data.length !== width * height * channels)
    throw new PacketizeError(`latent data has ${latent.data.length} bytes for ${channels}x${height}x${width}`);
  if (width > 0xffff || height > 0xffff) throw new PacketizeError(`latent ${width}x${height} too large for the packet pseudo-header`);
  const P = opts.packetBytes;
  if (!Number.isInteger(P) || P < MIN_PACKET_BYTES || P > MAX_PACKET_BYTES)
    throw new PacketizeError(`packet size ${P} outside ${MIN_PACKET_BYTES}..${MAX_PACKET_BYTES} bytes`);
  const budget = opts.budgetBytes ?? Infinity;
  const keep = opts.channels ?? channels;
  if (!Number.isInteger(keep) || keep < 0 || keep > channels) throw new PacketizeError(`cannot send ${keep} of ${channels} channels`);
  const g = symbolGeometry(latent, tables);
  if (g.totalSlots > VARINT_LIMIT)
    throw new PacketizeError(`latent ${channels}x${height}x${width} has ${g.totalSlots} index slots; the header's varints stop at ${VARINT_LIMIT}`);
  const order = new SymbolOrder(g, tables.seed);
  const compact = (opts.version ?? packetVersionFor(P)) === 2;
  const widths = compactWidths(g.totalSlots);
  // Header + CRC bytes of a packet starting at `first` with `count` symbols, and the most symbols it may carry.
  const overhead = (first: number, count: number) => (compact ? compactOverhead(widths, count) : 3 + varintLength(first) + varintLength(count) + CRC_BYTES);
  const maxCount = compact ? widths.maxCount : Infinity;
  const plane = width * height;
  const end = keep * g.channelSlots;
  const pos: SlotPosition = { channel: 0, x: 0, y: 0, dx: 0, dy: 0 };
  const nextCoded = (i: number) => {
    while (i < end && order.locate(i, pos).x < 0) i++;
    return i;
  };

  const packets: Uint8Array[] = [];
  let sent = 0,
    symbols = 0,
    index = nextCoded(0);
  while (index < end) {
    const cap = Math.min(P, budget - sent);
    if (cap < MIN_PACKET_BYTES) break;
    const packetIndex = packets.length;
    const first = index;
    const enc = new RangeEncoder(cap);
    let count = 0;
    while (index < end && count < maxCount) {
      order.locate(index, pos);
      const ch = tables.channels[pos.channel];
      const ctx = contextOf(ch.classes, ch.classMap, latent.data, plane, width, pos, index, first, g.blockWidth);
      const s = latent.data[pos.channel * plane + pos.y * width + pos.x];
      if (s >= ch.levels) throw new PacketizeError(`channel ${pos.channel} symbol ${s} at (${pos.x}, ${pos.y}) outside its ${ch.levels} levels`);
      const row = ch.cum[ctx];
      const snap = enc.snapshot();
      enc.encode(row[s], row[s + 1] - row[s]);
      if (overhead(first, count + 1) + enc.reservedLength() > cap) {
        enc.restore(snap);
        break;
      }
      count++;
      index = nextCoded(index + 1);
    }
    if (count === 0) {
      if (cap < P) break; // the budget's last sliver cannot hold a symbol
      throw new PacketizeError(`a ${P}-byte packet cannot hold one symbol at index ${first}`);
    }
    const packet = compact
      ? buildCompactPacket({ imageId: opts.imageId & 0xff, first, count }, enc.finish(), g.totalSlots, tables.id, width, height)
      : buildPacket({ imageId: opts.imageId & 0xff, packetIndex, first, count }, enc.finish(), tables.id, width, height);
    packets.push(packet);
    sent += packet.length;
    symbols += count;
  }
  return { packets, bytes: sent, symbols, complete: index >= end };
}
