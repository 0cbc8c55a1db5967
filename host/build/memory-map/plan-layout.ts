// Word layout of the plan block the build writes into the arena and assembly/encoder.ts reads.
// Both sides must agree: assembly/plan.ts mirrors these numbers (a test checks they match).
export const PLAN_MAGIC = 0x4c505054; // "TPPL" little-endian
export const PLAN_VERSION = 1;
export const PLAN_HEADER_WORDS = 16;
export const PLAN_LAYER_WORDS = 16;
export const STATE_LAYER_WORDS = 8;

export const H = {
  magic: 0,
  version: 1,
  layerCount: 2,
  maxWidth: 3,
  maxHeight: 4,
  inChannels: 5,
  zp0: 6,
  zp1: 7,
  zp2: 8,
  rowStageOffset: 9,
  rowStageBytes: 10,
  latentOffset: 11,
  latentBytes: 12,
  stateOffset: 13,
  latentOffsetsOffset: 14,
  latentLevelsOffset: 15,
} as const;

export const L = {
  kernel: 0,
  stride: 1,
  padding: 2,
  activation: 3,
  inChannels: 4,
  outChannels: 5,
  inSigned: 6,
  ringOffset: 7,
  ringRowBytes: 8,
  weightsOffset: 9,
  biasOffset: 10,
  multiplierOffset: 11,
  shiftOffset: 12,
  maxInWidth: 13,
  /** 1: int8 weights [out][ky][kx][in]; 2: i64 pairs of output channels (specialised kernels only). */
  weightLanes: 14,
} as const;

export const ACTIVATION_CODE = { linear: 0, relu: 1, latent: 2 } as const;
