// The device JPEG in abbreviated form (JPEG's "abbreviated format for compressed image data", taken as
// far as a fixed-table device allows): the receiver knows the quantisation tables (Annex K scaled by
// quality), the Huffman tables and the camera frame, so the device sends one quality byte and the
// entropy-coded scan; the receiver rebuilds SOI, DQT, SOF0, DHT, SOS and EOI (jpeg-tables.ts) and
// hands an ordinary baseline file to its decoder. With per-image optimised Huffman tables
// (jpeg-huffman.ts) the tables travel too, as DHT carries them (16 counts + the symbols, per table).
import { FailureError } from "../../core/errors.ts";
import { optimiseScan } from "./jpeg-huffman.ts";
import { type HuffmanSet, jpegHeader, standardHuffmanSet } from "./jpeg-tables.ts";

export interface JpegFrame {
  width: number;
  height: number;
  colour: boolean;
}

const EOI = [0xff, 0xd9];

/** The device file's entropy-coded scan; checks the headers are exactly those the receiver would rebuild at `quality`. */
export function deviceJpegScan(file: Uint8Array, quality: number, f: JpegFrame): Uint8Array {
  const header = jpegHeader(quality, f.width, f.height, f.colour);
  const same = file.length >= header.length + 2 && header.every((b, i) => file[i] === b) && file.at(-2) === EOI[0] && file.at(-1) === EOI[1];
  if (!same)
    throw new FailureError(
      "jpeg-abbreviate",
      `device JPEG (${file.length} B) does not carry the fixed headers of quality ${quality} at ${f.width}x${f.height}`,
    );
  return file.subarray(header.length, file.length - 2);
}

/** What goes over the air: the quality byte and the scan. */
export function abbreviateJpeg(file: Uint8Array, quality: number, f: JpegFrame): Uint8Array {
  const scan = deviceJpegScan(file, quality, f);
  const out = new Uint8Array(1 + scan.length);
  out[0] = quality;
  out.set(scan, 1);
  return out;
}

/** The receiver's side: the full baseline file. */
export function expandAbbreviatedJpeg(bytes: Uint8Array, f: JpegFrame): Uint8Array {
  if (bytes.length < 1 || bytes[0] < 1 || bytes[0] > 100) throw new FailureError("jpeg-abbreviate", "abbreviated JPEG does not start with a quality 1..100");
  return concat(jpegHeader(bytes[0], f.width, f.height, f.colour), bytes.subarray(1), Uint8Array.from(EOI));
}

/** Abbreviated with optimised Huffman tables: quality byte, each table's 16 counts + symbols, the re-coded scan. */
export function abbreviateJpegOptimised(file: Uint8Array, quality: number, f: JpegFrame): Uint8Array {
  const { huffman, scan } = optimiseScan(deviceJpegScan(file, quality, f), f.width, f.height, f.colour);
  return concat(Uint8Array.of(quality), ...huffman.map((h) => Uint8Array.from([...h.bits, ...h.vals])), scan);
}

export function expandAbbreviatedJpegOptimised(bytes: Uint8Array, f: JpegFrame): Uint8Array {
  const huffman: HuffmanSet = [];
  let p = 1;
  for (let t = 0; t < standardHuffmanSet(f.colour).length; t++) {
    const bits = Array.from(bytes.subarray(p, p + 16));
    const n = bits.reduce((s, v) => s + v, 0);
    if (bits.length < 16 || p + 16 + n > bytes.length) throw new FailureError("jpeg-abbreviate", `abbreviated JPEG ends inside Huffman table ${t}`);
    huffman.push({ bits, vals: Array.from(bytes.subarray(p + 16, p + 16 + n)) });
    p += 16 + n;
  }
  return concat(jpegHeader(bytes[0], f.width, f.height, f.colour, huffman), bytes.subarray(p), Uint8Array.from(EOI));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
