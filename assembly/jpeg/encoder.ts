// Baseline sequential JPEG encoder for the board, as the on-device baseline Tidepool is compared
// with (MaixPy/OpenMV `image.compress(quality)`): 4:2:0 colour or grey, Annex K quantisation tables
// scaled by quality like libjpeg, standard Huffman tables, libjpeg's integer (islow) DCT.
// Same row interface and arena discipline as the Tidepool encoder: all buffers at offsets fixed by
// compile-time constants (`--use JPEG_MAX_WIDTH=… --use JPEG_OUT_BYTES=…`), no allocation.

// @ts-ignore: compile-time constants from asc --use
const MAX_W: i32 = JPEG_MAX_WIDTH;
// @ts-ignore
const OUT_BYTES: i32 = JPEG_OUT_BYTES;

const PW: i32 = (MAX_W + 15) & ~15;          // stripe width, padded to whole MCUs
const ROW: i32 = 16;                          // staging row (host writes one camera row here)
const Y_STRIPE: i32 = ROW + ((MAX_W * 3 + 15) & ~15);
const CB_STRIPE: i32 = Y_STRIPE + 16 * PW;    // full-resolution chroma stripes, downsampled per MCU
const CR_STRIPE: i32 = CB_STRIPE + 16 * PW;
const BLOCK: i32 = CR_STRIPE + 16 * PW;       // 64 x i32 work block
const QT: i32 = BLOCK + 256;                  // 2 x 64 x i32 divisors (natural order)
const HUFF: i32 = QT + 512;                   // 4 tables x 256 x (code u16, size u16)
const OUT: i32 = HUFF + 4 * 1024;
export const ARENA_END: i32 = OUT + OUT_BYTES;

const FMT_GRAY8: i32 = 0, FMT_RGB565: i32 = 1, FMT_RGB888: i32 = 2;

// Annex K tables in natural order, zigzag order, and the standard Huffman tables (bits, values).
const LUM_Q = memory.data<u8>([16,11,10,16,24,40,51,61,12,12,14,19,26,58,60,55,14,13,16,24,40,57,69,56,14,17,22,29,51,87,80,62,18,22,37,56,68,109,103,77,24,35,55,64,81,104,113,92,49,64,78,87,103,121,120,101,72,92,95,98,112,100,103,99]);
const CHR_Q = memory.data<u8>([17,18,24,47,99,99,99,99,18,21,26,66,99,99,99,99,24,26,56,99,99,99,99,99,47,66,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99]);
const ZIGZAG = memory.data<u8>([0,1,8,16,9,2,3,10,17,24,32,25,18,11,4,5,12,19,26,33,40,48,41,34,27,20,13,6,7,14,21,28,35,42,49,56,57,50,43,36,29,22,15,23,30,37,44,51,58,59,52,45,38,31,39,46,53,60,61,54,47,55,62,63]);
const DC_LUM_BITS = memory.data<u8>([0,1,5,1,1,1,1,1,1,0,0,0,0,0,0,0]);
const DC_CHR_BITS = memory.data<u8>([0,3,1,1,1,1,1,1,1,1,1,0,0,0,0,0]);
const DC_VALS = memory.data<u8>([0,1,2,3,4,5,6,7,8,9,10,11]);
const AC_LUM_BITS = memory.data<u8>([0,2,1,3,3,2,4,3,5,5,4,4,0,0,1,0x7d]);
const AC_LUM_VALS = memory.data<u8>([0x01,0x02,0x03,0x00,0x04,0x11,0x05,0x12,0x21,0x31,0x41,0x06,0x13,0x51,0x61,0x07,0x22,0x71,0x14,0x32,0x81,0x91,0xa1,0x08,0x23,0x42,0xb1,0xc1,0x15,0x52,0xd1,0xf0,0x24,0x33,0x62,0x72,0x82,0x09,0x0a,0x16,0x17,0x18,0x19,0x1a,0x25,0x26,0x27,0x28,0x29,0x2a,0x34,0x35,0x36,0x37,0x38,0x39,0x3a,0x43,0x44,0x45,0x46,0x47,0x48,0x49,0x4a,0x53,0x54,0x55,0x56,0x57,0x58,0x59,0x5a,0x63,0x64,0x65,0x66,0x67,0x68,0x69,0x6a,0x73,0x74,0x75,0x76,0x77,0x78,0x79,0x7a,0x83,0x84,0x85,0x86,0x87,0x88,0x89,0x8a,0x92,0x93,0x94,0x95,0x96,0x97,0x98,0x99,0x9a,0xa2,0xa3,0xa4,0xa5,0xa6,0xa7,0xa8,0xa9,0xaa,0xb2,0xb3,0xb4,0xb5,0xb6,0xb7,0xb8,0xb9,0xba,0xc2,0xc3,0xc4,0xc5,0xc6,0xc7,0xc8,0xc9,0xca,0xd2,0xd3,0xd4,0xd5,0xd6,0xd7,0xd8,0xd9,0xda,0xe1,0xe2,0xe3,0xe4,0xe5,0xe6,0xe7,0xe8,0xe9,0xea,0xf1,0xf2,0xf3,0xf4,0xf5,0xf6,0xf7,0xf8,0xf9,0xfa]);
const AC_CHR_BITS = memory.data<u8>([0,2,1,2,4,4,3,4,7,5,4,4,0,1,2,0x77]);
const AC_CHR_VALS = memory.data<u8>([0x00,0x01,0x02,0x03,0x11,0x04,0x05,0x21,0x31,0x06,0x12,0x41,0x51,0x07,0x61,0x71,0x13,0x22,0x32,0x81,0x08,0x14,0x42,0x91,0xa1,0xb1,0xc1,0x09,0x23,0x33,0x52,0xf0,0x15,0x62,0x72,0xd1,0x0a,0x16,0x24,0x34,0xe1,0x25,0xf1,0x17,0x18,0x19,0x1a,0x26,0x27,0x28,0x29,0x2a,0x35,0x36,0x37,0x38,0x39,0x3a,0x43,0x44,0x45,0x46,0x47,0x48,0x49,0x4a,0x53,0x54,0x55,0x56,0x57,0x58,0x59,0x5a,0x63,0x64,0x65,0x66,0x67,0x68,0x69,0x6a,0x73,0x74,0x75,0x76,0x77,0x78,0x79,0x7a,0x82,0x83,0x84,0x85,0x86,0x87,0x88,0x89,0x8a,0x92,0x93,0x94,0x95,0x96,0x97,0x98,0x99,0x9a,0xa2,0xa3,0xa4,0xa5,0xa6,0xa7,0xa8,0xa9,0xaa,0xb2,0xb3,0xb4,0xb5,0xb6,0xb7,0xb8,0xb9,0xba,0xc2,0xc3,0xc4,0xc5,0xc6,0xc7,0xc8,0xc9,0xca,0xd2,0xd3,0xd4,0xd5,0xd6,0xd7,0xd8,0xd9,0xda,0xe2,0xe3,0xe4,0xe5,0xe6,0xe7,0xe8,0xe9,0xea,0xf2,0xf3,0xf4,0xf5,0xf6,0xf7,0xf8,0xf9,0xfa]);

let width = 0, height = 0, format = -1, colour = false, mcuRows = 16;
let rowsIn = 0, stripeRows = 0, outLen = 0, overflow = false, done = false;
let bitBuf: u32 = 0, bitCount = 0;
let dcY = 0, dcCb = 0, dcCr = 0;

// ---- output ----
@inline function putByte(b: i32): void {
  if (outLen >= OUT_BYTES) { overflow = true; return; }
  store<u8>(OUT + outLen++, <u8>b);
}
function put16(v: i32): void { putByte(v >> 8); putByte(v & 255); }

/** Appends `size` bits of `code`, MSB first, stuffing 0x00 after every 0xFF byte. */
function putBits(code: i32, size: i32): void {
  bitBuf = (bitBuf << size) | (<u32>code & ((1 << size) - 1));
  bitCount += size;
  while (bitCount >= 8) {
    const b = <i32>(bitBuf >> (bitCount - 8)) & 255;
    putByte(b);
    if (b == 255) putByte(0);
    bitCount -= 8;
  }
}

// ---- tables ----
function buildHuffman(table: i32, bits: usize, vals: usize): void {
  let code = 0, k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = <i32>load<u8>(bits + len - 1);
    for (let i = 0; i < n; i++) {
      const v = <i32>load<u8>(vals + k++);
      store<u16>(HUFF + table * 1024 + v * 4, <u16>code);
      store<u16>(HUFF + table * 1024 + v * 4 + 2, <u16>len);
      code++;
    }
    code <<= 1;
  }
}

function writeDht(cls: i32, id: i32, bits: usize, vals: usize): void {
  let n = 0;
  for (let i = 0; i < 16; i++) n += <i32>load<u8>(bits + i);
  putByte(0xff); putByte(0xc4); put16(2 + 1 + 16 + n);
  putByte((cls << 4) | id);
  for (let i = 0; i < 16; i++) putByte(<i32>load<u8>(bits + i));
  for (let i = 0; i < n; i++) putByte(<i32>load<u8>(vals + i));
}

function setQuant(table: i32, base: usize, quality: i32): void {
  const scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
  for (let i = 0; i < 64; i++) {
    let q = (<i32>load<u8>(base + i) * scale + 50) / 100;
    q = q < 1 ? 1 : q > 255 ? 255 : q; // baseline: 8-bit tables
    store<i32>(QT + table * 256 + i * 4, q);
  }
}

function writeHeaders(): void {
  putByte(0xff); putByte(0xd8); // SOI
  const tables = colour ? 2 : 1;
  putByte(0xff); putByte(0xdb); put16(2 + tables * 65);
  for (let t = 0; t < tables; t++) {
    putByte(t);
    for (let i = 0; i < 64; i++) putByte(load<i32>(QT + t * 256 + <i32>load<u8>(ZIGZAG + i) * 4));
  }
  const comps = colour ? 3 : 1;
  putByte(0xff); putByte(0xc0); put16(8 + 3 * comps); putByte(8); put16(height); put16(width); putByte(comps);
  putByte(1); putByte(colour ? 0x22 : 0x11); putByte(0);
  if (colour) { putByte(2); putByte(0x11); putByte(1); putByte(3); putByte(0x11); putByte(1); }
  writeDht(0, 0, DC_LUM_BITS, DC_VALS); writeDht(1, 0, AC_LUM_BITS, AC_LUM_VALS);
  if (colour) { writeDht(0, 1, DC_CHR_BITS, DC_VALS); writeDht(1, 1, AC_CHR_BITS, AC_CHR_VALS); }
  putByte(0xff); putByte(0xda); put16(6 + 2 * comps); putByte(comps);
  putByte(1); putByte(0x00);
  if (colour) { putByte(2); putByte(0x11); putByte(3); putByte(0x11); }
  putByte(0); putByte(63); putByte(0);
}

// ---- DCT (libjpeg jfdctint.c, "islow") ----
const CB: i32 = 13, P1: i32 = 2;
@inline function descale(x: i32, n: i32): i32 { return (x + (1 << (n - 1))) >> n; }

function fdct(): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < 8; i++) {
      // pass 0: rows (stride 1); pass 1: columns (stride 8)
      const p = pass == 0 ? BLOCK + i * 32 : BLOCK + i * 4;
      const s = pass == 0 ? 4 : 32;
      const d0 = load<i32>(p), d1 = load<i32>(p + s), d2 = load<i32>(p + 2 * s), d3 = load<i32>(p + 3 * s);
      const d4 = load<i32>(p + 4 * s), d5 = load<i32>(p + 5 * s), d6 = load<i32>(p + 6 * s), d7 = load<i32>(p + 7 * s);
      let t0 = d0 + d7, t7 = d0 - d7, t1 = d1 + d6, t6 = d1 - d6, t2 = d2 + d5, t5 = d2 - d5, t3 = d3 + d4, t4 = d3 - d4;
      const t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
      const shift = pass == 0 ? CB - P1 : CB + P1;
      if (pass == 0) { store<i32>(p, (t10 + t11) << P1); store<i32>(p + 4 * s, (t10 - t11) << P1); }
      else { store<i32>(p, descale(t10 + t11, P1)); store<i32>(p + 4 * s, descale(t10 - t11, P1)); }
      let z1 = (t12 + t13) * 4433;
      store<i32>(p + 2 * s, descale(z1 + t13 * 6270, shift));
      store<i32>(p + 6 * s, descale(z1 - t12 * 15137, shift));
      z1 = t4 + t7; let z2 = t5 + t6, z3 = t4 + t6, z4 = t5 + t7;
      const z5 = (z3 + z4) * 9633;
      t4 *= 2446; t5 *= 16819; t6 *= 25172; t7 *= 12299;
      z1 *= -7373; z2 *= -20995; z3 *= -16069; z4 *= -3196;
      z3 += z5; z4 += z5;
      store<i32>(p + 7 * s, descale(t4 + z1 + z3, shift));
      store<i32>(p + 5 * s, descale(t5 + z2 + z4, shift));
      store<i32>(p + 3 * s, descale(t6 + z2 + z3, shift));
      store<i32>(p + s, descale(t7 + z1 + z4, shift));
    }
  }
}

@inline function bitLength(v: i32): i32 { return v == 0 ? 0 : 32 - clz(v); }

/** DCT, quantise and Huffman-code the work block; returns the new DC predictor. */
function encodeBlock(q: i32, dcTable: i32, acTable: i32, lastDc: i32): i32 {
  fdct();
  // Quantise in place (libjpeg: divisor = q * 8, rounding half away from zero).
  for (let i = 0; i < 64; i++) {
    const div = load<i32>(QT + q * 256 + i * 4) << 3;
    const t = load<i32>(BLOCK + i * 4);
    store<i32>(BLOCK + i * 4, t < 0 ? -((-t + (div >> 1)) / div) : (t + (div >> 1)) / div);
  }
  const dc = load<i32>(BLOCK);
  let diff = dc - lastDc;
  let mag = diff < 0 ? -diff : diff;
  let n = bitLength(mag);
  putBits(<i32>load<u16>(HUFF + dcTable * 1024 + n * 4), <i32>load<u16>(HUFF + dcTable * 1024 + n * 4 + 2));
  if (n) putBits(diff < 0 ? diff - 1 : diff, n);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = load<i32>(BLOCK + <i32>load<u8>(ZIGZAG + k) * 4);
    if (v == 0) { run++; continue; }
    while (run > 15) { putBits(<i32>load<u16>(HUFF + acTable * 1024 + 0xf0 * 4), <i32>load<u16>(HUFF + acTable * 1024 + 0xf0 * 4 + 2)); run -= 16; }
    mag = v < 0 ? -v : v;
    n = bitLength(mag);
    const sym = (run << 4) | n;
    putBits(<i32>load<u16>(HUFF + acTable * 1024 + sym * 4), <i32>load<u16>(HUFF + acTable * 1024 + sym * 4 + 2));
    putBits(v < 0 ? v - 1 : v, n);
    run = 0;
  }
  if (run > 0) putBits(<i32>load<u16>(HUFF + acTable * 1024), <i32>load<u16>(HUFF + acTable * 1024 + 2));
  return dc;
}

/** Loads an 8x8 block of a stripe plane (level-shifted); `sub` = 2 averages 2x2 (4:2:0 chroma). */
function loadBlock(plane: i32, x0: i32, y0: i32, sub: i32): void {
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) {
      let v: i32;
      if (sub == 1) v = <i32>load<u8>(plane + (y0 + y) * PW + x0 + x);
      else {
        const p = plane + (y0 + 2 * y) * PW + x0 + 2 * x;
        v = (<i32>load<u8>(p) + <i32>load<u8>(p + 1) + <i32>load<u8>(p + PW) + <i32>load<u8>(p + PW + 1) + 2) >> 2;
      }
      store<i32>(BLOCK + (y * 8 + x) * 4, v - 128);
    }
}

function encodeStripe(): void {
  const mcus = (width + mcuRows - 1) / mcuRows;
  for (let m = 0; m < mcus; m++) {
    const x0 = m * mcuRows;
    if (colour) {
      loadBlock(Y_STRIPE, x0, 0, 1); dcY = encodeBlock(0, 0, 1, dcY);
      loadBlock(Y_STRIPE, x0 + 8, 0, 1); dcY = encodeBlock(0, 0, 1, dcY);
      loadBlock(Y_STRIPE, x0, 8, 1); dcY = encodeBlock(0, 0, 1, dcY);
      loadBlock(Y_STRIPE, x0 + 8, 8, 1); dcY = encodeBlock(0, 0, 1, dcY);
      loadBlock(CB_STRIPE, x0, 0, 2); dcCb = encodeBlock(1, 2, 3, dcCb);
      loadBlock(CR_STRIPE, x0, 0, 2); dcCr = encodeBlock(1, 2, 3, dcCr);
    } else {
      loadBlock(Y_STRIPE, x0, 0, 1); dcY = encodeBlock(0, 0, 1, dcY);
    }
  }
}

/** Starts an image: quality 1..100 as libjpeg's jpeg_set_quality with baseline tables. */
export function tp_init(w: i32, h: i32, fmt: i32, quality: i32): i32 {
  done = false; format = -1;
  if (fmt < FMT_GRAY8 || fmt > FMT_RGB888) return -2;
  if (w < 1 || h < 1 || w > MAX_W || h > 65535) return -3;
  if (quality < 1 || quality > 100) return -8;
  width = w; height = h; format = fmt; colour = fmt != FMT_GRAY8; mcuRows = colour ? 16 : 8;
  rowsIn = 0; stripeRows = 0; outLen = 0; overflow = false; bitBuf = 0; bitCount = 0; dcY = 0; dcCb = 0; dcCr = 0;
  setQuant(0, LUM_Q, quality); setQuant(1, CHR_Q, quality);
  buildHuffman(0, DC_LUM_BITS, DC_VALS); buildHuffman(1, AC_LUM_BITS, AC_LUM_VALS);
  buildHuffman(2, DC_CHR_BITS, DC_VALS); buildHuffman(3, AC_CHR_BITS, AC_CHR_VALS);
  writeHeaders();
  return overflow ? -7 : 0;
}

export function tp_row_ptr(): i32 { return ROW; }

/** Colour-converts the staged row into the stripe (libjpeg's fixed-point YCbCr), padding to whole MCUs. */
function intakeRow(): void {
  const yRow = Y_STRIPE + stripeRows * PW, cbRow = CB_STRIPE + stripeRows * PW, crRow = CR_STRIPE + stripeRows * PW;
  for (let x = 0; x < width; x++) {
    let r: i32, g: i32, b: i32;
    if (format == FMT_RGB888) { const p = ROW + x * 3; r = <i32>load<u8>(p); g = <i32>load<u8>(p + 1); b = <i32>load<u8>(p + 2); }
    else if (format == FMT_RGB565) {
      const v = <i32>load<u16>(ROW + (x << 1));
      const r5 = v >> 11, g6 = (v >> 5) & 63, b5 = v & 31;
      r = (r5 << 3) | (r5 >> 2); g = (g6 << 2) | (g6 >> 4); b = (b5 << 3) | (b5 >> 2);
    } else { store<u8>(yRow + x, load<u8>(ROW + x)); continue; }
    store<u8>(yRow + x, <u8>((19595 * r + 38470 * g + 7471 * b + 32768) >> 16));
    store<u8>(cbRow + x, <u8>((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16));
    store<u8>(crRow + x, <u8>((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16));
  }
  const padTo = (width + 15) & ~15;
  for (let x = width; x < padTo; x++) {
    store<u8>(yRow + x, load<u8>(yRow + width - 1));
    if (colour) { store<u8>(cbRow + x, load<u8>(cbRow + width - 1)); store<u8>(crRow + x, load<u8>(crRow + width - 1)); }
  }
}

function finish(): void {
  if (stripeRows > 0) {
    // Bottom edge: replicate the last row to fill the MCU row.
    for (let r = stripeRows; r < mcuRows; r++) {
      memory.copy(Y_STRIPE + r * PW, Y_STRIPE + (stripeRows - 1) * PW, PW);
      if (colour) { memory.copy(CB_STRIPE + r * PW, CB_STRIPE + (stripeRows - 1) * PW, PW); memory.copy(CR_STRIPE + r * PW, CR_STRIPE + (stripeRows - 1) * PW, PW); }
    }
    encodeStripe();
  }
  if (bitCount > 0) putBits(0x7f, 8 - bitCount); // pad with 1-bits
  putByte(0xff); putByte(0xd9); // EOI
  done = true;
}

/** Consumes the staged row; returns rows still expected, or a negative error code (-7: output buffer full). */
export function tp_push_row(): i32 {
  if (format < 0) return -5;
  if (rowsIn >= height) return -6;
  intakeRow();
  rowsIn++; stripeRows++;
  if (stripeRows == mcuRows) { encodeStripe(); stripeRows = 0; }
  if (rowsIn == height) finish();
  return overflow ? -7 : height - rowsIn;
}

export function tp_ready(): i32 { return done && !overflow ? 1 : 0; }
export function tp_output_ptr(): i32 { return OUT; }
export function tp_output_len(): i32 { return outLen; }
