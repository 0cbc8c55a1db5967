// In-memory form of a split-computing head (model file version 2, docs/model-format.md): the first
// layers of a quantized classifier (QLinearConv / QLinearAdd semantics) run on the device, row by row.

/** Camera pixel -> uint8 activation of tensor 0, one 256-entry table per input channel. */
export interface HeadInput {
  /** 3 (RGB) or 1 (grey; a colour camera row is reduced to BT.601 luma first, as the encoder does). */
  channels: number;
  /** channels x 256 bytes, channel-major: lut[c * 256 + pixel]. Folds normalisation and QuantizeLinear. */
  lut: Uint8Array;
  /** Quantization of tensor 0 (real = scale * (q - zeroPoint)). */
  scale: number;
  zeroPoint: number;
}

/**
 * Quantized convolution, dense (groups 1) or depthwise (groups = channels). Tensors are uint8 with a
 * per-tensor zero point; weights int8 with zero point 0 (symmetric, per output channel scales folded
 * into multiplier/shift). out = clamp(((acc * m + 2^(s-1)) >> s) + outZeroPoint, clampLo, clampHi),
 * acc = bias + sum w * (x - inZeroPoint) over the taps inside the frame (padding is the real 0).
 */
export interface HeadConv {
  op: "conv";
  /** Source node name (e.g. the ONNX node), for messages. */
  name: string;
  /** Tensor index read: 0 = the input, i + 1 = the output of op i. */
  input: number;
  kernel: number;
  stride: number;
  padding: number;
  depthwise: boolean;
  inChannels: number;
  outChannels: number;
  inZeroPoint: number;
  outZeroPoint: number;
  /** Output range in uint8 steps: [0, 255] plain saturation, or tighter (ReLU6 as the clamp). */
  clampLo: number;
  clampHi: number;
  outScale: number;
  /** int8, [outChannel][ky][kx][inChannel] (dense) or [channel][ky][kx] (depthwise). */
  weights: Int8Array;
  bias: Int32Array;
  multiplier: Int32Array;
  shift: Uint8Array;
}

/**
 * QLinearAdd: out = clamp((((a - za) * ma + (b - zb) * mb + 2^(s-1)) >> s) + outZeroPoint, clampLo, clampHi),
 * ma / mb = round(scale_a / scale_out * 2^s), round(scale_b / scale_out * 2^s).
 */
export interface HeadAdd {
  op: "add";
  name: string;
  inputs: [number, number];
  channels: number;
  zeroPoints: [number, number];
  multipliers: [number, number];
  shift: number;
  outZeroPoint: number;
  clampLo: number;
  clampHi: number;
  outScale: number;
}

export type HeadOp = HeadConv | HeadAdd;

export interface HeadModel {
  input: HeadInput;
  /** In execution order; op i writes tensor i + 1. The head's output (the split tensor) is the last op's. */
  ops: HeadOp[];
  meta: Record<string, unknown>;
  /** The learned feature compressor run after the head (its conv is the last op), when the file has one. */
  compressor?: FeatureCompressor;
}

/** Channels of every tensor (index 0 = input). */
export function tensorChannels(m: HeadModel): number[] {
  return [m.input.channels, ...m.ops.map((o) => (o.op === "conv" ? o.outChannels : o.channels))];
}

/**
 * Learned feature compressor after the split head (docs/split-computing.md §Feature compression).
 * On the device it is the head's last op (a dense conv, kernel = stride = `ratio`, whose requantized
 * output plus `offset`, clamped to [0, levels − 1], is the latent's symbols); on the server the
 * expander turns received symbols back into the split tensor. Model file sections FCMP, FEXP, ENTR.
 */
export interface FeatureCompressor {
  /** Ops [0, headOps) are the classifier's head; op headOps (the last) is the compressor conv. */
  headOps: number;
  /** Symbols per latent channel and the symbol that means 0 (also what a missing symbol decodes to). */
  levels: number;
  offset: number;
  /** Spatial reduction of the compressor (kernel = stride) and the expander's depth-to-space factor. */
  ratio: number;
  /** Server expander: conv3x3 C→width, ReLU, conv3x3 width→width, ReLU, conv1x1 width→splitC·ratio², depth-to-space. */
  expander: FeatureExpander;
  /** Entropy tables of the latent (the ENTR payload, host/wire/bitstream/tables.ts); null before fit-tables. */
  entropy: Uint8Array | null;
}

export interface FeatureExpander {
  width: number;
  /** float32 weights, PyTorch layout [out][in][ky][kx], and biases. */
  conv1: { weight: Float32Array; bias: Float32Array };
  conv2: { weight: Float32Array; bias: Float32Array };
  conv3: { weight: Float32Array; bias: Float32Array };
}
