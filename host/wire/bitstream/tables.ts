// Entropy tables: the payload of the model file's ENTR section (docs/bitstream.md §Entropy tables).
// Laid out so the device reads it in place: little-endian, fixed-size channel directory, u16 tables.
import { crc32 } from "../../core/crc32.ts";
import { TidepoolError } from "../../core/errors.ts";
import type { Model } from "../../core/model-types.ts";
import { PROB_BITS, PROB_ONE } from "./range-coder.ts";

export const TABLES_MAGIC = "TPEC";
export const TABLES_VERSION = 1;
export const TABLES_HEADER_BYTES = 20;
export const CHANNEL_ENTRY_BYTES = 12;
/** Byte offsets the device reads in place; assembly/abi.ts has the device's copy (a test checks they agree). */
export const ENTR_LAYOUT = {
  ENTR_MAGIC: 0x43455054, // "TPEC" read as a little-endian u32
  ENTR_CHANNELS_AT: 6,
  ENTR_BLOCK_WIDTH_AT: 8,
  ENTR_BLOCK_HEIGHT_AT: 9,
  ENTR_SEED_AT: 12,
  ENTR_ID_AT: 16,
  ENTR_HEADER_BYTES: TABLES_HEADER_BYTES,
  ENTR_ENTRY_BYTES: CHANNEL_ENTRY_BYTES,
  ENTR_ENTRY_MAP_AT: 4,
  ENTR_ENTRY_CUM_AT: 8,
} as const;
const L = ENTR_LAYOUT;
export const MAX_LEVELS = 256;
export const MAX_CLASSES = 8;

export interface ChannelTables {
  levels: number;
  /** Neighbour classes K: a neighbour's symbol v is reduced to classMap[v] in 0..K−1. */
  classes: number;
  classMap: Uint8Array;
  /** Cumulative frequencies per context, each `levels + 1` entries from 0 to 2^15, strictly increasing. */
  cum: Uint16Array[];
}

export interface EntropyTables {
  blockWidth: number;
  blockHeight: number;
  /** Seed of the per-channel block permutations. */
  seed: number;
  channels: ChannelTables[];
  /** CRC-32 of the serialised tables after the header; binds packets to these tables (see packet CRC). */
  id: number;
}

export class TablesError extends TidepoolError {
  constructor(
    message: string,
    readonly source = "entropy tables",
  ) {
    super("entropy-tables", `${source}: ${message}`);
  }
}

/** Contexts of a channel with K classes: none, left-only (K), up-only (K), left×up (K²). */
export const contextCount = (classes: number) => 1 + 2 * classes + classes * classes;

export function serializeTables(t: Omit<EntropyTables, "id">): Uint8Array {
  const C = t.channels.length;
  let size = TABLES_HEADER_BYTES + C * CHANNEL_ENTRY_BYTES;
  const mapOff: number[] = [],
    cumOff: number[] = [];
  for (const ch of t.channels) {
    mapOff.push(size);
    size += ch.levels;
  }
  size += size & 1;
  for (const ch of t.channels) {
    cumOff.push(size);
    size += 2 * ch.cum.length * (ch.levels + 1);
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = TABLES_MAGIC.charCodeAt(i);
  dv.setUint16(4, TABLES_VERSION, true);
  dv.setUint16(L.ENTR_CHANNELS_AT, C, true);
  out[L.ENTR_BLOCK_WIDTH_AT] = t.blockWidth;
  out[L.ENTR_BLOCK_HEIGHT_AT] = t.blockHeight;
  out[10] = PROB_BITS;
  out[11] = 0;
  dv.setUint32(L.ENTR_SEED_AT, t.seed >>> 0, true);
  t.channels.forEach((ch, c) => {
    const e = TABLES_HEADER_BYTES + c * CHANNEL_ENTRY_BYTES;
    dv.setUint16(e, ch.levels, true);
    out[e + 2] = ch.classes;
    out[e + 3] = ch.cum.length;
    dv.setUint32(e + L.ENTR_ENTRY_MAP_AT, mapOff[c], true);
    dv.setUint32(e + L.ENTR_ENTRY_CUM_AT, cumOff[c], true);
    out.set(ch.classMap, mapOff[c]);
    ch.cum.forEach((row, k) => row.forEach((v, s) => dv.setUint16(cumOff[c] + 2 * (k * (ch.levels + 1) + s), v, true)));
  });
  dv.setUint32(L.ENTR_ID_AT, crc32(out, TABLES_HEADER_BYTES), true);
  validateTables(parseRaw(out, "serialised tables"), "serialised tables");
  return out;
}

function parseRaw(b: Uint8Array, source: string): EntropyTables {
  const fail = (m: string): never => {
    throw new TablesError(m, source);
  };
  if (b.length < TABLES_HEADER_BYTES) fail(`truncated: ${b.length} bytes is shorter than the ${TABLES_HEADER_BYTES}-byte header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = String.fromCharCode(...b.subarray(0, 4));
  if (magic !== TABLES_MAGIC) fail(`wrong magic ${JSON.stringify(magic)} at offset 0 (expected "${TABLES_MAGIC}")`);
  const version = dv.getUint16(4, true);
  if (version !== TABLES_VERSION) fail(`unsupported version ${version} at offset 4 (this build reads ${TABLES_VERSION})`);
  const C = dv.getUint16(L.ENTR_CHANNELS_AT, true);
  if (C < 1) fail("no channels");
  const blockWidth = b[L.ENTR_BLOCK_WIDTH_AT],
    blockHeight = b[L.ENTR_BLOCK_HEIGHT_AT];
  if (blockWidth < 1 || blockHeight < 1 || blockWidth * blockHeight > 256) fail(`block ${blockWidth}x${blockHeight} invalid (1..256 positions)`);
  if (b[10] !== PROB_BITS) fail(`probability precision ${b[10]} bits at offset 10, this build codes with ${PROB_BITS}`);
  const seed = dv.getUint32(L.ENTR_SEED_AT, true);
  const id = dv.getUint32(L.ENTR_ID_AT, true);
  const dirEnd = TABLES_HEADER_BYTES + C * CHANNEL_ENTRY_BYTES;
  if (b.length < dirEnd) fail(`truncated: the directory of ${C} channels needs ${dirEnd} bytes, have ${b.length}`);
  const actual = crc32(b, TABLES_HEADER_BYTES);
  if (actual !== id) fail(`CRC mismatch: stored 0x${id.toString(16)} at offset 16, computed 0x${actual.toString(16)} (corrupted tables)`);
  const channels: ChannelTables[] = [];
  for (let c = 0; c < C; c++) {
    const e = TABLES_HEADER_BYTES + c * CHANNEL_ENTRY_BYTES;
    const levels = dv.getUint16(e, true),
      classes = b[e + 2],
      contexts = b[e + 3];
    const mapAt = dv.getUint32(e + L.ENTR_ENTRY_MAP_AT, true),
      cumAt = dv.getUint32(e + L.ENTR_ENTRY_CUM_AT, true);
    const where = `channel ${c} (directory entry at offset ${e})`;
    if (levels < 2 || levels > MAX_LEVELS) fail(`${where}: ${levels} levels outside 2..${MAX_LEVELS}`);
    if (classes < 1 || classes > MAX_CLASSES) fail(`${where}: ${classes} neighbour classes outside 1..${MAX_CLASSES}`);
    if (contexts !== contextCount(classes)) fail(`${where}: ${contexts} contexts, ${classes} classes need ${contextCount(classes)}`);
    if (mapAt < dirEnd || mapAt + levels > b.length) fail(`${where}: class map at ${mapAt} (+${levels}) outside the tables`);
    if (cumAt & 1 || cumAt < dirEnd || cumAt + 2 * contexts * (levels + 1) > b.length)
      fail(`${where}: frequency tables at ${cumAt} outside the tables or unaligned`);
    const classMap = b.slice(mapAt, mapAt + levels);
    const cum: Uint16Array[] = [];
    for (let k = 0; k < contexts; k++) {
      const row = new Uint16Array(levels + 1);
      for (let s = 0; s <= levels; s++) row[s] = dv.getUint16(cumAt + 2 * (k * (levels + 1) + s), true);
      cum.push(row);
    }
    channels.push({ levels, classes, classMap, cum });
  }
  return { blockWidth, blockHeight, seed, channels, id };
}

export function validateTables(t: EntropyTables, source = "entropy tables"): void {
  const fail = (m: string): never => {
    throw new TablesError(m, source);
  };
  t.channels.forEach((ch, c) => {
    if (ch.classMap.length !== ch.levels) fail(`channel ${c}: class map has ${ch.classMap.length} entries for ${ch.levels} levels`);
    ch.classMap.forEach((v, s) => {
      if (v >= ch.classes) fail(`channel ${c}: symbol ${s} maps to class ${v}, only ${ch.classes} classes`);
    });
    if (ch.cum.length !== contextCount(ch.classes)) fail(`channel ${c}: ${ch.cum.length} contexts for ${ch.classes} classes`);
    ch.cum.forEach((row, k) => {
      if (row.length !== ch.levels + 1 || row[0] !== 0 || row[ch.levels] !== PROB_ONE)
        fail(`channel ${c} context ${k}: cumulative frequencies must run from 0 to ${PROB_ONE} over ${ch.levels + 1} entries`);
      for (let s = 0; s < ch.levels; s++)
        if (row[s + 1] <= row[s]) fail(`channel ${c} context ${k}: symbol ${s} has frequency ${row[s + 1] - row[s]} (every symbol needs >= 1)`);
    });
  });
}

/** Parses and checks an ENTR payload. */
export function parseTables(bytes: Uint8Array, source = "entropy tables"): EntropyTables {
  const t = parseRaw(bytes, source);
  validateTables(t, source);
  return t;
}

/** The tables of a model, checked against its latent quantizer. */
export function modelTables(model: Model, source = "model"): EntropyTables {
  if (!model.entropy) throw new TablesError("the model has no ENTR section (fit one with `tidepool fit-tables`)", source);
  const t = parseTables(model.entropy, `${source} ENTR section`);
  const q = model.latent;
  if (t.channels.length !== q.levels.length) throw new TablesError(`ENTR tables have ${t.channels.length} channels, the latent ${q.levels.length}`, source);
  t.channels.forEach((ch, c) => {
    if (ch.levels !== q.levels[c]) throw new TablesError(`ENTR channel ${c} has ${ch.levels} levels, the latent quantizer ${q.levels[c]}`, source);
  });
  return t;
}
