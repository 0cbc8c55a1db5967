// Seeded random split heads shaped like MobileNetV2's first blocks (stem conv, depthwise, pointwise,
// residual adds), with random zero points and clamps, so tests need no imported model.
import type { HeadConv, HeadModel, HeadOp } from "../core/head-types.ts";
import { seededRandom } from "../core/seeded-random.ts";
import { quantizeScale } from "./requantize.ts";

export type HeadSpec =
  | { op: "conv"; kernel: number; stride: number; padding: number; outChannels: number; depthwise?: boolean; relu6?: boolean; input?: number }
  | { op: "add"; inputs: [number, number] };

/** Stem 3x3 s2, a t=1 block, a stride-2 block and a residual block (inputs index tensors, 0 = input). */
export const MOBILENET_LIKE: HeadSpec[] = [
  { op: "conv", kernel: 3, stride: 2, padding: 1, outChannels: 8, relu6: true }, // t1
  { op: "conv", kernel: 3, stride: 1, padding: 1, outChannels: 8, depthwise: true, relu6: true }, // t2
  { op: "conv", kernel: 1, stride: 1, padding: 0, outChannels: 6 }, // t3
  { op: "conv", kernel: 1, stride: 1, padding: 0, outChannels: 12, relu6: true }, // t4
  { op: "conv", kernel: 3, stride: 2, padding: 1, outChannels: 12, depthwise: true, relu6: true }, // t5
  { op: "conv", kernel: 1, stride: 1, padding: 0, outChannels: 7 }, // t6
  { op: "conv", kernel: 1, stride: 1, padding: 0, outChannels: 14, relu6: true }, // t7
  { op: "conv", kernel: 3, stride: 1, padding: 1, outChannels: 14, depthwise: true, relu6: true }, // t8
  { op: "conv", kernel: 1, stride: 1, padding: 0, outChannels: 7 }, // t9
  { op: "add", inputs: [6, 9] }, // t10
  { op: "conv", kernel: 1, stride: 1, padding: 0, outChannels: 14, relu6: true }, // t11
  { op: "conv", kernel: 3, stride: 1, padding: 1, outChannels: 14, depthwise: true, relu6: true }, // t12
  { op: "conv", kernel: 1, stride: 1, padding: 0, outChannels: 7 }, // t13
  { op: "add", inputs: [10, 13] }, // t14
];

export function randomHead(opts: { seed?: number; specs?: HeadSpec[]; inputChannels?: number } = {}): HeadModel {
  const rand = seededRandom(opts.seed ?? 1);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cin0 = opts.inputChannels ?? 3;
  const lut = new Uint8Array(256 * cin0);
  for (let c = 0; c < cin0; c++) for (let p = 0; p < 256; p++) lut[c * 256 + p] = Math.min(255, Math.max(0, Math.round(p * (0.8 + 0.1 * c)) + int(0, 30)));
  const channels = [cin0];
  const zeroPoints = [int(90, 140)];
  const ops: HeadOp[] = (opts.specs ?? MOBILENET_LIKE).map((s, i) => {
    const name = `${s.op}_${i}`;
    if (s.op === "add") {
      const scale = () => quantizeScale(0.4 + rand() * 0.6);
      const a = scale(),
        shift = a.shift;
      const mb = Math.round((0.3 + rand() * 0.7) * 2 ** shift) % 2 ** 31;
      const zp = int(100, 150);
      channels.push(channels[s.inputs[0]]);
      zeroPoints.push(zp);
      return {
        op: "add",
        name,
        inputs: s.inputs,
        channels: channels[s.inputs[0]],
        zeroPoints: [zeroPoints[s.inputs[0]], zeroPoints[s.inputs[1]]],
        multipliers: [a.multiplier, mb],
        shift,
        outZeroPoint: zp,
        clampLo: int(0, 5),
        clampHi: int(245, 255),
        outScale: 0.05,
      };
    }
    const input = s.input ?? i;
    const inChannels = channels[input];
    const taps = s.kernel * s.kernel * (s.depthwise ? 1 : inChannels);
    const weights = new Int8Array(s.outChannels * taps);
    for (let k = 0; k < weights.length; k++) weights[k] = int(-127, 127);
    const accSigma = Math.sqrt(taps) * 73 * 60;
    const bias = new Int32Array(s.outChannels),
      multiplier = new Int32Array(s.outChannels),
      shift = new Uint8Array(s.outChannels);
    for (let c = 0; c < s.outChannels; c++) {
      bias[c] = Math.round((rand() * 2 - 1) * accSigma * 0.5);
      const q = quantizeScale((50 / accSigma) * (0.5 + rand()));
      multiplier[c] = q.multiplier;
      shift[c] = q.shift;
    }
    const outZeroPoint = s.relu6 ? 0 : int(100, 150);
    channels.push(s.outChannels);
    zeroPoints.push(outZeroPoint);
    const conv: HeadConv = {
      op: "conv",
      name,
      input,
      kernel: s.kernel,
      stride: s.stride,
      padding: s.padding,
      depthwise: !!s.depthwise,
      inChannels,
      outChannels: s.outChannels,
      inZeroPoint: zeroPoints[input],
      outZeroPoint,
      clampLo: 0,
      clampHi: s.relu6 ? int(90, 200) : 255,
      outScale: 0.05,
      weights,
      bias,
      multiplier,
      shift,
    };
    return conv;
  });
  return { input: { channels: cin0, lut, scale: 0.02, zeroPoint: zeroPoints[0] }, ops, meta: { name: "random-head", seed: opts.seed ?? 1 } };
}
