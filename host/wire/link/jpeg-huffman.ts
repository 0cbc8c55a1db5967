// Optimised Huffman coding of the device JPEG's scan, as libjpeg-turbo's `optimize_coding` would give
// for the same coefficients: decode the scan's symbols under the standard tables, count them, build
// per-image optimal tables (JPEG Annex K.2, libjpeg's jpeg_gen_optimal_table) and re-code the same
// symbols. Lossless: the receiver decodes exactly the device's coefficients. A device needs a second
// pass over its frame (or the coefficients kept) to do it; docs/energy.md prices that.
import { FailureError } from "../../core/errors.ts";
import { type HuffmanSet, type HuffmanSpec, standardHuffmanSet } from "./jpeg-tables.ts";

interface Coded {
  table: number;
  symbol: number;
  extraBits: number;
  extraLength: number;
}

function canonicalCodes(spec: HuffmanSpec): Map<number, { code: number; length: number }> {
  const out = new Map<number, { code: number; length: number }>();
  let code = 0,
    k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < spec.bits[len - 1]; i++) out.set(spec.vals[k++], { code: code++, length: len });
    code <<= 1;
  }
  return out;
}

/** Reads the scan's bits (0xFF 0x00 unstuffed) and its Huffman symbols. */
class ScanReader {
  private pos = 0;
  private buf = 0;
  private count = 0;
  constructor(private scan: Uint8Array) {}
  bit(): number {
    if (this.count === 0) {
      if (this.pos >= this.scan.length) throw new FailureError("jpeg-scan", `scan ends at byte ${this.pos} inside a block`);
      this.buf = this.scan[this.pos++];
      if (this.buf === 0xff) this.pos++; // stuffed 0x00
      this.count = 8;
    }
    this.count--;
    return (this.buf >> this.count) & 1;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v;
  }
  symbol(decode: Map<string, number>): number {
    let code = 0;
    for (let len = 1; len <= 16; len++) {
      code = (code << 1) | this.bit();
      const v = decode.get(`${len}:${code}`);
      if (v !== undefined) return v;
    }
    throw new FailureError("jpeg-scan", `no Huffman code matches at scan byte ${this.pos}`);
  }
}

/** The symbols of a baseline scan in the device's layout (4:2:0 colour MCUs of 4 Y + Cb + Cr, or grey 8×8). */
function readSymbols(scan: Uint8Array, width: number, height: number, colour: boolean, tables: HuffmanSet): Coded[] {
  const decoders = tables.map((t) => {
    const m = new Map<string, number>();
    for (const [sym, c] of canonicalCodes(t)) m.set(`${c.length}:${c.code}`, sym);
    return m;
  });
  const mcu = colour ? 16 : 8;
  const mcus = Math.ceil(width / mcu) * Math.ceil(height / mcu);
  const blockTables: Array<[number, number]> = colour
    ? [
        [0, 1],
        [0, 1],
        [0, 1],
        [0, 1],
        [2, 3],
        [2, 3],
      ]
    : [[0, 1]];
  const r = new ScanReader(scan);
  const out: Coded[] = [];
  for (let m = 0; m < mcus; m++)
    for (const [dc, ac] of blockTables) {
      const n = r.symbol(decoders[dc]);
      out.push({ table: dc, symbol: n, extraLength: n, extraBits: r.bits(n) });
      for (let k = 1; k < 64; ) {
        const rs = r.symbol(decoders[ac]);
        const s = rs & 15;
        out.push({ table: ac, symbol: rs, extraLength: s, extraBits: r.bits(s) });
        if (s === 0 && rs !== 0xf0) break; // end of block
        k += (rs >> 4) + 1;
      }
    }
  return out;
}

/** Optimal code lengths limited to 16 bits for the symbol counts (Annex K.2), as a DHT table. */
export function optimalTable(counts: readonly number[]): HuffmanSpec {
  if (!counts.some((c) => c > 0)) return { bits: new Array(16).fill(0), vals: [] };
  const freq = [...counts.slice(0, 256), ...new Array(Math.max(0, 256 - counts.length)).fill(0), 1]; // 256: reserved so no code is all ones
  const size = new Array(257).fill(0),
    others = new Array(257).fill(-1);
  for (;;) {
    let c1 = -1,
      c2 = -1,
      v = Infinity;
    for (let i = 0; i <= 256; i++)
      if (freq[i] && freq[i] <= v) {
        v = freq[i];
        c1 = i;
      }
    v = Infinity;
    for (let i = 0; i <= 256; i++)
      if (freq[i] && freq[i] <= v && i !== c1) {
        v = freq[i];
        c2 = i;
      }
    if (c2 < 0) break;
    freq[c1] += freq[c2];
    freq[c2] = 0;
    size[c1]++;
    while (others[c1] >= 0) size[(c1 = others[c1])]++;
    others[c1] = c2;
    size[c2]++;
    while (others[c2] >= 0) size[(c2 = others[c2])]++;
  }
  const bits = new Array(258).fill(0); // a skewed count can make codes longer than libjpeg's 32
  for (let i = 0; i <= 256; i++) if (size[i]) bits[size[i]]++;
  for (let i = 257; i > 16; i--)
    while (bits[i] > 0) {
      let j = i - 2;
      while (bits[j] === 0) j--;
      bits[i] -= 2;
      bits[i - 1]++;
      bits[j + 1] += 2;
      bits[j]--;
    }
  let i = 16;
  while (bits[i] === 0) i--;
  bits[i]--; // drop the reserved symbol's code
  const vals: number[] = [];
  for (let len = 1; len <= 257; len++) for (let s = 0; s < 256; s++) if (size[s] === len) vals.push(s); // by unlimited length: the limit moved lengths, not the order
  return { bits: bits.slice(1, 17), vals };
}

/** The same scan re-coded with tables optimised for it; `huffman` in DHT order. */
export function optimiseScan(scan: Uint8Array, width: number, height: number, colour: boolean): { huffman: HuffmanSet; scan: Uint8Array } {
  const symbols = readSymbols(scan, width, height, colour, standardHuffmanSet(colour));
  const counts = standardHuffmanSet(colour).map(() => new Array(256).fill(0));
  for (const s of symbols) counts[s.table][s.symbol]++;
  const huffman = counts.map(optimalTable);
  const codes = huffman.map(canonicalCodes);
  const out: number[] = [];
  let acc = 0,
    n = 0;
  const put = (v: number, len: number) => {
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((v >> i) & 1);
      if (++n === 8) {
        out.push(acc);
        if (acc === 0xff) out.push(0);
        acc = 0;
        n = 0;
      }
    }
  };
  for (const s of symbols) {
    const c = codes[s.table].get(s.symbol)!;
    put(c.code, c.length);
    put(s.extraBits, s.extraLength);
  }
  if (n > 0) put(0x7f, 8 - n); // pad with 1-bits
  return { huffman, scan: Uint8Array.from(out) };
}
