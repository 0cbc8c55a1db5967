// Word indices of the plan block; mirrors host/build/memory-map/plan-layout.ts (a test checks they agree).
export const PLAN_MAGIC: i32 = 0x4c505054;
export const PLAN_HEADER_WORDS: i32 = 16;
export const PLAN_LAYER_WORDS: i32 = 16;
export const STATE_LAYER_WORDS: i32 = 8;

export const H_MAGIC: i32 = 0;
export const H_LAYER_COUNT: i32 = 2;
export const H_MAX_WIDTH: i32 = 3;
export const H_MAX_HEIGHT: i32 = 4;
export const H_IN_CHANNELS: i32 = 5;
export const H_ZP0: i32 = 6;
export const H_ROW_STAGE_OFFSET: i32 = 9;
export const H_ROW_STAGE_BYTES: i32 = 10;
export const H_LATENT_OFFSET: i32 = 11;
export const H_LATENT_BYTES: i32 = 12;
export const H_STATE_OFFSET: i32 = 13;
export const H_LATENT_OFFSETS_OFFSET: i32 = 14;
export const H_LATENT_LEVELS_OFFSET: i32 = 15;

export const L_KERNEL: i32 = 0;
export const L_STRIDE: i32 = 1;
export const L_PADDING: i32 = 2;
export const L_ACTIVATION: i32 = 3;
export const L_IN_CHANNELS: i32 = 4;
export const L_OUT_CHANNELS: i32 = 5;
export const L_IN_SIGNED: i32 = 6;
export const L_RING_OFFSET: i32 = 7;
export const L_RING_ROW_BYTES: i32 = 8;
export const L_WEIGHTS_OFFSET: i32 = 9;
export const L_BIAS_OFFSET: i32 = 10;
export const L_MULTIPLIER_OFFSET: i32 = 11;
export const L_SHIFT_OFFSET: i32 = 12;
export const L_MAX_IN_WIDTH: i32 = 13;
export const L_WEIGHT_LANES: i32 = 14;

// Per-layer stream state words.
export const S_IN_WIDTH: i32 = 0;
export const S_IN_HEIGHT: i32 = 1;
export const S_OUT_WIDTH: i32 = 2;
export const S_OUT_HEIGHT: i32 = 3;
export const S_ROWS_IN: i32 = 4;
export const S_NEXT_OUT: i32 = 5;

export const ACT_LINEAR: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_LATENT: i32 = 2;

export const FORMAT_GRAY8: i32 = 0;
export const FORMAT_RGB565: i32 = 1;
export const FORMAT_RGB888: i32 = 2;
