// Multi-symbol range coder with 15-bit static frequencies (docs/bitstream.md §Range coder).
// LZMA-style carry handling (a pending byte plus a run of 0xFF bytes), no leading dummy byte, and a
// shortest-possible flush whose trailing zero bytes are dropped: the decoder reads missing bytes as 0.
// Integer-exact: assembly/bitstream/packets.ts does the same steps in u64/u32 and must give the same bytes.
// Numbers here stay below 2^34, so plain JS arithmetic (no bitwise ops above 32 bits) is exact.
import { TidepoolError } from "../../core/errors.ts";

export const PROB_BITS = 15;
export const PROB_ONE = 1 << PROB_BITS;
const TOP = 2 ** 24;
const TWO32 = 2 ** 32;

export interface EncoderState {
  low: number;
  range: number;
  cache: number;
  hasCache: boolean;
  ffCount: number;
  pos: number;
}

export class RangeEncoder {
  private low = 0;
  private range = 0xffffffff;
  private cache = 0;
  private hasCache = false;
  private ffCount = 0;
  private out: Uint8Array;
  private pos = 0;

  constructor(capacityHint = 256) {
    this.out = new Uint8Array(Math.max(16, capacityHint));
  }

  /** Codes a symbol with cumulative frequency `cf` and frequency `f` (f >= 1, cf + f <= 2^15). */
  encode(cf: number, f: number): void {
    const r = Math.floor(this.range / PROB_ONE);
    this.low += r * cf;
    this.range = r * f;
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  private emit(b: number) {
    if (this.pos >= this.out.length) {
      const n = new Uint8Array(this.out.length * 2);
      n.set(this.out);
      this.out = n;
    }
    this.out[this.pos++] = b;
  }

  private shiftLow() {
    if (this.low < 0xff000000 || this.low >= TWO32) {
      const carry = this.low >= TWO32 ? 1 : 0;
      if (this.hasCache) this.emit((this.cache + carry) & 0xff);
      for (; this.ffCount > 0; this.ffCount--) this.emit((0xff + carry) & 0xff);
      this.cache = Math.floor(this.low / TOP) & 0xff;
      this.hasCache = true;
    } else {
      this.ffCount++;
    }
    this.low = (this.low % TOP) * 256;
  }

  snapshot(): EncoderState {
    return { low: this.low, range: this.range, cache: this.cache, hasCache: this.hasCache, ffCount: this.ffCount, pos: this.pos };
  }
  /** Bytes already emitted are final (carries only reach the pending bytes), so restoring the fields suffices. */
  restore(s: EncoderState): void {
    ({ low: this.low, range: this.range, cache: this.cache, hasCache: this.hasCache, ffCount: this.ffCount, pos: this.pos } = s);
  }

  /** The flush point: the smallest k in 1..4 for which a multiple of 2^(32−8k) lies in [low, low + range). */
  private flushPoint(): { k: number; v: number } {
    for (let k = 1; k <= 4; k++) {
      const unit = 2 ** (32 - 8 * k);
      const v = Math.ceil(this.low / unit) * unit;
      if (v - this.low < this.range) return { k, v };
    }
    throw new Error("range coder: unreachable flush state"); // k = 4 (unit 1) always satisfies v = low
  }

  /**
   * Bytes the packet must reserve for the stream so far: the finished length, or more while emitted and
   * pending bytes exceed it (zeros that finishing would trim). Bounding this keeps the device's writes
   * inside its buffer; the packetizer accepts a symbol only while this fits.
   */
  reservedLength(): number {
    return Math.max(this.finishedLength(), this.pos + (this.hasCache ? 1 : 0) + this.ffCount);
  }

  /** Bytes of the finished stream, i.e. what `finish()` would return, without changing the state. */
  finishedLength(): number {
    const { k, v } = this.flushPoint();
    const carry = v >= TWO32 ? 1 : 0;
    const vlow = v % TWO32;
    let last = 0; // 1-based index of the last non-zero byte among v's top k bytes
    for (let i = 1; i <= k; i++) if (Math.floor(vlow / 2 ** (32 - 8 * i)) & 0xff) last = i;
    const head = this.pos + (this.hasCache ? 1 : 0);
    if (last > 0) return head + this.ffCount + last;
    if (this.ffCount > 0 && carry === 0) return head + this.ffCount;
    if (this.hasCache && ((this.cache + carry) & 0xff) !== 0) return head;
    let n = this.pos;
    while (n > 0 && this.out[n - 1] === 0) n--;
    return n;
  }

  /** Flushes and returns the coded bytes (trailing zeros dropped). The encoder must not be used afterwards. */
  finish(): Uint8Array {
    const len = this.finishedLength();
    const { k, v } = this.flushPoint();
    this.low = v;
    for (let i = 0; i < k; i++) this.shiftLow();
    const carry = this.low >= TWO32 ? 1 : 0; // always 0 here: the shifts above already consumed v's carry
    if (this.hasCache) this.emit((this.cache + carry) & 0xff);
    for (; this.ffCount > 0; this.ffCount--) this.emit((0xff + carry) & 0xff);
    this.hasCache = false;
    return this.out.slice(0, len);
  }
}

export class RangeDecodeError extends TidepoolError {
  constructor(m: string) {
    super("range-decode", m);
  }
}

export class RangeDecoder {
  private code = 0;
  private range = 0xffffffff;
  private pos: number;
  private r = 0;
  /** Bytes pulled into the code register so far (the initial 4 plus one per renormalisation). */
  pulled = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly end: number,
  ) {
    this.pos = start;
    for (let i = 0; i < 4; i++) this.code = this.code * 256 + this.next();
  }

  private next(): number {
    this.pulled++;
    return this.pos < this.end ? this.bytes[this.pos++] : (this.pos++, 0);
  }

  /** The scaled target in [0, 2^15); the caller maps it to a symbol and calls `consume`. */
  target(): number {
    this.r = Math.floor(this.range / PROB_ONE);
    const q = Math.floor(this.code / this.r);
    if (q >= PROB_ONE) throw new RangeDecodeError("code value outside the coded interval");
    return q;
  }

  consume(cf: number, f: number): void {
    this.code -= this.r * cf;
    this.range = this.r * f;
    while (this.range < TOP) {
      this.code = this.code * 256 + this.next();
      this.range *= 256;
    }
  }

  /** Payload bytes the encoder cannot have produced for the symbols decoded so far (a corrupt or padded packet). */
  excessBytes(): number {
    return Math.max(0, this.end - this.start - this.pulled);
  }
}
