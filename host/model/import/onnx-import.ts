// Imports the head of a QLinear* ONNX classifier (e.g. the int8 MobileNetV2 of the ONNX zoo) into a
// split-head model (model file version 2): QuantizeLinear on the image input becomes the per-channel
// input table, QLinearConv a dense or depthwise conv, QLinearAdd a residual add; every float scale
// ratio becomes Tidepool's fixed-point (multiplier, shift). Anything it cannot map exactly is refused
// with the node's name and why. docs/split-computing.md.
import { TidepoolError } from "../../core/errors.ts";
import type { HeadAdd, HeadConv, HeadModel, HeadOp } from "../../core/head-types.ts";
import { quantizeScale } from "../requantize.ts";
import { MAX_ADD_SHIFT, validateHeadModel } from "../head-format.ts";
import { decodeOnnx, toNumber, ONNX_FLOAT, ONNX_INT32, ONNX_INT8, ONNX_UINT8, type OnnxModel, type OnnxNode, type OnnxTensor } from "./onnx-proto.ts";

export class OnnxImportError extends TidepoolError {
  constructor(message: string) {
    super("onnx-import", message);
  }
}

/** ImageNet normalisation, as host/receiver/classifier.ts feeds the classifier. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

export interface ImportOptions {
  /** Stop after this inverted-residual block (torchvision features[split], 1..17); 0 = stem conv only. */
  split: number;
  mean?: number[];
  std?: number[];
  source?: string;
}

export interface ImportResult {
  head: HeadModel;
  /** ONNX name of the split tensor (the head's output), for comparing with onnxruntime. */
  splitTensor: string;
  /** ONNX name of the quantized image tensor. */
  inputTensor: string;
  blocks: number;
  /** For each split point 0..split: the op count of the head ending there and its ONNX tensor. */
  splitPoints: { ops: number; tensor: string }[];
}

interface Quant {
  scale: number;
  zeroPoint: number;
}

/** Round half to even, as onnxruntime's QuantizeLinear (std::nearbyint). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function importOnnxHead(bytes: Uint8Array, opts: ImportOptions): ImportResult {
  const source = opts.source ?? "ONNX model";
  let model: OnnxModel;
  try {
    model = decodeOnnx(bytes);
  } catch (e) {
    throw new OnnxImportError(`${source}: not an ONNX model (${(e as Error).message})`);
  }
  const g = model.graph;
  if (!g || g.node.length === 0) throw new OnnxImportError(`${source}: the graph has no nodes`);
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const refuse = (n: OnnxNode, why: string): never => {
    throw new OnnxImportError(`${source}: node "${n.name}" (${n.op_type}): ${why}`);
  };
  const init = (n: OnnxNode, name: string, what: string): OnnxTensor => inits.get(name) ?? refuse(n, `${what} "${name}" is not a constant initializer`);
  const floats = (n: OnnxNode, name: string, what: string): number[] => {
    const t = init(n, name, what);
    if (t.data_type !== ONNX_FLOAT) refuse(n, `${what} "${name}" is not float32`);
    return t.raw_data.length ? Array.from(new Float32Array(copy(t.raw_data).buffer)) : t.float_data;
  };
  const scalar = (n: OnnxNode, name: string, what: string) => {
    const v = floats(n, name, what);
    if (v.length !== 1) refuse(n, `${what} "${name}" has ${v.length} values; only per-tensor activation scales are mapped`);
    return v[0];
  };
  const zeroPoint = (n: OnnxNode, name: string, what: string) => {
    const t = init(n, name, what);
    if (t.data_type !== ONNX_UINT8)
      refuse(n, `${what} "${name}" is ${t.data_type === ONNX_INT8 ? "int8" : `type ${t.data_type}`}: the head stores uint8 activations only`);
    const v = t.raw_data.length ? Array.from(t.raw_data) : t.int32_data;
    if (v.length !== 1) refuse(n, `${what} "${name}" is not a single value`);
    return v[0];
  };
  const attr = (n: OnnxNode, name: string) => n.attribute.find((a) => a.name === name);
  const ints = (n: OnnxNode, name: string, fallback: number[]) => {
    const a = attr(n, name);
    return a ? a.ints.map(toNumber) : fallback;
  };

  // The image input: float -> QuantizeLinear -> uint8.
  const graphInput = g.input.find((i) => !inits.has(i.name));
  const q0 = g.node.find((n) => n.op_type === "QuantizeLinear" && n.input[0] === graphInput?.name);
  if (!graphInput || !q0)
    throw new OnnxImportError(
      `${source}: no QuantizeLinear reads the graph input${graphInput ? ` "${graphInput.name}"` : ""}; only quantized (QLinear*) graphs are mapped`,
    );
  const inputDims = graphInput.type?.tensor_type?.shape?.dim ?? [];
  const channels = inputDims.length === 4 ? toNumber(inputDims[1].dim_value) : 3;
  if (channels !== 3 && channels !== 1) refuse(q0, `input "${graphInput.name}" has ${channels} channels (NCHW with 1 or 3 expected)`);
  const inQ: Quant = { scale: scalar(q0, q0.input[1], "input scale"), zeroPoint: zeroPoint(q0, q0.input[2], "input zero point") };
  const mean = opts.mean ?? IMAGENET_MEAN,
    std = opts.std ?? IMAGENET_STD;
  const lut = new Uint8Array(256 * channels);
  for (let c = 0; c < channels; c++)
    for (let p = 0; p < 256; p++) {
      // The host feeds onnxruntime Math.fround((p / 255 - mean) / std); QuantizeLinear divides in float32.
      const x = Math.fround((p / 255 - mean[c]) / std[c]);
      const q = roundHalfEven(Math.fround(x / Math.fround(inQ.scale))) + inQ.zeroPoint;
      lut[c * 256 + p] = Math.min(255, Math.max(0, q));
    }

  const tensors = new Map<string, number>([[q0.output[0], 0]]);
  const quant: Quant[] = [inQ];
  const channelsOf: number[] = [channels];
  const producerOp: (HeadOp | null)[] = [null];
  const ops: HeadOp[] = [];
  const tensorOf = (n: OnnxNode, name: string) => tensors.get(name) ?? refuse(n, `reads "${name}", which is not computed by the mapped part of the graph`);
  let blocks = -1; // the stem ends block "0"
  let splitTensor = "";
  const splitPoints: { ops: number; tensor: string }[] = [];
  const blockEnd = (tensor: string) => {
    blocks++;
    splitTensor = tensor;
    splitPoints.push({ ops: ops.length, tensor });
  };
  const done = () => blocks >= opts.split;

  const start = g.node.indexOf(q0) + 1;
  for (let i = start; i < g.node.length && !done(); i++) {
    const n = g.node[i];
    if (n.op_type === "QLinearConv") {
      const x = tensorOf(n, n.input[0]);
      const xs = scalar(n, n.input[1], "x scale"),
        xz = zeroPoint(n, n.input[2], "x zero point");
      if (Math.fround(xs) !== Math.fround(quant[x].scale) || xz !== quant[x].zeroPoint)
        refuse(n, `x scale/zero point differ from those "${n.input[0]}" was produced with`);
      const w = init(n, n.input[3], "weights");
      if (w.data_type !== ONNX_INT8) refuse(n, `weights "${w.name}" are not int8 (type ${w.data_type})`);
      const dims = w.dims.map(toNumber);
      const ws = floats(n, n.input[4], "weight scale");
      const wzT = init(n, n.input[5], "weight zero point");
      const wz = wzT.raw_data.length ? Array.from(new Int8Array(copy(wzT.raw_data).buffer)) : wzT.int32_data;
      if (wz.some((v) => v !== 0)) refuse(n, "weight zero point is not 0 (asymmetric weights are not mapped)");
      const ys = scalar(n, n.input[6], "y scale"),
        yz = zeroPoint(n, n.input[7], "y zero point");
      const [cout, cinPerGroup, kh, kw] = dims;
      const group = toNumber(attr(n, "group")?.i ?? 1) || 1;
      const [sh, sw] = ints(n, "strides", [1, 1]);
      const pads = ints(n, "pads", [0, 0, 0, 0]);
      const dil = ints(n, "dilations", [1, 1]);
      const autoPad = attr(n, "auto_pad");
      const autoPadMode = autoPad ? new TextDecoder().decode(autoPad.s) : "NOTSET";
      if (autoPadMode !== "NOTSET" && autoPadMode !== "") refuse(n, `auto_pad ${autoPadMode} (only explicit pads are mapped)`);
      if (dims.length !== 4) refuse(n, `weights have ${dims.length} dimensions (2-D convolution expected)`);
      if (kh !== kw) refuse(n, `kernel ${kh}x${kw} is not square`);
      if (sh !== sw) refuse(n, `strides ${sh}x${sw} differ`);
      if (dil.some((d) => d !== 1)) refuse(n, `dilations ${dil.join(",")} (only 1 is mapped)`);
      if (new Set(pads).size !== 1) refuse(n, `pads ${pads.join(",")} are not symmetric`);
      const cin = channelsOf[x];
      const depthwise = group !== 1;
      if (depthwise && !(group === cin && cinPerGroup === 1 && cout === cin))
        refuse(
          n,
          `group ${group} with ${cin} input and ${cout} output channels: only dense (group 1) and depthwise (group = channels) convolutions are mapped`,
        );
      if (!depthwise && cinPerGroup !== cin) refuse(n, `weights expect ${cinPerGroup} input channels but "${n.input[0]}" has ${cin}`);
      if (ws.length !== cout && ws.length !== 1) refuse(n, `${ws.length} weight scales for ${cout} output channels`);
      const raw = new Int8Array(copy(w.raw_data).buffer);
      const k = kh,
        taps = depthwise ? 1 : cin;
      const weights = new Int8Array(cout * k * k * taps);
      // ONNX [co][ci][ky][kx] -> Tidepool [co][ky][kx][ci] (depthwise: [c][ky][kx]).
      for (let co = 0; co < cout; co++)
        for (let ci = 0; ci < taps; ci++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) weights[((co * k + ky) * k + kx) * taps + ci] = raw[((co * taps + ci) * k + ky) * k + kx];
      const bias = new Int32Array(cout);
      if (n.input[8]) {
        const b = init(n, n.input[8], "bias");
        if (b.data_type !== ONNX_INT32) refuse(n, `bias "${b.name}" is not int32`);
        bias.set(b.raw_data.length ? new Int32Array(copy(b.raw_data).buffer) : Int32Array.from(b.int32_data));
      }
      const multiplier = new Int32Array(cout),
        shift = new Uint8Array(cout);
      for (let c = 0; c < cout; c++) {
        // onnxruntime's real multiplier, in float32: x_scale * w_scale[c] / y_scale.
        const ratio = Math.fround(Math.fround(Math.fround(xs) * Math.fround(ws[ws.length === 1 ? 0 : c])) / Math.fround(ys));
        try {
          const q = quantizeScale(ratio);
          multiplier[c] = q.multiplier;
          shift[c] = q.shift;
        } catch (e) {
          refuse(n, `channel ${c}: ${(e as Error).message}`);
        }
      }
      const op: HeadConv = {
        op: "conv",
        name: n.name,
        input: x,
        kernel: k,
        stride: sh,
        padding: pads[0],
        depthwise,
        inChannels: cin,
        outChannels: cout,
        inZeroPoint: xz,
        outZeroPoint: yz,
        clampLo: 0,
        clampHi: 255,
        outScale: ys,
        weights,
        bias,
        multiplier,
        shift,
      };
      ops.push(op);
      tensors.set(n.output[0], ops.length);
      quant.push({ scale: ys, zeroPoint: yz });
      channelsOf.push(cout);
      producerOp.push(op);
      // Block ends: the stem (first conv), or a projection (1x1 reading a depthwise output) not followed by its residual add.
      const readsDepthwise = (producerOp[x] as HeadConv | null)?.depthwise === true;
      const next = g.node[i + 1];
      const addFollows = next?.op_type === "QLinearAdd" && next.input.includes(n.output[0]);
      if (blocks < 0 || (readsDepthwise && !depthwise && k === 1 && !addFollows)) blockEnd(n.output[0]);
    } else if (n.op_type === "QLinearAdd") {
      const a = tensorOf(n, n.input[0]),
        b = tensorOf(n, n.input[3]);
      const as = scalar(n, n.input[1], "A scale"),
        az = zeroPoint(n, n.input[2], "A zero point");
      const bs = scalar(n, n.input[4], "B scale"),
        bz = zeroPoint(n, n.input[5], "B zero point");
      const cs = scalar(n, n.input[6], "C scale"),
        cz = zeroPoint(n, n.input[7], "C zero point");
      if (channelsOf[a] !== channelsOf[b]) refuse(n, `adds ${channelsOf[a]} and ${channelsOf[b]} channels (broadcasting is not mapped)`);
      const ra = Math.fround(Math.fround(as) / Math.fround(cs)),
        rb = Math.fround(Math.fround(bs) / Math.fround(cs));
      let s: number;
      try {
        s = quantizeScale(Math.max(ra, rb)).shift;
      } catch (e) {
        return refuse(n, (e as Error).message);
      }
      if (s > MAX_ADD_SHIFT) refuse(n, `scale ratio ${Math.max(ra, rb)} needs shift ${s} > ${MAX_ADD_SHIFT}`);
      const ma = Math.round(ra * 2 ** s),
        mb = Math.round(rb * 2 ** s);
      if (ma >= 2 ** 31 || mb >= 2 ** 31) refuse(n, `multiplier overflow at shift ${s}`);
      const op: HeadAdd = {
        op: "add",
        name: n.name,
        inputs: [a, b],
        channels: channelsOf[a],
        zeroPoints: [az, bz],
        multipliers: [ma, mb],
        shift: s,
        outZeroPoint: cz,
        clampLo: 0,
        clampHi: 255,
        outScale: cs,
      };
      ops.push(op);
      tensors.set(n.output[0], ops.length);
      quant.push({ scale: cs, zeroPoint: cz });
      channelsOf.push(channelsOf[a]);
      producerOp.push(op);
      blockEnd(n.output[0]);
    } else {
      refuse(
        n,
        `operator ${n.domain ? `${n.domain}.` : ""}${n.op_type} is not mapped on the device (only QLinearConv and QLinearAdd before the split; ${Math.max(0, blocks)} inverted-residual blocks mapped before it)`,
      );
    }
  }
  if (!done())
    throw new OnnxImportError(
      `${source}: split ${opts.split} asked, but the graph has only ${Math.max(0, blocks)} inverted-residual blocks before an unmapped operator or its end`,
    );
  const head: HeadModel = {
    input: { channels, lut, scale: inQ.scale, zeroPoint: inQ.zeroPoint },
    ops,
    meta: {
      name: `onnx head, split ${opts.split}`,
      source: opts.source ?? null,
      split: opts.split,
      splitTensor,
      outScale: quant[ops.length].scale,
      outZeroPoint: quant[ops.length].zeroPoint,
      mean,
      std,
    },
  };
  validateHeadModel(head, source);
  return { head, splitTensor, inputTensor: q0.output[0], blocks, splitPoints };
}

/** The head of an import that ends at an earlier split point (0 <= split <= the import's split). */
export function headAtSplit(r: ImportResult, split: number): HeadModel {
  const p = r.splitPoints[split];
  if (!p) throw new OnnxImportError(`split ${split} outside 0..${r.splitPoints.length - 1}`);
  const last = r.head.ops[p.ops - 1];
  return {
    input: r.head.input,
    ops: r.head.ops.slice(0, p.ops),
    meta: { ...r.head.meta, name: `onnx head, split ${split}`, split, splitTensor: p.tensor, outScale: last.outScale, outZeroPoint: last.outZeroPoint },
  };
}

/** An aligned copy (protobuf byte fields may be views at odd offsets). */
function copy(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b);
}
