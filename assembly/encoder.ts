// Tidepool on-device encoder: int8 conv layers streamed row by row through a static arena.
// All buffers live at offsets fixed by the build (memory-maps/); this file allocates nothing.
// ABI: docs/device-abi.md. Arithmetic: docs/model-format.md (requantization and rounding).
import {
  PLAN_MAGIC, PLAN_HEADER_WORDS, PLAN_LAYER_WORDS, STATE_LAYER_WORDS,
  H_MAGIC, H_LAYER_COUNT, H_MAX_WIDTH, H_MAX_HEIGHT, H_IN_CHANNELS, H_ZP0, H_ROW_STAGE_OFFSET, H_ROW_STAGE_BYTES,
  H_LATENT_OFFSET, H_STATE_OFFSET, H_LATENT_OFFSETS_OFFSET, H_LATENT_LEVELS_OFFSET,
  L_KERNEL, L_STRIDE, L_PADDING, L_ACTIVATION, L_IN_CHANNELS, L_OUT_CHANNELS, L_IN_SIGNED, L_RING_OFFSET,
  L_RING_ROW_BYTES, L_WEIGHTS_OFFSET, L_BIAS_OFFSET, L_MULTIPLIER_OFFSET, L_SHIFT_OFFSET, L_MAX_IN_WIDTH,
  S_IN_WIDTH, S_IN_HEIGHT, S_OUT_WIDTH, S_OUT_HEIGHT, S_ROWS_IN, S_NEXT_OUT,
  ACT_LINEAR, ACT_RELU, FORMAT_GRAY8, FORMAT_RGB565, FORMAT_RGB888,
} from "./plan";
import { OK, E_BAD_PLAN, E_BAD_FORMAT, E_FRAME_TOO_LARGE, E_FRAME_TOO_SMALL, E_NOT_INITIALISED, E_FRAME_COMPLETE } from "./abi";

/** Arena offset of the plan block: a compile-time constant set per build with `--use TIDEPOOL_PLAN_OFFSET=<n>`. */
// @ts-ignore: TIDEPOOL_PLAN_OFFSET is a global introduced by asc --use
const PLAN_OFFSET: i32 = TIDEPOOL_PLAN_OFFSET;

/** 1 when the build generated per-layer kernels (passed to asc with --lib, see docs/kernels.md); 0: the generic kernel below. */
// @ts-ignore: TIDEPOOL_KERNELS is a global introduced by asc --use
const SPECIALISED_KERNELS: bool = TIDEPOOL_KERNELS == 1;

const ABI_VERSION: i32 = 1;


let frameWidth: i32 = 0;
let frameHeight: i32 = 0;
let frameFormat: i32 = -1;
let rowsPushed: i32 = 0;
let ready: bool = false;

@inline function planWord(i: i32): i32 { return load<i32>(PLAN_OFFSET + (i << 2)); }
@inline function layerWord(layer: i32, i: i32): i32 { return load<i32>(PLAN_OFFSET + ((PLAN_HEADER_WORDS + layer * PLAN_LAYER_WORDS + i) << 2)); }
@inline function stateAddr(layer: i32, i: i32): i32 { return planWord(H_STATE_OFFSET) + ((layer * STATE_LAYER_WORDS + i) << 2); }
@inline function stateWord(layer: i32, i: i32): i32 { return load<i32>(stateAddr(layer, i)); }
@inline function setStateWord(layer: i32, i: i32, v: i32): void { store<i32>(stateAddr(layer, i), v); }

export function tp_abi_version(): i32 { return ABI_VERSION; }
export function tp_max_width(): i32 { return planWord(H_MAX_WIDTH); }
export function tp_max_height(): i32 { return planWord(H_MAX_HEIGHT); }
export function tp_row_ptr(): i32 { return planWord(H_ROW_STAGE_OFFSET); }
export function tp_latent_ptr(): i32 { return planWord(H_LATENT_OFFSET); }
export function tp_ready(): i32 { return ready ? 1 : 0; }
export function tp_rows_pushed(): i32 { return rowsPushed; }

function lastLayer(): i32 { return planWord(H_LAYER_COUNT) - 1; }
export function tp_latent_width(): i32 { return stateWord(lastLayer(), S_OUT_WIDTH); }
export function tp_latent_height(): i32 { return stateWord(lastLayer(), S_OUT_HEIGHT); }
export function tp_latent_channels(): i32 { return layerWord(lastLayer(), L_OUT_CHANNELS); }
export function tp_latent_len(): i32 { return tp_latent_width() * tp_latent_height() * tp_latent_channels(); }

function bytesPerPixel(format: i32): i32 {
  if (format == FORMAT_GRAY8) return 1;
  if (format == FORMAT_RGB565) return 2;
  if (format == FORMAT_RGB888) return 3;
  return 0;
}

@inline function convOut(size: i32, k: i32, s: i32, p: i32): i32 { return (size + 2 * p - k) / s + 1; }

/** Starts a frame. Returns OK or a negative error code; the arena is not touched beyond the state block. */
export function tp_init(width: i32, height: i32, format: i32): i32 {
  ready = false;
  frameFormat = -1;
  if (planWord(H_MAGIC) != PLAN_MAGIC) return E_BAD_PLAN;
  const bpp = bytesPerPixel(format);
  if (bpp == 0) return E_BAD_FORMAT;
  if (width > planWord(H_MAX_WIDTH) || height > planWord(H_MAX_HEIGHT) || width * bpp > planWord(H_ROW_STAGE_BYTES)) return E_FRAME_TOO_LARGE;
  const layers = planWord(H_LAYER_COUNT);
  let w = width, h = height;
  for (let l = 0; l < layers; l++) {
    const k = layerWord(l, L_KERNEL), s = layerWord(l, L_STRIDE), p = layerWord(l, L_PADDING);
    if (w < 1 || h < 1 || w + 2 * p < k || h + 2 * p < k) return E_FRAME_TOO_SMALL;
    const ow = convOut(w, k, s, p), oh = convOut(h, k, s, p);
    setStateWord(l, S_IN_WIDTH, w); setStateWord(l, S_IN_HEIGHT, h);
    setStateWord(l, S_OUT_WIDTH, ow); setStateWord(l, S_OUT_HEIGHT, oh);
    setStateWord(l, S_ROWS_IN, 0); setStateWord(l, S_NEXT_OUT, 0);
    w = ow; h = oh;
  }
  frameWidth = width; frameHeight = height; frameFormat = format; rowsPushed = 0;
  return OK;
}

@inline function clampI8(v: i32): i32 { return v < -128 ? -128 : v > 127 ? 127 : v; }

/** Converts the staged camera row to int8 (pixel - zero point) straight into layer 0's line buffer. */
function normaliseRow(dst: i32): void {
  const src = planWord(H_ROW_STAGE_OFFSET);
  const cin = planWord(H_IN_CHANNELS);
  const zp0 = planWord(H_ZP0), zp1 = planWord(H_ZP0 + 1), zp2 = planWord(H_ZP0 + 2);
  // The cameras' own formats with zero point 128 (every shipped model) get a loop of their own: no
  // format tests and no clamp per pixel (p - 128 of a byte p is in [-128, 127]; as a byte, p ^ 0x80).
  // Ahead-of-time code does not unswitch the general loop itself: ~55 native instructions per pixel.
  const n = frameWidth;
  if (cin == 3 && frameFormat == FORMAT_RGB565 && zp0 == 128 && zp1 == 128 && zp2 == 128) {
    for (let x = 0, d = dst; x < n; x++, d += 3) {
      const v = <i32>load<u16>(src + (x << 1));
      const r5 = v >> 11, g6 = (v >> 5) & 63, b5 = v & 31;
      store<u8>(d, ((r5 << 3) | (r5 >> 2)) ^ 0x80);
      store<u8>(d, ((g6 << 2) | (g6 >> 4)) ^ 0x80, 1);
      store<u8>(d, ((b5 << 3) | (b5 >> 2)) ^ 0x80, 2);
    }
    return;
  }
  if (cin == 1 && frameFormat == FORMAT_GRAY8 && zp0 == 128) {
    for (let x = 0; x < n; x++) store<u8>(dst + x, <i32>load<u8>(src + x) ^ 0x80);
    return;
  }
  for (let x = 0; x < frameWidth; x++) {
    let r: i32, g: i32, b: i32;
    if (frameFormat == FORMAT_RGB888) {
      const p = src + x * 3;
      r = <i32>load<u8>(p); g = <i32>load<u8>(p + 1); b = <i32>load<u8>(p + 2);
    } else if (frameFormat == FORMAT_RGB565) {
      const v = <i32>load<u16>(src + (x << 1));
      const r5 = v >> 11, g6 = (v >> 5) & 63, b5 = v & 31;
      r = (r5 << 3) | (r5 >> 2); g = (g6 << 2) | (g6 >> 4); b = (b5 << 3) | (b5 >> 2);
    } else {
      r = <i32>load<u8>(src + x); g = r; b = r;
    }
    if (cin == 3) {
      const d = dst + x * 3;
      store<i8>(d, <i8>clampI8(r - zp0));
      store<i8>(d + 1, <i8>clampI8(g - zp1));
      store<i8>(d + 2, <i8>clampI8(b - zp2));
    } else {
      const y = frameFormat == FORMAT_GRAY8 ? r : (77 * r + 150 * g + 29 * b + 128) >> 8;
      store<i8>(dst + x, <i8>clampI8(y - zp0));
    }
  }
}

/** out = (acc * m + 2^(s-1)) >> s in 64-bit: round half towards +infinity. */
@inline function requantize(acc: i32, m: i32, s: i32): i32 {
  return <i32>(((<i64>acc) * (<i64>m) + ((<i64>1) << (s - 1))) >> s);
}

// Dot products of int8 weights with int8 / uint8 activations, unrolled by 4: on an interpreter
// (wasm3) the loop overhead costs as much as the multiply-add itself.
@inline function dotSigned(w: i32, x: i32, n: i32): i32 {
  let acc = 0;
  for (; n >= 4; n -= 4, w += 4, x += 4) {
    acc += <i32>load<i8>(w) * <i32>load<i8>(x) + <i32>load<i8>(w, 1) * <i32>load<i8>(x, 1)
         + <i32>load<i8>(w, 2) * <i32>load<i8>(x, 2) + <i32>load<i8>(w, 3) * <i32>load<i8>(x, 3);
  }
  for (; n > 0; n--, w++, x++) acc += <i32>load<i8>(w) * <i32>load<i8>(x);
  return acc;
}

@inline function dotUnsigned(w: i32, x: i32, n: i32): i32 {
  let acc = 0;
  for (; n >= 4; n -= 4, w += 4, x += 4) {
    acc += <i32>load<i8>(w) * <i32>load<u8>(x) + <i32>load<i8>(w, 1) * <i32>load<u8>(x, 1)
         + <i32>load<i8>(w, 2) * <i32>load<u8>(x, 2) + <i32>load<i8>(w, 3) * <i32>load<u8>(x, 3);
  }
  for (; n > 0; n--, w++, x++) acc += <i32>load<i8>(w) * <i32>load<u8>(x);
  return acc;
}

/**
 * Computes output row `oy` of layer `l` into the next layer's line buffer (pixel-interleaved), or into
 * the latent when last. The generic kernel reads every size from the plan; it is the reference the
 * build's specialised kernels are tested against.
 */
function convRow(l: i32, oy: i32): void {
  if (SPECIALISED_KERNELS) {
    // @ts-ignore: tp_kernel_row is defined by the generated kernels library
    tp_kernel_row(l, oy);
    return;
  }
  const k = layerWord(l, L_KERNEL), s = layerWord(l, L_STRIDE), p = layerWord(l, L_PADDING);
  const cin = layerWord(l, L_IN_CHANNELS), cout = layerWord(l, L_OUT_CHANNELS);
  const act = layerWord(l, L_ACTIVATION), signedIn = layerWord(l, L_IN_SIGNED) != 0;
  const ring = layerWord(l, L_RING_OFFSET), rowBytes = layerWord(l, L_RING_ROW_BYTES);
  const wts = layerWord(l, L_WEIGHTS_OFFSET), bias = layerWord(l, L_BIAS_OFFSET);
  const mul = layerWord(l, L_MULTIPLIER_OFFSET), sh = layerWord(l, L_SHIFT_OFFSET);
  const inW = stateWord(l, S_IN_WIDTH), inH = stateWord(l, S_IN_HEIGHT), outW = stateWord(l, S_OUT_WIDTH), outH = stateWord(l, S_OUT_HEIGHT);
  const isLast = l == lastLayer();
  let dst = 0, latOffsets = 0, latLevels = 0;
  if (isLast) {
    dst = planWord(H_LATENT_OFFSET);
    latOffsets = planWord(H_LATENT_OFFSETS_OFFSET);
    latLevels = planWord(H_LATENT_LEVELS_OFFSET);
  } else {
    const kn = layerWord(l + 1, L_KERNEL);
    dst = layerWord(l + 1, L_RING_OFFSET) + (oy % kn) * layerWord(l + 1, L_RING_ROW_BYTES);
  }
  // Kernel rows that fall inside the frame.
  const y0 = oy * s - p;
  const kyStart = y0 < 0 ? -y0 : 0;
  const kyEnd = y0 + k > inH ? inH - y0 : k;
  const kxRow = k * cin;
  for (let ox = 0; ox < outW; ox++) {
    const x0 = ox * s - p;
    const kxStart = x0 < 0 ? -x0 : 0;
    const kxEnd = x0 + k > inW ? inW - x0 : k;
    const span = (kxEnd - kxStart) * cin; // contiguous bytes per kernel row
    for (let co = 0; co < cout; co++) {
      let acc = load<i32>(bias + (co << 2));
      const wco = wts + co * k * kxRow;
      for (let ky = kyStart; ky < kyEnd; ky++) {
        const xrow = ring + ((y0 + ky) % k) * rowBytes + (x0 + kxStart) * cin;
        const wrow = wco + ky * kxRow + kxStart * cin;
        acc += signedIn ? dotSigned(wrow, xrow, span) : dotUnsigned(wrow, xrow, span);
      }
      let v = requantize(acc, load<i32>(mul + (co << 2)), load<i32>(sh + (co << 2)));
      if (isLast) {
        v += load<i32>(latOffsets + (co << 2));
        const top = load<i32>(latLevels + (co << 2)) - 1;
        v = v < 0 ? 0 : v > top ? top : v;
        store<u8>(dst + (co * outH + oy) * outW + ox, <u8>v);
      } else if (act == ACT_RELU) {
        store<u8>(dst + ox * cout + co, <u8>(v < 0 ? 0 : v > 255 ? 255 : v));
      } else {
        store<i8>(dst + ox * cout + co, <i8>clampI8(v));
      }
    }
  }
}

/** Feeds the row just written into layer l's line buffer; emits every output row it completes. */
function rowArrived(l: i32): void {
  const rowsIn = stateWord(l, S_ROWS_IN) + 1;
  setStateWord(l, S_ROWS_IN, rowsIn);
  const k = layerWord(l, L_KERNEL), s = layerWord(l, L_STRIDE), p = layerWord(l, L_PADDING);
  const inH = stateWord(l, S_IN_HEIGHT), outH = stateWord(l, S_OUT_HEIGHT);
  const last = lastLayer();
  let oy = stateWord(l, S_NEXT_OUT);
  while (oy < outH) {
    let needed = oy * s - p + k; // rows needed (exclusive end), clipped to the frame
    if (needed > inH) needed = inH;
    if (needed > rowsIn) break;
    convRow(l, oy);
    oy++;
    setStateWord(l, S_NEXT_OUT, oy);
    if (l < last) rowArrived(l + 1);
  }
  if (l == last && oy == outH) ready = true;
}

/** Consumes the row staged at tp_row_ptr(). Returns rows still expected, or a negative error code. */
export function tp_push_row(): i32 {
  if (frameFormat < 0) return E_NOT_INITIALISED;
  if (rowsPushed >= frameHeight) return E_FRAME_COMPLETE;
  const k0 = layerWord(0, L_KERNEL);
  normaliseRow(layerWord(0, L_RING_OFFSET) + (rowsPushed % k0) * layerWord(0, L_RING_ROW_BYTES));
  rowsPushed++;
  rowArrived(0);
  return frameHeight - rowsPushed;
}
export * from "./bitstream/packets";
export * from "./policy";
