// How the imported split head's integers compare with onnxruntime's on the same graph: the ONNX model
// is cut at the split tensor in memory (that tensor made the graph output), both run on the classifier's
// 224x224 view of a photo, and each uint8 activation is counted as equal, off by one, or further.
import * as ort from "onnxruntime-node";
import { referenceHead } from "../build/reference/head.ts";
import type { HeadModel } from "../core/head-types.ts";
import type { RgbImage } from "../core/types.ts";
import { decodeOnnx, encodeOnnx, ONNX_UINT8 } from "../model/import/onnx-proto.ts";

export interface Agreement {
  elements: number;
  equal: number;
  offByOne: number;
  worse: number;
  maxAbs: number;
}

/** The model with `outputs` (uint8 tensors) as its only graph outputs; the rest of the graph is left as is. */
export function truncatedOnnx(bytes: Uint8Array, outputs: string[]): Uint8Array {
  const m = decodeOnnx(bytes);
  m.graph.output = outputs.map((name) => ({ name, type: { tensor_type: { elem_type: ONNX_UINT8 } } }));
  return encodeOnnx(m);
}

export class SplitOracle {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly outputs: string[],
    private readonly mean: number[],
    private readonly std: number[],
  ) {}

  static async load(onnx: Uint8Array, outputs: string[], mean: number[], std: number[]): Promise<SplitOracle> {
    const session = await ort.InferenceSession.create(truncatedOnnx(onnx, outputs), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "disabled",
    });
    return new SplitOracle(session, outputs, mean, std);
  }

  /** onnxruntime's uint8 tensors (NCHW) for one 224x224 image, fed exactly as the host classifier feeds it. */
  async run(im: RgbImage): Promise<Map<string, { dims: readonly number[]; data: Uint8Array }>> {
    const plane = im.width * im.height,
      input = new Float32Array(3 * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) input[c * plane + p] = (im.data[3 * p + c] / 255 - this.mean[c]) / this.std[c];
    const res = await this.session.run({ input: new ort.Tensor("float32", input, [1, 3, im.height, im.width]) });
    return new Map(this.outputs.map((n) => [n, { dims: res[n].dims, data: res[n].data as Uint8Array }]));
  }
}

/** Compares an NCHW tensor from onnxruntime with a pixel-interleaved one from the head. */
export function compareNchw(
  ort: Uint8Array,
  hwc: Uint8Array,
  channels: number,
  into: Agreement = { elements: 0, equal: 0, offByOne: 0, worse: 0, maxAbs: 0 },
): Agreement {
  const plane = ort.length / channels;
  for (let c = 0; c < channels; c++)
    for (let p = 0; p < plane; p++) {
      const d = Math.abs(ort[c * plane + p] - hwc[p * channels + c]);
      into.elements++;
      if (d === 0) into.equal++;
      else if (d === 1) into.offByOne++;
      else into.worse++;
      if (d > into.maxAbs) into.maxAbs = d;
    }
  return into;
}

/** Agreement of the head's split tensor (and its input tensor) with onnxruntime on one image. */
export async function headAgreement(
  head: HeadModel,
  oracle: SplitOracle,
  names: { input: string; split: string },
  im: RgbImage,
  acc?: { input: Agreement; split: Agreement },
) {
  const tensors = referenceHead(head, im.data, im.width, im.height, "rgb888");
  const got = await oracle.run(im);
  const empty = (): Agreement => ({ elements: 0, equal: 0, offByOne: 0, worse: 0, maxAbs: 0 });
  const out = acc ?? { input: empty(), split: empty() };
  compareNchw(got.get(names.input)!.data, tensors[0].data, tensors[0].channels, out.input);
  const last = tensors.at(-1)!;
  compareNchw(got.get(names.split)!.data, last.data, last.channels, out.split);
  return out;
}
