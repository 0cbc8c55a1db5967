// Tidepool split head: the first layers of a quantized classifier (conv, depthwise, pointwise,
// residual add) streamed row by row through a static arena. Each tensor has a ring of rows whose
// size the build computed by replaying this file's schedule (host/build/memory-map/head-planner.ts);
// the last tensor (the split point) is kept whole. ABI: docs/device-abi.md (split head).
import {
  HEAD_PLAN_MAGIC, HEAD_HEADER_WORDS, HEAD_TENSOR_WORDS, HEAD_OP_WORDS, HEAD_STATE_TENSOR_WORDS,
  HH_MAGIC, HH_OP_COUNT, HH_TENSOR_COUNT, HH_MAX_WIDTH, HH_MAX_HEIGHT, HH_IN_CHANNELS, HH_ROW_STAGE_OFFSET,
  HH_ROW_STAGE_BYTES, HH_LUT_OFFSET, HH_STATE_OFFSET,
  HT_CHANNELS, HT_RING_OFFSET, HT_RING_ROWS,
  HO_KIND, HO_IN0, HO_IN1, HO_KERNEL, HO_STRIDE, HO_PADDING, HO_DEPTHWISE, HO_IN_ZERO_POINT, HO_OUT_ZERO_POINT,
  HO_CLAMP_LO, HO_CLAMP_HI, HO_WEIGHTS_OFFSET, HO_BIAS_OFFSET, HO_MULTIPLIER_OFFSET, HO_SHIFT_OFFSET, HO_OUT_CHANNELS,
  HA_ZERO_POINT_A, HA_MULTIPLIER_A, HA_MULTIPLIER_B, HA_SHIFT, HA_ZERO_POINT_B, OP_CONV,
} from "./head-plan";
import { FORMAT_GRAY8, FORMAT_RGB565, FORMAT_RGB888 } from "./plan";
import { OK, E_BAD_PLAN, E_BAD_FORMAT, E_FRAME_TOO_LARGE, E_FRAME_TOO_SMALL, E_NOT_INITIALISED, E_FRAME_COMPLETE } from "./abi";
import { convSetup, convParams, denseConvRow, depthwiseConvRow } from "./ops/qconv";
import { addRow } from "./ops/qadd";

// @ts-ignore: TIDEPOOL_HEAD_PLAN_OFFSET is a global introduced by asc --use
const PLAN_OFFSET: i32 = TIDEPOOL_HEAD_PLAN_OFFSET;
const ABI_VERSION: i32 = 1;

let frameWidth: i32 = 0;
let frameHeight: i32 = 0;
let frameFormat: i32 = -1;
let rowsPushed: i32 = 0;

@inline function planWord(i: i32): i32 { return load<i32>(PLAN_OFFSET + (i << 2)); }
@inline function opCount(): i32 { return planWord(HH_OP_COUNT); }
@inline function tensorCount(): i32 { return planWord(HH_TENSOR_COUNT); }
@inline function tensorWord(t: i32, i: i32): i32 { return planWord(HEAD_HEADER_WORDS + t * HEAD_TENSOR_WORDS + i); }
@inline function opWord(o: i32, i: i32): i32 { return planWord(HEAD_HEADER_WORDS + tensorCount() * HEAD_TENSOR_WORDS + o * HEAD_OP_WORDS + i); }
// State: per tensor [width, height, rows produced, spare], then per op [next output row].
@inline function tsAddr(t: i32, i: i32): i32 { return planWord(HH_STATE_OFFSET) + ((t * HEAD_STATE_TENSOR_WORDS + i) << 2); }
@inline function tWidth(t: i32): i32 { return load<i32>(tsAddr(t, 0)); }
@inline function tHeight(t: i32): i32 { return load<i32>(tsAddr(t, 1)); }
@inline function tRows(t: i32): i32 { return load<i32>(tsAddr(t, 2)); }
@inline function opNextAddr(o: i32): i32 { return planWord(HH_STATE_OFFSET) + ((tensorCount() * HEAD_STATE_TENSOR_WORDS + o) << 2); }
// Rows are packed at this frame's width (<= the planned one), so the split tensor comes out contiguous.
@inline function rowStride(t: i32): i32 { return tWidth(t) * tensorWord(t, HT_CHANNELS); }
@inline function rowAddr(t: i32, r: i32): i32 { return tensorWord(t, HT_RING_OFFSET) + (r % tensorWord(t, HT_RING_ROWS)) * rowStride(t); }

export function tp_abi_version(): i32 { return ABI_VERSION; }
export function tp_max_width(): i32 { return planWord(HH_MAX_WIDTH); }
export function tp_max_height(): i32 { return planWord(HH_MAX_HEIGHT); }
export function tp_row_ptr(): i32 { return planWord(HH_ROW_STAGE_OFFSET); }
export function tp_rows_pushed(): i32 { return rowsPushed; }
/** The split tensor (last tensor), uint8 pixel-interleaved [y][x][c], when the build kept it whole. */
export function tp_output_ptr(): i32 { return tensorWord(tensorCount() - 1, HT_RING_OFFSET); }
/** Rows of the split tensor computed so far (a streamed build keeps only the last few: read them after each row). */
export function tp_output_rows(): i32 { return tRows(tensorCount() - 1); }
/** Address of split-tensor row `r` (valid until the ring wraps past it). */
export function tp_output_row_ptr(r: i32): i32 { return rowAddr(tensorCount() - 1, r); }
export function tp_output_width(): i32 { return tWidth(tensorCount() - 1); }
export function tp_output_height(): i32 { return tHeight(tensorCount() - 1); }
export function tp_output_channels(): i32 { return tensorWord(tensorCount() - 1, HT_CHANNELS); }
export function tp_output_len(): i32 { return tp_output_width() * tp_output_height() * tp_output_channels(); }
export function tp_ready(): i32 {
  const last = tensorCount() - 1;
  return frameFormat >= 0 && tRows(last) == tHeight(last) ? 1 : 0;
}

function bytesPerPixel(format: i32): i32 {
  if (format == FORMAT_GRAY8) return 1;
  if (format == FORMAT_RGB565) return 2;
  if (format == FORMAT_RGB888) return 3;
  return 0;
}

/** Starts a frame: derives every tensor's size and resets the stream. Returns OK or a negative code. */
export function tp_init(width: i32, height: i32, format: i32): i32 {
  frameFormat = -1;
  if (planWord(HH_MAGIC) != HEAD_PLAN_MAGIC) return E_BAD_PLAN;
  const bpp = bytesPerPixel(format);
  if (bpp == 0) return E_BAD_FORMAT;
  if (width > planWord(HH_MAX_WIDTH) || height > planWord(HH_MAX_HEIGHT) || width * bpp > planWord(HH_ROW_STAGE_BYTES)) return E_FRAME_TOO_LARGE;
  if (width < 1 || height < 1) return E_FRAME_TOO_SMALL;
  store<i32>(tsAddr(0, 0), width); store<i32>(tsAddr(0, 1), height); store<i32>(tsAddr(0, 2), 0);
  const n = opCount();
  for (let o = 0; o < n; o++) {
    const a = opWord(o, HO_IN0);
    let w = tWidth(a), h = tHeight(a);
    if (opWord(o, HO_KIND) == OP_CONV) {
      const k = opWord(o, HO_KERNEL), s = opWord(o, HO_STRIDE), p = opWord(o, HO_PADDING);
      if (w + 2 * p < k || h + 2 * p < k) return E_FRAME_TOO_SMALL;
      w = (w + 2 * p - k) / s + 1; h = (h + 2 * p - k) / s + 1;
    } else {
      const b = opWord(o, HO_IN1);
      if (tWidth(b) != w || tHeight(b) != h) return E_FRAME_TOO_SMALL;
    }
    store<i32>(tsAddr(o + 1, 0), w); store<i32>(tsAddr(o + 1, 1), h); store<i32>(tsAddr(o + 1, 2), 0);
    store<i32>(opNextAddr(o), 0);
  }
  frameWidth = width; frameHeight = height; frameFormat = format; rowsPushed = 0;
  return OK;
}

/** Camera row -> tensor 0 through the per-channel table (normalisation + QuantizeLinear folded in). */
function inputRow(dst: i32): void {
  const src = planWord(HH_ROW_STAGE_OFFSET), lut = planWord(HH_LUT_OFFSET);
  const cin = planWord(HH_IN_CHANNELS);
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
      store<u8>(d, load<u8>(lut + r));
      store<u8>(d + 1, load<u8>(lut + 256 + g));
      store<u8>(d + 2, load<u8>(lut + 512 + b));
    } else {
      const y = frameFormat == FORMAT_GRAY8 ? r : (77 * r + 150 * g + 29 * b + 128) >> 8;
      store<u8>(dst + x, load<u8>(lut + y));
    }
  }
}

/** Whether op `o` has every input row its next output row needs. */
function inputsReady(o: i32, oy: i32): bool {
  const a = opWord(o, HO_IN0);
  if (opWord(o, HO_KIND) == OP_CONV) {
    let needed = oy * opWord(o, HO_STRIDE) - opWord(o, HO_PADDING) + opWord(o, HO_KERNEL);
    if (needed > tHeight(a)) needed = tHeight(a);
    return needed <= tRows(a);
  }
  return tRows(a) > oy && tRows(opWord(o, HO_IN1)) > oy;
}

function computeRow(o: i32, oy: i32): void {
  const a = opWord(o, HO_IN0), t = o + 1;
  const dst = rowAddr(t, oy);
  if (opWord(o, HO_KIND) == OP_CONV) {
    convSetup(tensorWord(a, HT_RING_OFFSET), tensorWord(a, HT_RING_ROWS), rowStride(a), tWidth(a), tHeight(a),
      tensorWord(a, HT_CHANNELS), dst, tWidth(t), opWord(o, HO_OUT_CHANNELS));
    convParams(opWord(o, HO_KERNEL), opWord(o, HO_STRIDE), opWord(o, HO_PADDING), opWord(o, HO_IN_ZERO_POINT), opWord(o, HO_OUT_ZERO_POINT),
      opWord(o, HO_CLAMP_LO), opWord(o, HO_CLAMP_HI), opWord(o, HO_WEIGHTS_OFFSET), opWord(o, HO_BIAS_OFFSET),
      opWord(o, HO_MULTIPLIER_OFFSET), opWord(o, HO_SHIFT_OFFSET));
    if (opWord(o, HO_DEPTHWISE) != 0) depthwiseConvRow(oy); else denseConvRow(oy);
  } else {
    const b = opWord(o, HO_IN1);
    addRow(rowAddr(a, oy), rowAddr(b, oy), dst, tWidth(t) * opWord(o, HO_OUT_CHANNELS),
      opWord(o, HA_ZERO_POINT_A), opWord(o, HA_ZERO_POINT_B), opWord(o, HA_MULTIPLIER_A), opWord(o, HA_MULTIPLIER_B),
      opWord(o, HA_SHIFT), opWord(o, HO_OUT_ZERO_POINT), opWord(o, HO_CLAMP_LO), opWord(o, HO_CLAMP_HI));
  }
}

/** Runs op `o` as far as its inputs allow, handing each new row on at once (depth first). */
function advance(o: i32): void {
  const t = o + 1, outH = tHeight(t);
  let oy = load<i32>(opNextAddr(o));
  while (oy < outH && inputsReady(o, oy)) {
    computeRow(o, oy);
    oy++;
    store<i32>(opNextAddr(o), oy);
    store<i32>(tsAddr(t, 2), oy);
    rowProduced(t);
  }
}

/** A row of tensor `t` was written: every op that reads `t` (in op order) tries to advance. */
function rowProduced(t: i32): void {
  const n = opCount();
  for (let o = t; o < n; o++) {
    if (opWord(o, HO_IN0) == t || (opWord(o, HO_KIND) != OP_CONV && opWord(o, HO_IN1) == t)) advance(o);
  }
}

/** Consumes the row staged at tp_row_ptr(). Returns rows still expected, or a negative error code. */
export function tp_push_row(): i32 {
  if (frameFormat < 0) return E_NOT_INITIALISED;
  if (rowsPushed >= frameHeight) return E_FRAME_COMPLETE;
  inputRow(rowAddr(0, rowsPushed));
  rowsPushed++;
  store<i32>(tsAddr(0, 2), rowsPushed);
  rowProduced(0);
  return frameHeight - rowsPushed;
}
