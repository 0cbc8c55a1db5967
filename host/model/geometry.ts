// Shapes and costs derived from a model and a frame size.
import type { ConvLayer, Model } from "../core/model-types.ts";

export function outSize(inSize: number, l: Pick<ConvLayer, "kernel" | "stride" | "padding">): number {
  return Math.floor((inSize + 2 * l.padding - l.kernel) / l.stride) + 1;
}

export interface LayerShape {
  inWidth: number;
  inHeight: number;
  outWidth: number;
  outHeight: number;
}

export function layerShapes(model: Model, width: number, height: number): LayerShape[] {
  const shapes: LayerShape[] = [];
  let w = width,
    h = height;
  model.layers.forEach((l, i) => {
    const ow = outSize(w, l),
      oh = outSize(h, l);
    if (ow < 1 || oh < 1) throw new RangeError(`frame ${width}x${height} is too small for layer ${i} (input ${w}x${h}, kernel ${l.kernel})`);
    shapes.push({ inWidth: w, inHeight: h, outWidth: ow, outHeight: oh });
    w = ow;
    h = oh;
  });
  return shapes;
}

export function latentShape(model: Model, width: number, height: number) {
  const s = layerShapes(model, width, height).at(-1)!;
  return { width: s.outWidth, height: s.outHeight, channels: model.layers.at(-1)!.outChannels };
}

export function macs(model: Model, width: number, height: number): number {
  return layerShapes(model, width, height).reduce((sum, s, i) => {
    const l = model.layers[i];
    return sum + s.outWidth * s.outHeight * l.outChannels * l.kernel * l.kernel * l.inChannels;
  }, 0);
}

export function parameterCount(model: Model): number {
  return model.layers.reduce((n, l) => n + l.weights.length + l.bias.length, 0);
}
