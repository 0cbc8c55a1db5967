// TypeScript reference of the device's integer encoder. It works on whole frames (not streamed), so
// it shares no structure with assembly/encoder.ts and catches streaming mistakes there.
import { layerShapes } from "../../model/geometry.ts";
import { requantize } from "../../model/requantize.ts";
import type { Model } from "../../core/model-types.ts";
import { unpackRow, BYTES_PER_PIXEL, type PixelFormat } from "../../core/pixel-format.ts";
import type { Latent } from "../../core/types.ts";

/** Encodes a packed frame (rows of `format`, top to bottom) into latent symbols. */
export function referenceEncode(model: Model, frame: Uint8Array, width: number, height: number, format: PixelFormat): Latent {
  const bpp = BYTES_PER_PIXEL[format];
  if (frame.length !== width * height * bpp) throw new RangeError(`frame has ${frame.length} bytes, expected ${width}x${height}x${bpp}`);
  const cin = model.input.channels as 1 | 3;
  // Layer-0 input: int8 after subtracting the per-channel zero point.
  let act: Int32Array = new Int32Array(width * height * cin);
  for (let y = 0; y < height; y++) {
    const px = unpackRow(frame.subarray(y * width * bpp, (y + 1) * width * bpp), width, format, cin);
    for (let i = 0; i < width * cin; i++) {
      const v = px[i] - model.input.zeroPoints[i % cin];
      act[y * width * cin + i] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
  }
  const shapes = layerShapes(model, width, height);
  let latent: Latent | null = null;
  model.layers.forEach((l, li) => {
    const { inWidth: W, inHeight: H, outWidth: OW, outHeight: OH } = shapes[li];
    const K = l.kernel,
      C = l.inChannels;
    const out = new Int32Array(OW * OH * l.outChannels);
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let co = 0; co < l.outChannels; co++) {
          let acc = l.bias[co];
          for (let ky = 0; ky < K; ky++) {
            const iy = oy * l.stride - l.padding + ky;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < K; kx++) {
              const ix = ox * l.stride - l.padding + kx;
              if (ix < 0 || ix >= W) continue;
              const wBase = ((co * K + ky) * K + kx) * C,
                xBase = (iy * W + ix) * C;
              for (let ci = 0; ci < C; ci++) acc += l.weights[wBase + ci] * act[xBase + ci];
            }
          }
          acc |= 0; // int32 accumulation wraps like the device's i32.add
          let v = requantize(acc, l.multiplier[co], l.shift[co]);
          if (l.activation === "relu") v = v < 0 ? 0 : v > 255 ? 255 : v;
          else if (l.activation === "linear") v = v < -128 ? -128 : v > 127 ? 127 : v;
          else {
            v += model.latent.offsets[co];
            const top = model.latent.levels[co] - 1;
            v = v < 0 ? 0 : v > top ? top : v;
          }
          out[(oy * OW + ox) * l.outChannels + co] = v;
        }
    act = out;
    if (l.activation === "latent") {
      const data = new Uint8Array(OW * OH * l.outChannels);
      for (let c = 0; c < l.outChannels; c++) for (let p = 0; p < OW * OH; p++) data[c * OW * OH + p] = out[p * l.outChannels + c];
      latent = { width: OW, height: OH, channels: l.outChannels, data };
    }
  });
  return latent!;
}
