// Shapes and multiply-accumulate counts of a split head's tensors for a frame size.
import type { HeadModel } from "../core/head-types.ts";
import { TidepoolError } from "../core/errors.ts";

export interface TensorShape {
  width: number;
  height: number;
  channels: number;
}

/** Shape of every tensor (index 0 = input, i + 1 = op i's output); throws when the frame is too small. */
export function headShapes(m: HeadModel, width: number, height: number): TensorShape[] {
  const shapes: TensorShape[] = [{ width, height, channels: m.input.channels }];
  m.ops.forEach((o, i) => {
    if (o.op === "add") {
      const [a, b] = o.inputs.map((t) => shapes[t]);
      if (a.width !== b.width || a.height !== b.height)
        throw new TidepoolError(
          "frame-size",
          `frame ${width}x${height}: op ${i} (${o.name}) adds tensors of ${a.width}x${a.height} and ${b.width}x${b.height}`,
        );
      shapes.push({ width: a.width, height: a.height, channels: o.channels });
      return;
    }
    const s = shapes[o.input];
    const ow = Math.floor((s.width + 2 * o.padding - o.kernel) / o.stride) + 1;
    const oh = Math.floor((s.height + 2 * o.padding - o.kernel) / o.stride) + 1;
    if (s.width + 2 * o.padding < o.kernel || s.height + 2 * o.padding < o.kernel || ow < 1 || oh < 1)
      throw new TidepoolError("frame-size", `frame ${width}x${height} is too small for op ${i} (${o.name}): input ${s.width}x${s.height}, kernel ${o.kernel}`);
    shapes.push({ width: ow, height: oh, channels: o.outChannels });
  });
  return shapes;
}

/** Multiply-accumulates per frame (an add counts one per element and input). */
export function headMacs(m: HeadModel, width: number, height: number): number {
  const shapes = headShapes(m, width, height);
  return m.ops.reduce((sum, o, i) => {
    const out = shapes[i + 1];
    const px = out.width * out.height;
    if (o.op === "add") return sum + 2 * px * o.channels;
    return sum + px * o.outChannels * o.kernel * o.kernel * (o.depthwise ? 1 : o.inChannels);
  }, 0);
}
