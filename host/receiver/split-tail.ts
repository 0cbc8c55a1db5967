// The server's half of split computing: the int8 classifier from the split tensor on, i.e. the ONNX
// graph with every node up to the split point removed and the split tensor (uint8, NCHW) made its
// input. Fed the device's split tensor, it gives the classifier's logits (docs/split-computing.md).
import * as ort from "onnxruntime-node";
import { decodeOnnx, encodeOnnx, ONNX_UINT8 } from "../model/import/onnx-proto.ts";
import { TidepoolError } from "../core/errors.ts";
import type { SplitTensor } from "../build/runtime/head-instance.ts";

/** The graph from `splitTensor` to the outputs; refuses a split whose later nodes still read earlier tensors. */
export function tailOnnx(bytes: Uint8Array, splitTensor: string, shape: { channels: number; height: number; width: number }): Uint8Array {
  const m = decodeOnnx(bytes);
  const g = m.graph;
  const at = g.node.findIndex((n) => n.output.includes(splitTensor));
  if (at < 0) throw new TidepoolError("split-tail", `no node of the ONNX graph produces "${splitTensor}"`);
  const tail = g.node.slice(at + 1);
  const available = new Set([splitTensor, ...g.initializer.map((t) => t.name), ...tail.flatMap((n) => n.output), ""]);
  for (const n of tail)
    for (const i of n.input)
      if (!available.has(i))
        throw new TidepoolError("split-tail", `node "${n.name}" after the split reads "${i}", computed before it: "${splitTensor}" is not a cut of the graph`);
  g.node = tail;
  const used = new Set(tail.flatMap((n) => n.input));
  g.initializer = g.initializer.filter((t) => used.has(t.name));
  g.input = [
    {
      name: splitTensor,
      type: { tensor_type: { elem_type: ONNX_UINT8, shape: { dim: [1, shape.channels, shape.height, shape.width].map((d) => ({ dim_value: d })) } } },
    },
  ];
  return encodeOnnx(m);
}

export class SplitTail {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
  ) {}

  static async load(bytes: Uint8Array, splitTensor: string, shape: { channels: number; height: number; width: number }): Promise<SplitTail> {
    return new SplitTail(await ort.InferenceSession.create(tailOnnx(bytes, splitTensor, shape), { intraOpNumThreads: 1, interOpNumThreads: 1 }), splitTensor);
  }

  /** Logits for one split tensor from the device (pixel-interleaved [y][x][c], as tp_output rows). */
  async logits(t: SplitTensor): Promise<Float32Array> {
    const plane = t.width * t.height,
      nchw = new Uint8Array(t.data.length);
    for (let p = 0; p < plane; p++) for (let c = 0; c < t.channels; c++) nchw[c * plane + p] = t.data[p * t.channels + c];
    const res = await this.session.run({ [this.inputName]: new ort.Tensor("uint8", nchw, [1, t.channels, t.height, t.width]) });
    return res[this.session.outputNames[0]].data as Float32Array;
  }
}

/** Indices of the five largest logits, best first. */
export function top5(logits: Float32Array): number[] {
  return Array.from(logits)
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([, i]) => i);
}
