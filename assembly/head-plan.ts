// Word indices of the split head's plan block; mirrors host/build/memory-map/head-plan-layout.ts (a test checks they agree).
export const HEAD_PLAN_MAGIC: i32 = 0x44485054;
export const HEAD_HEADER_WORDS: i32 = 16;
export const HEAD_TENSOR_WORDS: i32 = 4;
export const HEAD_OP_WORDS: i32 = 16;
export const HEAD_STATE_TENSOR_WORDS: i32 = 4;

export const HH_MAGIC: i32 = 0;
export const HH_OP_COUNT: i32 = 2;
export const HH_TENSOR_COUNT: i32 = 3;
export const HH_MAX_WIDTH: i32 = 4;
export const HH_MAX_HEIGHT: i32 = 5;
export const HH_IN_CHANNELS: i32 = 6;
export const HH_ROW_STAGE_OFFSET: i32 = 7;
export const HH_ROW_STAGE_BYTES: i32 = 8;
export const HH_LUT_OFFSET: i32 = 9;
export const HH_STATE_OFFSET: i32 = 10;

export const HT_CHANNELS: i32 = 0;
export const HT_RING_OFFSET: i32 = 1;
export const HT_RING_ROWS: i32 = 2;
export const HT_ROW_BYTES: i32 = 3;

export const HO_KIND: i32 = 0;
export const HO_IN0: i32 = 1;
export const HO_IN1: i32 = 2;
export const HO_KERNEL: i32 = 3;
export const HO_STRIDE: i32 = 4;
export const HO_PADDING: i32 = 5;
export const HO_DEPTHWISE: i32 = 6;
export const HO_IN_ZERO_POINT: i32 = 7;
export const HO_OUT_ZERO_POINT: i32 = 8;
export const HO_CLAMP_LO: i32 = 9;
export const HO_CLAMP_HI: i32 = 10;
export const HO_WEIGHTS_OFFSET: i32 = 11;
export const HO_BIAS_OFFSET: i32 = 12;
export const HO_MULTIPLIER_OFFSET: i32 = 13;
export const HO_SHIFT_OFFSET: i32 = 14;
export const HO_OUT_CHANNELS: i32 = 15;

export const HA_ZERO_POINT_A: i32 = 7;
export const HA_MULTIPLIER_A: i32 = 11;
export const HA_MULTIPLIER_B: i32 = 12;
export const HA_SHIFT: i32 = 13;
export const HA_ZERO_POINT_B: i32 = 14;

export const OP_CONV: i32 = 0;
export const OP_ADD: i32 = 1;
