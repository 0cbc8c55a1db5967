// TypeScript reference of the device's split head (assembly/head.ts): whole frames, tensor by tensor,
// sharing no streaming structure with the device code so a ring or scheduling mistake there shows.
import type { HeadConv, HeadAdd, HeadModel } from "../../core/head-types.ts";
import { headShapes, type TensorShape } from "../../model/head-geometry.ts";
import { requantize } from "../../model/requantize.ts";
import { unpackRow, BYTES_PER_PIXEL, type PixelFormat } from "../../core/pixel-format.ts";

/** A head tensor: uint8, pixel-interleaved [y][x][c]. */
export interface HeadTensor extends TensorShape {
  data: Uint8Array;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Runs the head on a packed frame; returns every tensor (index 0 = input, last = the split tensor). */
export function referenceHead(m: HeadModel, frame: Uint8Array, width: number, height: number, format: PixelFormat): HeadTensor[] {
  const bpp = BYTES_PER_PIXEL[format];
  if (frame.length !== width * height * bpp) throw new RangeError(`frame has ${frame.length} bytes, expected ${width}x${height}x${bpp}`);
  const shapes = headShapes(m, width, height);
  const cin = m.input.channels as 1 | 3;
  const input = new Uint8Array(width * height * cin);
  for (let y = 0; y < height; y++) {
    const px = unpackRow(frame.subarray(y * width * bpp, (y + 1) * width * bpp), width, format, cin);
    for (let i = 0; i < width * cin; i++) input[y * width * cin + i] = m.input.lut[(i % cin) * 256 + px[i]];
  }
  const tensors: HeadTensor[] = [{ ...shapes[0], data: input }];
  m.ops.forEach((o, i) => {
    const out: HeadTensor = { ...shapes[i + 1], data: new Uint8Array(shapes[i + 1].width * shapes[i + 1].height * shapes[i + 1].channels) };
    if (o.op === "conv") conv(o, tensors[o.input], out);
    else add(o, tensors[o.inputs[0]], tensors[o.inputs[1]], out);
    tensors.push(out);
  });
  return tensors;
}

function conv(o: HeadConv, x: HeadTensor, out: HeadTensor) {
  const K = o.kernel,
    C = o.inChannels;
  for (let oy = 0; oy < out.height; oy++)
    for (let ox = 0; ox < out.width; ox++)
      for (let co = 0; co < o.outChannels; co++) {
        let acc = o.bias[co];
        for (let ky = 0; ky < K; ky++) {
          const iy = oy * o.stride - o.padding + ky;
          if (iy < 0 || iy >= x.height) continue;
          for (let kx = 0; kx < K; kx++) {
            const ix = ox * o.stride - o.padding + kx;
            if (ix < 0 || ix >= x.width) continue;
            const px = (iy * x.width + ix) * C;
            if (o.depthwise) acc += o.weights[(co * K + ky) * K + kx] * (x.data[px + co] - o.inZeroPoint);
            else {
              const wb = ((co * K + ky) * K + kx) * C;
              for (let ci = 0; ci < C; ci++) acc += o.weights[wb + ci] * (x.data[px + ci] - o.inZeroPoint);
            }
          }
        }
        acc |= 0; // int32 accumulation wraps like the device's i32.add
        const v = requantize(acc, o.multiplier[co], o.shift[co]) + o.outZeroPoint;
        out.data[(oy * out.width + ox) * o.outChannels + co] = clamp(v, o.clampLo, o.clampHi);
      }
}

/** The add's fixed point sum, exact in float64: |terms| < 2^40 and shift <= 46 (validated by the format). */
export function addRequantize(o: Pick<HeadAdd, "zeroPoints" | "multipliers" | "shift">, a: number, b: number): number {
  const sum = (a - o.zeroPoints[0]) * o.multipliers[0] + (b - o.zeroPoints[1]) * o.multipliers[1] + 2 ** (o.shift - 1);
  return Math.floor(sum / 2 ** o.shift);
}

function add(o: HeadAdd, a: HeadTensor, b: HeadTensor, out: HeadTensor) {
  for (let i = 0; i < out.data.length; i++) out.data[i] = clamp(addRequantize(o, a.data[i], b.data[i]) + o.outZeroPoint, o.clampLo, o.clampHi);
}
