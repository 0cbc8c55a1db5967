// A trained feature compressor (training/export_feature_compressor.py's JSON) attached to an imported
// split head: its conv becomes the head's last op (the device runs it like any other, its output is
// the latent's symbols), its expander goes to the FCMP/FEXP sections for the server
// (docs/split-computing.md §Feature compression).
import type { FeatureCompressor, HeadConv, HeadModel } from "../../core/head-types.ts";
import { TidepoolError } from "../../core/errors.ts";
import { quantizeScale } from "../requantize.ts";
import { validateHeadModel } from "../head-format.ts";

export const COMPRESSOR_JSON_FORMAT = "tidepool-feature-compressor";

export class CompressorFileError extends TidepoolError {
  constructor(source: string, message: string) {
    super("feature-compressor", `${source}: ${message}`);
  }
}

interface ConvJson {
  weight: number[];
  bias: number[];
}

interface CompressorJson {
  format: string;
  version: number;
  split: number;
  levels: number;
  offset: number;
  ratio: number;
  channels: number;
  splitScale: number;
  splitZeroPoint: number;
  compressor: { weights: number[]; bias: number[]; scale: number[] };
  expander: { width: number; conv1: ConvJson; conv2: ConvJson; conv3: ConvJson };
}

/** Parses and checks the JSON against the head it is attached to; every refusal names the field. */
export function parseCompressorJson(text: string, source: string): CompressorJson {
  let j: CompressorJson;
  try {
    j = JSON.parse(text);
  } catch {
    throw new CompressorFileError(source, "not JSON");
  }
  if (j?.format !== COMPRESSOR_JSON_FORMAT || j.version !== 1)
    throw new CompressorFileError(source, `not a feature compressor (expected format "${COMPRESSOR_JSON_FORMAT}" version 1)`);
  for (const f of ["split", "levels", "offset", "ratio", "channels", "splitZeroPoint"] as const)
    if (!Number.isInteger(j[f]) || j[f] < 0) throw new CompressorFileError(source, `field "${f}" must be a non-negative integer`);
  return j;
}

/** The head with the compressor conv appended and the compressor description set. */
export function attachCompressor(head: HeadModel, j: CompressorJson, source: string): HeadModel {
  const split = head.ops.at(-1)!;
  const splitC = split.op === "conv" ? split.outChannels : split.channels;
  if (head.meta.split !== j.split) throw new CompressorFileError(source, `trained for split ${j.split}, the head ends at split ${String(head.meta.split)}`);
  if (split.outZeroPoint !== j.splitZeroPoint || Math.fround(split.outScale) !== Math.fround(j.splitScale))
    throw new CompressorFileError(
      source,
      `trained on a split tensor with scale ${j.splitScale} and zero point ${j.splitZeroPoint}; the head's is ${split.outScale}, ${split.outZeroPoint}`,
    );
  const { ratio: R, channels: C, levels, offset } = j;
  const need = (what: string, arr: unknown, n: number) => {
    if (!Array.isArray(arr) || arr.length !== n) throw new CompressorFileError(source, `${what} must have ${n} values`);
  };
  need("compressor.weights", j.compressor?.weights, C * R * R * splitC);
  need("compressor.bias", j.compressor?.bias, C);
  need("compressor.scale", j.compressor?.scale, C);
  for (const w of j.compressor.weights)
    if (!Number.isInteger(w) || w < -127 || w > 127) throw new CompressorFileError(source, `compressor weight ${w} is not an int8`);
  const W = j.expander?.width;
  if (!Number.isInteger(W) || W < 1) throw new CompressorFileError(source, "expander.width must be a positive integer");
  const convs = [
    ["conv1", W * C * 9, W],
    ["conv2", W * W * 9, W],
    ["conv3", splitC * R * R * W, splitC * R * R],
  ] as const;
  for (const [name, nw, nb] of convs) {
    need(`expander.${name}.weight`, j.expander[name]?.weight, nw);
    need(`expander.${name}.bias`, j.expander[name]?.bias, nb);
  }
  const multiplier = new Int32Array(C),
    shift = new Uint8Array(C);
  j.compressor.scale.forEach((s, c) => {
    let q: { multiplier: number; shift: number };
    try {
      q = quantizeScale(Math.fround(s));
    } catch (e) {
      throw new CompressorFileError(source, `compressor.scale[${c}]: ${(e as Error).message}`);
    }
    multiplier[c] = q.multiplier;
    shift[c] = q.shift;
  });
  const conv: HeadConv = {
    op: "conv",
    name: `feature compressor ${C}x${R}x${R}`,
    input: head.ops.length,
    kernel: R,
    stride: R,
    padding: 0,
    depthwise: false,
    inChannels: splitC,
    outChannels: C,
    inZeroPoint: split.outZeroPoint,
    outZeroPoint: offset,
    clampLo: 0,
    clampHi: levels - 1,
    outScale: 1,
    weights: Int8Array.from(j.compressor.weights),
    bias: Int32Array.from(j.compressor.bias),
    multiplier,
    shift,
  };
  const f32 = (a: number[]) => Float32Array.from(a);
  const compressor: FeatureCompressor = {
    headOps: head.ops.length,
    levels,
    offset,
    ratio: R,
    expander: {
      width: W,
      conv1: { weight: f32(j.expander.conv1.weight), bias: f32(j.expander.conv1.bias) },
      conv2: { weight: f32(j.expander.conv2.weight), bias: f32(j.expander.conv2.bias) },
      conv3: { weight: f32(j.expander.conv3.weight), bias: f32(j.expander.conv3.bias) },
    },
    entropy: null,
  };
  const out: HeadModel = {
    input: head.input,
    ops: [...head.ops, conv],
    meta: { ...head.meta, name: `onnx head, split ${j.split}, feature compressor ${C} channels /${R}`, compressorSource: source },
    compressor,
  };
  validateHeadModel(out, source);
  return out;
}
