// What the on-device packetizer adds to the arena (shown in the memory map as bitstream.*): the
// entropy tables with a small descriptor (initialised, baked into the module), the block order of the
// channel being sent, and the buffer one packet is built in. assembly/bitstream/packets.ts reads the
// descriptor at the offset the build passes as TIDEPOOL_BITSTREAM_OFFSET.
import type { ExtraRegion, MemoryMap } from "./planner.ts";
import { latentShape } from "../../model/geometry.ts";
import type { Model } from "../../core/model-types.ts";
import { HEADER_MAX_BYTES, MAX_PACKET_BYTES } from "../../wire/bitstream/packet-format.ts";
import { modelTables } from "../../wire/bitstream/tables.ts";

export const DESCRIPTOR_MAGIC = 0x53425054; // "TPBS"
export const DESCRIPTOR_BYTES = 32;
/** Header slack in front of the payload plus room for the flush and CRC behind the largest packet. */
export const PACKET_BUFFER_BYTES = HEADER_MAX_BYTES + MAX_PACKET_BYTES + 8;
export const REGION_TABLES = "bitstream.tables";
export const REGION_ORDER = "bitstream.order";
export const REGION_PACKET = "bitstream.packet";

/** Extra arena regions for a model with ENTR tables at the planned frame size; none without tables. */
export function bitstreamRegions(model: Model, width: number, height: number): ExtraRegion[] {
  if (!model.entropy) return [];
  const t = modelTables(model);
  const lat = latentShape(model, width, height);
  const blocks = Math.ceil(lat.width / t.blockWidth) * Math.ceil(lat.height / t.blockHeight);
  const contexts = t.channels.reduce((n, c) => n + c.cum.length, 0);
  return [
    {
      name: REGION_TABLES,
      kind: "weights",
      size: DESCRIPTOR_BYTES + model.entropy.length,
      purpose: `packetizer descriptor + ENTR tables: ${contexts} contexts over ${t.channels.length} ch, ${t.blockWidth}x${t.blockHeight} blocks (read-only)`,
    },
    { name: REGION_ORDER, kind: "scratch", size: 2 * blocks, purpose: `permuted order of the ${blocks} blocks of the channel being sent (u16 each)` },
    {
      name: REGION_PACKET,
      kind: "output",
      size: PACKET_BUFFER_BYTES,
      purpose: `one packet being built: up to ${MAX_PACKET_BYTES} B plus header slack and flush room`,
    },
  ];
}

/** The initialised block (descriptor + tables) at its planned offset, or null when the map has no bitstream. */
export function bitstreamInit(model: Model, map: MemoryMap): { offset: number; bytes: Uint8Array } | null {
  const region = (name: string) => map.regions.find((r) => r.name === name);
  const tables = region(REGION_TABLES),
    order = region(REGION_ORDER),
    packet = region(REGION_PACKET);
  if (!tables || !order || !packet || !model.entropy) return null;
  const bytes = new Uint8Array(tables.size);
  const dv = new DataView(bytes.buffer);
  const words = [DESCRIPTOR_MAGIC, tables.offset + DESCRIPTOR_BYTES, order.offset, order.size >> 1, packet.offset, packet.size];
  words.forEach((w, i) => dv.setInt32(4 * i, w, true));
  bytes.set(model.entropy, DESCRIPTOR_BYTES);
  return { offset: tables.offset, bytes };
}
