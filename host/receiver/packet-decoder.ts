// Host decoder: any subset of packets, in any order, duplicated or damaged → latent + missing mask
// (docs/bitstream.md §Decoding). A packet that fails its CRC or does not parse is dropped and reported;
// the only error a packet can raise is PacketDecodeError, and every loop is bounded by the latent size.
import { PacketDecodeError, parsePacket, type PacketHeader } from "../wire/bitstream/packet-format.ts";
import { RangeDecodeError, RangeDecoder, RangeEncoder } from "../wire/bitstream/range-coder.ts";
import { contextOf, symbolGeometry, SymbolOrder, type LatentShape, type SlotPosition } from "../wire/bitstream/symbol-order.ts";
import type { EntropyTables } from "../wire/bitstream/tables.ts";
import type { Latent } from "../core/types.ts";

export interface RejectedPacket {
  input: number;
  kind: PacketDecodeError["kind"];
  reason: string;
}

export interface PacketSetResult {
  /** Received symbols; missing ones are 0 and flagged 0 in `present` (same channel-major layout). */
  latent: Latent;
  present: Uint8Array;
  imageId: number | null;
  /** Input positions of the packets used, of exact repeats, and of those dropped with the reason. */
  accepted: number[];
  duplicates: number[];
  rejected: RejectedPacket[];
  /** Symbols received, and per channel how many of its width·height arrived. */
  symbols: number;
  channelSymbols: number[];
}

export interface DecodedPacket {
  header: PacketHeader;
  positions: Uint32Array;
  values: Uint8Array;
}

export class PacketDecoder {
  readonly order: SymbolOrder;
  private readonly work: Uint8Array;
  private readonly pos: SlotPosition = { channel: 0, x: 0, y: 0, dx: 0, dy: 0 };

  constructor(
    readonly tables: EntropyTables,
    readonly shape: LatentShape,
  ) {
    if (shape.channels !== tables.channels.length)
      throw new PacketDecodeError("header", `latent has ${shape.channels} channels, the entropy tables ${tables.channels.length}`);
    this.order = new SymbolOrder(symbolGeometry(shape, tables), tables.seed);
    this.work = new Uint8Array(shape.width * shape.height * shape.channels);
  }

  /** Decodes one packet on its own into latent positions and values; throws PacketDecodeError only. */
  decode(bytes: Uint8Array): DecodedPacket {
    const { width, height } = this.shape;
    const g = this.order.g;
    const header = parsePacket(bytes, this.tables.id, width, height, g.totalSlots);
    const { first, count } = header;
    if (first >= g.totalSlots) throw new PacketDecodeError("header", `first index ${first} is past the last slot ${g.totalSlots - 1}`);
    if (this.order.locate(first, this.pos).x < 0) throw new PacketDecodeError("header", `first index ${first} is a padding slot, not a coded position`);
    if (count > g.totalSlots - first)
      throw new PacketDecodeError("header", `count ${count} runs past the end of the latent (first ${first}, ${g.totalSlots} slots)`);
    const plane = width * height;
    const positions = new Uint32Array(count),
      values = new Uint8Array(count);
    const dec = new RangeDecoder(bytes, header.payloadStart, header.payloadEnd);
    // Compact packets re-encode what they decoded (below): their CRC-8 alone passes 1 in 256 foreign packets.
    const check = header.version === 2 ? new RangeEncoder(header.payloadEnd - header.payloadStart) : null;
    let index = first;
    try {
      for (let n = 0; n < count; n++) {
        while (index < g.totalSlots && this.order.locate(index, this.pos).x < 0) index++;
        if (index >= g.totalSlots) throw new PacketDecodeError("header", `count ${count} runs past the end of the latent after ${n} symbols`);
        const p = this.pos;
        const ch = this.tables.channels[p.channel];
        const row = ch.cum[contextOf(ch.classes, ch.classMap, this.work, plane, width, p, index, first, g.blockWidth)];
        const q = dec.target();
        let lo = 0,
          hi = ch.levels - 1; // binary search: row[lo] <= q < row[lo + 1]
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (row[mid] <= q) lo = mid;
          else hi = mid - 1;
        }
        dec.consume(row[lo], row[lo + 1] - row[lo]);
        check?.encode(row[lo], row[lo + 1] - row[lo]);
        const at = p.channel * plane + p.y * width + p.x;
        this.work[at] = lo;
        positions[n] = at;
        values[n] = lo;
        index++;
      }
    } catch (e) {
      if (e instanceof RangeDecodeError) throw new PacketDecodeError("payload", `payload is not a valid code stream: ${e.message}`);
      throw e;
    }
    const excess = dec.excessBytes();
    if (excess > 0) throw new PacketDecodeError("payload", `${excess} payload bytes beyond what its ${count} symbols need`);
    if (check) {
      // An encoder's payload is the one shortest flush of its symbols (docs/bitstream.md §4): any other bytes
      // that decode were not written by a packetizer with these tables and this latent size.
      const again = check.finish(),
        payload = bytes.subarray(header.payloadStart, header.payloadEnd);
      if (again.length !== payload.length || again.some((v, i) => v !== payload[i]))
        throw new PacketDecodeError("payload", `payload is not what its ${count} symbols code to (coded with other entropy tables or another latent size?)`);
    }
    return { header, positions, values };
  }
}

/** Decodes a set of packets of one image. Never throws on packet content: bad packets land in `rejected`. */
export function decodePacketSet(packets: readonly Uint8Array[], tables: EntropyTables, shape: LatentShape, opts: { imageId?: number } = {}): PacketSetResult {
  const decoder = new PacketDecoder(tables, shape);
  const n = shape.width * shape.height * shape.channels;
  const data = new Uint8Array(n),
    present = new Uint8Array(n);
  const rejected: RejectedPacket[] = [],
    accepted: number[] = [],
    duplicates: number[] = [];
  const reject = (input: number, e: unknown) => {
    if (!(e instanceof PacketDecodeError)) throw e; // a bug, not bad input: let it surface
    rejected.push({ input, kind: e.kind, reason: e.message });
  };
  const decoded: Array<{ input: number; packet: DecodedPacket }> = [];
  packets.forEach((bytes, input) => {
    try {
      decoded.push({ input, packet: decoder.decode(bytes) });
    } catch (e) {
      reject(input, e);
    }
  });
  // The image: the one asked for, else the one most valid packets belong to (earliest on a tie).
  let imageId: number | null = opts.imageId ?? null;
  if (imageId === null && decoded.length) {
    const votes = new Map<number, number>();
    for (const d of decoded) votes.set(d.packet.header.imageId, (votes.get(d.packet.header.imageId) ?? 0) + 1);
    imageId = [...votes.entries()].reduce((best, e) => (e[1] > best[1] ? e : best))[0];
  }
  const seen = new Map<string, number>();
  for (const { input, packet } of decoded) {
    const h = packet.header;
    // Compact packets carry the image id mod 16: compare in the packet's own width.
    if (imageId === null || h.imageId !== imageId % 2 ** h.imageIdBits) {
      reject(input, new PacketDecodeError("other-image", `packet of image ${h.imageId}, decoding image ${imageId}`));
      continue;
    }
    const key = `${h.first}:${h.count}`;
    let conflict = false,
      fresh = 0;
    for (let i = 0; i < packet.positions.length; i++) {
      const at = packet.positions[i];
      if (!present[at]) fresh++;
      else if (data[at] !== packet.values[i]) {
        conflict = true;
        break;
      }
    }
    if (conflict) {
      reject(
        input,
        new PacketDecodeError(
          "conflict",
          `symbols ${h.first}+${h.count} disagree with packet ${seen.get(key) ?? "received earlier"} covering the same positions`,
        ),
      );
      continue;
    }
    if (fresh === 0) {
      duplicates.push(input);
      continue;
    }
    for (let i = 0; i < packet.positions.length; i++) {
      data[packet.positions[i]] = packet.values[i];
      present[packet.positions[i]] = 1;
    }
    seen.set(key, input);
    accepted.push(input);
  }
  const plane = shape.width * shape.height;
  const channelSymbols = Array.from({ length: shape.channels }, (_, c) => {
    let k = 0;
    for (let i = c * plane; i < (c + 1) * plane; i++) k += present[i];
    return k;
  });
  return { latent: { ...shape, data }, present, imageId, accepted, duplicates, rejected, symbols: channelSymbols.reduce((a, b) => a + b, 0), channelSymbols };
}
