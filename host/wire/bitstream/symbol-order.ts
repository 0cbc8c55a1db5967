// The order symbols travel in (docs/bitstream.md §Symbol order): channel-major (importance order, so a
// byte budget is a tail-drop), and within a channel, blocks of bw×bh positions visited in a seeded
// per-channel permutation (a lost packet costs scattered blocks, not a region). Within a block, raster.
import type { EntropyTables } from "./tables.ts";

export interface LatentShape {
  width: number;
  height: number;
  channels: number;
}

export interface SymbolGeometry {
  width: number;
  height: number;
  channels: number;
  blockWidth: number;
  blockHeight: number;
  blocksX: number;
  blocks: number;
  /** Index slots per block (bw·bh) and per channel (blocks·bw·bh). */
  blockSlots: number;
  channelSlots: number;
  /** Size of the padded index space: positions outside the latent are skipped, never coded. */
  totalSlots: number;
}

export function symbolGeometry(shape: LatentShape, tables: Pick<EntropyTables, "blockWidth" | "blockHeight">): SymbolGeometry {
  const { width, height, channels } = shape;
  const bw = tables.blockWidth,
    bh = tables.blockHeight;
  const blocksX = Math.ceil(width / bw),
    blocks = blocksX * Math.ceil(height / bh);
  const blockSlots = bw * bh,
    channelSlots = blocks * blockSlots;
  return { width, height, channels, blockWidth: bw, blockHeight: bh, blocksX, blocks, blockSlots, channelSlots, totalSlots: channels * channelSlots };
}

/** xorshift32 step (Marsaglia): integer-only, identical in AssemblyScript. */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** Seed of channel c's permutation; never 0 (xorshift's fixed point). */
export function channelSeed(seed: number, channel: number): number {
  const s = (seed ^ Math.imul(channel + 1, 0x9e3779b9)) >>> 0;
  return s === 0 ? 1 : s;
}

/** Fisher–Yates over blocks 0..n−1 driven by xorshift32: slot j of channel c carries block perm[j]. */
export function blockPermutation(seed: number, channel: number, n: number): Uint16Array {
  const perm = new Uint16Array(n);
  for (let j = 0; j < n; j++) perm[j] = j;
  let s = channelSeed(seed, channel);
  for (let j = n - 1; j > 0; j--) {
    s = xorshift32(s);
    const k = s % (j + 1);
    const t = perm[j];
    perm[j] = perm[k];
    perm[k] = t;
  }
  return perm;
}

/** Where an index slot lands: channel, latent x/y (or −1 when the slot is padding), and its block offsets. */
export interface SlotPosition {
  channel: number;
  x: number;
  y: number;
  dx: number;
  dy: number;
}

export class SymbolOrder {
  private perms = new Map<number, Uint16Array>();
  constructor(
    readonly g: SymbolGeometry,
    readonly seed: number,
  ) {}

  perm(channel: number): Uint16Array {
    let p = this.perms.get(channel);
    if (!p) {
      p = blockPermutation(this.seed, channel, this.g.blocks);
      this.perms.set(channel, p);
    }
    return p;
  }

  /** Fills `out` for slot `index` (0 ≤ index < totalSlots); x = −1 when the slot is padding. */
  locate(index: number, out: SlotPosition): SlotPosition {
    const g = this.g;
    const c = Math.floor(index / g.channelSlots);
    const r = index - c * g.channelSlots;
    const j = Math.floor(r / g.blockSlots);
    const i = r - j * g.blockSlots;
    const block = this.perm(c)[j];
    const by = Math.floor(block / g.blocksX),
      bx = block - by * g.blocksX;
    const dy = Math.floor(i / g.blockWidth),
      dx = i - dy * g.blockWidth;
    const x = bx * g.blockWidth + dx,
      y = by * g.blockHeight + dy;
    out.channel = c;
    out.dx = dx;
    out.dy = dy;
    if (x < g.width && y < g.height) {
      out.x = x;
      out.y = y;
    } else {
      out.x = -1;
      out.y = -1;
    }
    return out;
  }
}

/**
 * Context of a symbol: its left / up neighbours count only when they are in the same block and were
 * coded in the same packet (index ≥ the packet's first index), so every packet decodes alone.
 */
export function contextOf(
  classes: number,
  classMap: Uint8Array,
  data: Uint8Array,
  plane: number,
  width: number,
  p: SlotPosition,
  index: number,
  first: number,
  blockWidth: number,
): number {
  const base = p.channel * plane + p.y * width + p.x;
  const hasL = p.dx > 0 && index - 1 >= first;
  const hasU = p.dy > 0 && index - blockWidth >= first;
  if (hasL && hasU) return 1 + 2 * classes + classMap[data[base - 1]] * classes + classMap[data[base - width]];
  if (hasL) return 1 + classMap[data[base - 1]];
  if (hasU) return 1 + classes + classMap[data[base - width]];
  return 0;
}
