// In-memory form of a Tidepool model file (see docs/model-format.md).

/** How a conv layer's requantized output is clamped and stored. */
export type Activation = "linear" | "relu" | "latent";

export interface InputSpec {
  /** 3 (RGB) or 1 (grey). A GRAY8 camera feeding a 3-channel model replicates Y into R, G, B. */
  channels: number;
  /** Per channel: the device computes int8 x = clamp(pixel - zeroPoint, -128, 127). */
  zeroPoints: number[];
  /** Per channel: real value of one step of x (informative, for training and decoding). */
  scales: number[];
}

export interface ConvLayer {
  kernel: number;
  stride: number;
  padding: number;
  activation: Activation;
  inChannels: number;
  outChannels: number;
  /** Real value of one output step (informative). */
  outScale: number;
  /** int8, layout [outChannel][ky][kx][inChannel]. */
  weights: Int8Array;
  /** int32 per output channel, added to the accumulator before requantization. */
  bias: Int32Array;
  /** Per output channel fixed-point multiplier in [0, 2^31). */
  multiplier: Int32Array;
  /** Per output channel right shift in [16, 62]. */
  shift: Uint8Array;
}

export interface LatentQuantizer {
  /** Bits per latent symbol on the wire (symbols lie in [0, levels-1] with levels <= 2^bits). */
  bits: number;
  /** Per channel: added to the requantized value before clamping to [0, levels-1]. */
  offsets: Int32Array;
  /** Per channel number of levels. */
  levels: Uint16Array;
  /** Per channel real value of one symbol step; the decoder dequantizes (symbol - offset) * step. */
  steps: Float32Array;
}

export interface Model {
  input: InputSpec;
  layers: ConvLayer[];
  latent: LatentQuantizer;
  /** Entropy tables (payload of the ENTR section), defined by the bitstream module; null when absent. */
  entropy: Uint8Array | null;
  /** Adaptive policy (payload of the PLCY section, docs/adaptive.md); absent or null when none. */
  policy?: Uint8Array | null;
  /** Free-form provenance (name, training run, seed...). */
  meta: Record<string, unknown>;
}
