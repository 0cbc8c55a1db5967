// Word layout of the split head's plan block (assembly/head-plan.ts mirrors it; a test checks they agree).
export const HEAD_PLAN_MAGIC = 0x44485054; // "TPHD" little-endian
export const HEAD_PLAN_VERSION = 1;
export const HEAD_HEADER_WORDS = 16;
export const HEAD_TENSOR_WORDS = 4;
export const HEAD_OP_WORDS = 16;
/** Runtime state: per tensor (width, height, rows produced, spare), then per op (next output row). */
export const HEAD_STATE_TENSOR_WORDS = 4;

export const HH = {
  magic: 0,
  version: 1,
  opCount: 2,
  tensorCount: 3,
  maxWidth: 4,
  maxHeight: 5,
  inChannels: 6,
  rowStageOffset: 7,
  rowStageBytes: 8,
  lutOffset: 9,
  stateOffset: 10,
} as const;

/** Tensor descriptor words: channels, ring offset, ring rows, ring row stride in bytes. */
export const HT = { channels: 0, ringOffset: 1, ringRows: 2, rowBytes: 3 } as const;

/** Op descriptor words; an add reuses the conv slots as named in `HA`. */
export const HO = {
  kind: 0,
  in0: 1,
  in1: 2,
  kernel: 3,
  stride: 4,
  padding: 5,
  depthwise: 6,
  inZeroPoint: 7,
  outZeroPoint: 8,
  clampLo: 9,
  clampHi: 10,
  weightsOffset: 11,
  biasOffset: 12,
  multiplierOffset: 13,
  shiftOffset: 14,
  outChannels: 15,
} as const;
export const HA = { zeroPointA: 7, multiplierA: 11, multiplierB: 12, shift: 13, zeroPointB: 14 } as const;

export const OP_KIND = { conv: 0, add: 1 } as const;
