// On-device packetizer: the latent in the arena → link-sized packets, range-coded with the static
// context tables of the model's ENTR section. Bit-exact with host/wire/bitstream/packetizer.ts (golden
// tests compare the bytes). Format: docs/bitstream.md. Allocates nothing: the tables, the block order
// and the packet buffer are arena regions fixed by the build (bitstream.* in the memory map).
import {
  PLAN_HEADER_WORDS, PLAN_LAYER_WORDS, STATE_LAYER_WORDS, H_LAYER_COUNT, H_LATENT_OFFSET, H_STATE_OFFSET,
  L_OUT_CHANNELS, S_OUT_WIDTH, S_OUT_HEIGHT, S_NEXT_OUT,
} from "../plan";
import {
  E_NO_TABLES, E_LATENT_NOT_READY, E_BAD_PACKET_SIZE, E_LATENT_TOO_LARGE, E_TABLES_MISMATCH, E_SYMBOL_TOO_LARGE,
  E_BAD_ARGUMENT, E_NOT_STARTED, ENTR_MAGIC, ENTR_CHANNELS_AT, ENTR_BLOCK_WIDTH_AT, ENTR_BLOCK_HEIGHT_AT,
  ENTR_SEED_AT, ENTR_ID_AT, ENTR_HEADER_BYTES, ENTR_ENTRY_BYTES, ENTR_ENTRY_MAP_AT, ENTR_ENTRY_CUM_AT,
} from "../abi";

// @ts-ignore: TIDEPOOL_PLAN_OFFSET is a global introduced by asc --use
const PLAN_AT: i32 = TIDEPOOL_PLAN_OFFSET;
// Offset of the bitstream descriptor, set by the build when the model has entropy tables (else 0).
// @ts-ignore: isDefined / TIDEPOOL_BITSTREAM_OFFSET are resolved at compile time
const BS_AT: i32 = isDefined(TIDEPOOL_BITSTREAM_OFFSET) ? TIDEPOOL_BITSTREAM_OFFSET : 0;

// Descriptor words (host/build/memory-map/packet-regions.ts writes them).
const BS_MAGIC: i32 = 0x53425054; // "TPBS"
const D_TABLES: i32 = 1;
const D_ORDER: i32 = 2;
const D_ORDER_BLOCKS: i32 = 3;
const D_PACKET: i32 = 4;
const D_PACKET_BYTES: i32 = 5;


const PACKET_TAG: i32 = 0xd1;
// Compact layout (version 2) for packets of up to COMPACT_MAX bytes (host/wire/bitstream/packet-format.ts).
const COMPACT_TAG: i32 = 0xd2;
const COMPACT_MAX: i32 = 63;
const HEADER_MAX: i32 = 9;
const MIN_PACKET: i32 = 12;
const MAX_PACKET: i32 = 255;
const VARINT_LIMIT: i32 = 1 << 21;


@inline function planWord(i: i32): i32 { return load<i32>(PLAN_AT + (i << 2)); }
@inline function descWord(i: i32): i32 { return load<i32>(BS_AT + (i << 2)); }
function lastLayer(): i32 { return planWord(H_LAYER_COUNT) - 1; }
function lastState(i: i32): i32 { return load<i32>(planWord(H_STATE_OFFSET) + ((lastLayer() * STATE_LAYER_WORDS + i) << 2)); }

// ---- packetizer state ----
let active: bool = false;
let tables: i32 = 0, order: i32 = 0, orderChannel: i32 = -1;
let latent: i32 = 0, W: i32 = 0, H: i32 = 0, plane: i32 = 0;
let bw: i32 = 0, bh: i32 = 0, blocksX: i32 = 0, blocks: i32 = 0, blockSlots: i32 = 0, channelSlots: i32 = 0;
let seed: u32 = 0, tablesId: u32 = 0;
let imageId: i32 = 0, packetBytes: i32 = 0, budget: i32 = 0, sent: i32 = 0, endSlot: i32 = 0;
let nextSlot: i32 = 0, packetIndex: i32 = 0, symbols: i32 = 0, packetAt: i32 = 0;
// Compact layout: on/off, bits of `first`, bits of count − 1 in the short form, header bytes after the tag (short form).
let compact: bool = false, firstBits: i32 = 0, shortBits: i32 = 0, shortBytes: i32 = 0, maxCount: i32 = 0;
// Position of the slot last located.
let pC: i32 = 0, pX: i32 = 0, pY: i32 = 0, pDx: i32 = 0, pDy: i32 = 0;

// ---- range coder (host/wire/bitstream/range-coder.ts) ----
let rcLow: u64 = 0;
let rcRange: u32 = 0;
let rcCache: u32 = 0;
let rcHasCache: bool = false;
let rcFF: i32 = 0;
let rcPos: i32 = 0;
let rcStart: i32 = 0;

function rcInit(at: i32): void { rcLow = 0; rcRange = 0xffffffff; rcCache = 0; rcHasCache = false; rcFF = 0; rcPos = at; rcStart = at; }

function rcShiftLow(): void {
  if (rcLow < 0xff000000 || rcLow >= 0x100000000) {
    const carry = <u32>(rcLow >> 32);
    if (rcHasCache) { store<u8>(rcPos, <u8>(rcCache + carry)); rcPos++; }
    for (; rcFF > 0; rcFF--) { store<u8>(rcPos, <u8>(0xff + carry)); rcPos++; }
    rcCache = <u32>(rcLow >> 24) & 0xff;
    rcHasCache = true;
  } else {
    rcFF++;
  }
  rcLow = (rcLow & 0xffffff) << 8;
}

function rcEncode(cf: u32, f: u32): void {
  const r = rcRange >> 15;
  rcLow += <u64>r * <u64>cf;
  rcRange = r * f;
  while (rcRange < 0x1000000) { rcRange <<= 8; rcShiftLow(); }
}

let flushV: u64 = 0;
/** Smallest k in 1..4 with a multiple of 2^(32−8k) inside [low, low + range); sets flushV. */
function rcFlushK(): i32 {
  for (let k = 1; k <= 4; k++) {
    const sh = <u64>(32 - 8 * k);
    const v = ((rcLow + ((<u64>1 << sh) - 1)) >> sh) << sh;
    if (v - rcLow < <u64>rcRange) { flushV = v; return k; }
  }
  flushV = rcLow;
  return 4;
}

function rcFinishedLength(): i32 {
  const k = rcFlushK();
  const carry = <u32>(flushV >> 32);
  const vlow = <u32>flushV;
  let last = 0;
  for (let i = 1; i <= k; i++) if (((vlow >> <u32>(32 - 8 * i)) & 0xff) != 0) last = i;
  const head = rcPos - rcStart + (rcHasCache ? 1 : 0);
  if (last > 0) return head + rcFF + last;
  if (rcFF > 0 && carry == 0) return head + rcFF;
  if (rcHasCache && ((rcCache + carry) & 0xff) != 0) return head;
  let n = rcPos;
  while (n > rcStart && load<u8>(n - 1) == 0) n--;
  return n - rcStart;
}

function rcReservedLength(): i32 {
  const fin = rcFinishedLength();
  const held = rcPos - rcStart + (rcHasCache ? 1 : 0) + rcFF;
  return fin > held ? fin : held;
}

function rcFinish(): i32 {
  const len = rcFinishedLength();
  const k = rcFlushK();
  rcLow = flushV;
  for (let i = 0; i < k; i++) rcShiftLow();
  if (rcHasCache) { store<u8>(rcPos, <u8>rcCache); rcPos++; }
  for (; rcFF > 0; rcFF--) { store<u8>(rcPos, 0xff); rcPos++; }
  rcHasCache = false;
  return len;
}

// ---- symbol order (host/wire/bitstream/symbol-order.ts) ----
@inline function xorshift32(x: u32): u32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x; }

function buildOrder(c: i32): void {
  for (let j = 0; j < blocks; j++) store<u16>(order + (j << 1), <u16>j);
  let s: u32 = seed ^ (<u32>(c + 1) * 0x9e3779b9);
  if (s == 0) s = 1;
  for (let j = blocks - 1; j > 0; j--) {
    s = xorshift32(s);
    const k = <i32>(s % <u32>(j + 1));
    const a = load<u16>(order + (j << 1));
    store<u16>(order + (j << 1), load<u16>(order + (k << 1)));
    store<u16>(order + (k << 1), a);
  }
  orderChannel = c;
}

/** Locates slot `index`; returns false for a padding slot. */
function locate(index: i32): bool {
  const c = index / channelSlots;
  const r = index - c * channelSlots;
  const j = r / blockSlots;
  const i = r - j * blockSlots;
  if (c != orderChannel) buildOrder(c);
  const block = <i32>load<u16>(order + (j << 1));
  const by = block / blocksX, bx = block - by * blocksX;
  pDy = i / bw; pDx = i - pDy * bw;
  pC = c; pX = bx * bw + pDx; pY = by * bh + pDy;
  return pX < W && pY < H;
}

function nextCoded(index: i32): i32 {
  while (index < endSlot && !locate(index)) index++;
  return index;
}

@inline function entry(c: i32): i32 { return tables + ENTR_HEADER_BYTES + c * ENTR_ENTRY_BYTES; }

function contextOf(index: i32, first: i32, classes: i32, classMap: i32): i32 {
  const at = latent + pC * plane + pY * W + pX;
  const hasL = pDx > 0 && index - 1 >= first;
  const hasU = pDy > 0 && index - bw >= first;
  if (hasL && hasU) return 1 + 2 * classes + <i32>load<u8>(classMap + <i32>load<u8>(at - 1)) * classes + <i32>load<u8>(classMap + <i32>load<u8>(at - W));
  if (hasL) return 1 + <i32>load<u8>(classMap + <i32>load<u8>(at - 1));
  if (hasU) return 1 + classes + <i32>load<u8>(classMap + <i32>load<u8>(at - W));
  return 0;
}

@inline function varintLength(v: i32): i32 { return v < 0x80 ? 1 : v < 0x4000 ? 2 : 3; }

function writeVarint(at: i32, v: i32): i32 {
  while (v >= 0x80) { store<u8>(at, <u8>((v & 0x7f) | 0x80)); at++; v = v >>> 7; }
  store<u8>(at, <u8>v);
  return at + 1;
}

function crc16Update(crc: u32, b: u32): u32 {
  crc ^= b << 8;
  for (let i = 0; i < 8; i++) crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
}

/** Byte i (0..7) of the CRC pseudo-header: tables id u32, latent width u16, latent height u16, little-endian. */
function pseudoByte(i: i32): u32 {
  const v: u32 = i < 4 ? tablesId : i < 6 ? <u32>W : <u32>H;
  const at = i < 4 ? i : i < 6 ? i - 4 : i - 6;
  return (v >> <u32>(at << 3)) & 0xff;
}

/** CRC-8/AUTOSAR (poly 0x2F, init 0xFF, final XOR 0xFF) of the pseudo-header and [from, to). */
function crc8Update(crc: u32, b: u32): u32 {
  crc ^= b;
  for (let i = 0; i < 8; i++) crc = (crc & 0x80) != 0 ? ((crc << 1) ^ 0x2f) & 0xff : (crc << 1) & 0xff;
  return crc;
}

function packetCrc8(from: i32, to: i32): u32 {
  let crc: u32 = 0xff;
  for (let i = 0; i < 8; i++) crc = crc8Update(crc, pseudoByte(i));
  for (let p = from; p < to; p++) crc = crc8Update(crc, <u32>load<u8>(p));
  return crc ^ 0xff;
}

/** Header + CRC bytes of the packet being filled, with `count` symbols starting at `first`. */
@inline function overhead(first: i32, count: i32): i32 {
  if (compact) return 2 + (count <= (1 << shortBits) ? shortBytes : shortBytes + 1);
  return 3 + varintLength(first) + varintLength(count) + 2;
}

function packetCrc(from: i32, to: i32): u32 {
  let crc: u32 = 0xffff;
  for (let i = 0; i < 8; i++) crc = crc16Update(crc, pseudoByte(i));
  for (let p = from; p < to; p++) crc = crc16Update(crc, <u32>load<u8>(p));
  return crc;
}

/**
 * Starts packetizing the latent just encoded. `packetBytes`: the link's largest packet (12..255);
 * `budgetBytes`: total bytes to send for this image (≥ 1); `channels`: leading channels to send (1..C).
 * Returns 0 or a negative error.
 */
export function tp_pk_begin(frameId: i32, packetSize: i32, budgetBytes: i32, channels: i32): i32 {
  active = false;
  if (BS_AT == 0 || descWord(0) != BS_MAGIC) return E_NO_TABLES;
  tables = descWord(D_TABLES);
  if (load<u32>(tables) != <u32>ENTR_MAGIC) return E_NO_TABLES;
  const outH = lastState(S_OUT_HEIGHT);
  if (outH <= 0 || lastState(S_NEXT_OUT) != outH) return E_LATENT_NOT_READY;
  const C = load<i32>(PLAN_AT + ((PLAN_HEADER_WORDS + lastLayer() * PLAN_LAYER_WORDS + L_OUT_CHANNELS) << 2));
  if (<i32>load<u16>(tables + ENTR_CHANNELS_AT) != C) return E_TABLES_MISMATCH;
  if (packetSize < MIN_PACKET || packetSize > MAX_PACKET || packetSize > descWord(D_PACKET_BYTES) - HEADER_MAX - 8) return E_BAD_PACKET_SIZE;
  if (budgetBytes < 1 || channels < 1 || channels > C) return E_BAD_ARGUMENT;
  W = lastState(S_OUT_WIDTH); H = outH; plane = W * H;
  bw = <i32>load<u8>(tables + ENTR_BLOCK_WIDTH_AT); bh = <i32>load<u8>(tables + ENTR_BLOCK_HEIGHT_AT);
  blocksX = (W + bw - 1) / bw;
  blocks = blocksX * ((H + bh - 1) / bh);
  blockSlots = bw * bh; channelSlots = blocks * blockSlots;
  if (blocks > descWord(D_ORDER_BLOCKS) || W > 0xffff || H > 0xffff || <i64>C * <i64>channelSlots > <i64>VARINT_LIMIT) return E_LATENT_TOO_LARGE;
  seed = load<u32>(tables + ENTR_SEED_AT); tablesId = load<u32>(tables + ENTR_ID_AT);
  latent = planWord(H_LATENT_OFFSET);
  order = descWord(D_ORDER); orderChannel = -1;
  imageId = frameId & 0xff; packetBytes = packetSize; budget = budgetBytes; sent = 0;
  endSlot = channels * channelSlots; packetIndex = 0; symbols = 0;
  packetAt = descWord(D_PACKET);
  // Compact header widths (packet-format.ts compactWidths): first in the bit length of totalSlots − 1,
  // count − 1 in the bits up to the next byte boundary (at least 3), or 8 more in the long form.
  compact = packetSize <= COMPACT_MAX;
  const totalSlots = C * channelSlots;
  firstBits = totalSlots > 1 ? 32 - clz<i32>(totalSlots - 1) : 1;
  const fixedBits = 4 + firstBits + 1;
  shortBits = (8 - fixedBits % 8) % 8;
  if (shortBits < 3) shortBits += 8;
  shortBytes = (fixedBits + shortBits) >> 3;
  maxCount = 1 << (shortBits + 8);
  nextSlot = nextCoded(0);
  active = true;
  return 0;
}

/** Builds the next packet at tp_pk_ptr(); returns its length, 0 when done (all sent or budget reached), or an error. */
export function tp_pk_next(): i32 {
  if (!active) return E_NOT_STARTED;
  if (nextSlot >= endSlot) return 0;
  const room = budget - sent;
  const cap = room < packetBytes ? room : packetBytes;
  if (cap < MIN_PACKET) return 0;
  const buf = descWord(D_PACKET);
  const payload = buf + HEADER_MAX;
  const first = nextSlot;
  const limit = compact ? maxCount : 0x7fffffff;
  rcInit(payload);
  let count = 0;
  let index = nextSlot;
  while (index < endSlot && count < limit) {
    locate(index);
    const e = entry(pC);
    const levels = <i32>load<u16>(e);
    const classes = <i32>load<u8>(e + 2);
    const ctx = contextOf(index, first, classes, tables + load<i32>(e + ENTR_ENTRY_MAP_AT));
    const s = <i32>load<u8>(latent + pC * plane + pY * W + pX);
    if (s >= levels) { active = false; return E_TABLES_MISMATCH; }
    const row = tables + load<i32>(e + ENTR_ENTRY_CUM_AT) + ((ctx * (levels + 1) + s) << 1);
    const cf = <u32>load<u16>(row), f = <u32>load<u16>(row, 2) - cf;
    // Snapshot, code, and roll back if the symbol does not fit (emitted bytes are final; see range-coder.ts).
    const sLow = rcLow, sRange = rcRange, sCache = rcCache, sHas = rcHasCache, sFF = rcFF, sPos = rcPos;
    rcEncode(cf, f);
    if (overhead(first, count + 1) + rcReservedLength() > cap) {
      rcLow = sLow; rcRange = sRange; rcCache = sCache; rcHasCache = sHas; rcFF = sFF; rcPos = sPos;
      break;
    }
    count++;
    index = nextCoded(index + 1);
  }
  if (count == 0) {
    if (cap < packetBytes) return 0;
    active = false;
    return E_SYMBOL_TOO_LARGE;
  }
  const len = rcFinish();
  const end = payload + len;
  let start: i32;
  if (compact) {
    // Bit string, little-endian: image id mod 16 | first | long flag | count − 1 (≤ 44 bits: u64).
    const isLong = count > (1 << shortBits);
    const bytes = isLong ? shortBytes + 1 : shortBytes;
    start = payload - 1 - bytes;
    store<u8>(start, <u8>COMPACT_TAG);
    let v: u64 = <u64>(imageId & 15) | (<u64>first << 4) | (<u64>(isLong ? 1 : 0) << <u64>(4 + firstBits)) | (<u64>(count - 1) << <u64>(5 + firstBits));
    for (let i = 1; i <= bytes; i++) { store<u8>(start + i, <u8>v); v >>= 8; }
    store<u8>(end, <u8>packetCrc8(start, end));
  } else {
    const headerBytes = 3 + varintLength(first) + varintLength(count);
    start = payload - headerBytes;
    store<u8>(start, <u8>PACKET_TAG);
    store<u8>(start + 1, <u8>imageId);
    store<u8>(start + 2, <u8>packetIndex);
    let at = writeVarint(start + 3, first);
    writeVarint(at, count);
    const crc = packetCrc(start, end);
    store<u8>(end, <u8>(crc & 0xff));
    store<u8>(end + 1, <u8>(crc >> 8));
  }
  packetAt = start;
  const total = end + (compact ? 1 : 2) - start;
  sent += total;
  symbols += count;
  packetIndex++;
  nextSlot = index;
  return total;
}

export function tp_pk_ptr(): i32 { return packetAt; }
export function tp_pk_sent(): i32 { return sent; }
export function tp_pk_symbols(): i32 { return symbols; }
export function tp_pk_complete(): i32 { return active && nextSlot >= endSlot ? 1 : 0; }
