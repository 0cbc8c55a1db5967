// Seeded random models with the default architecture, so tests and fresh clones need no training.
import { seededRandom } from "../core/seeded-random.ts";
import { quantizeScale } from "./requantize.ts";
import type { ConvLayer, Model } from "../core/model-types.ts";

export interface LayerSpec {
  kernel: number;
  stride: number;
  padding: number;
  outChannels: number;
  activation: ConvLayer["activation"];
}

/** PNC/LimitNet-like default: conv 3->16 k5 s4 ReLU, conv 16->12 k3 s2 -> latent (W/8)x(H/8)x12. */
export const DEFAULT_ARCHITECTURE: LayerSpec[] = [
  { kernel: 5, stride: 4, padding: 2, outChannels: 16, activation: "relu" },
  { kernel: 3, stride: 2, padding: 1, outChannels: 12, activation: "latent" },
];

export interface RandomModelOptions {
  seed?: number;
  inputChannels?: number;
  layers?: LayerSpec[];
  bits?: number;
}

export function randomModel(opts: RandomModelOptions = {}): Model {
  const seed = opts.seed ?? 1;
  const rand = seededRandom(seed);
  const inputChannels = opts.inputChannels ?? 3;
  const specs = opts.layers ?? DEFAULT_ARCHITECTURE;
  const bits = opts.bits ?? 4;
  const levels = 1 << bits;
  let cin = inputChannels;
  // Typical magnitude of the layer input, in steps, used to pick a requant scale that keeps outputs in range.
  let inputSigma = 60;
  const layers: ConvLayer[] = specs.map((s) => {
    const n = s.kernel * s.kernel * cin;
    const weights = new Int8Array(s.outChannels * n);
    for (let i = 0; i < weights.length; i++) weights[i] = Math.round((rand() * 2 - 1) * 100);
    const accSigma = Math.sqrt(n) * 58 * inputSigma;
    const target = s.activation === "latent" ? levels / 4 : 50;
    const bias = new Int32Array(s.outChannels),
      multiplier = new Int32Array(s.outChannels),
      shift = new Uint8Array(s.outChannels);
    for (let c = 0; c < s.outChannels; c++) {
      bias[c] = Math.round((rand() * 2 - 1) * accSigma * 0.3);
      const q = quantizeScale((target / accSigma) * (0.6 + 0.8 * rand()));
      multiplier[c] = q.multiplier;
      shift[c] = q.shift;
    }
    const layer: ConvLayer = {
      kernel: s.kernel,
      stride: s.stride,
      padding: s.padding,
      activation: s.activation,
      inChannels: cin,
      outChannels: s.outChannels,
      outScale: 1 / 64,
      weights,
      bias,
      multiplier,
      shift,
    };
    cin = s.outChannels;
    inputSigma = 40;
    return layer;
  });
  const channels = cin;
  return {
    input: { channels: inputChannels, zeroPoints: new Array(inputChannels).fill(128), scales: new Array(inputChannels).fill(1 / 128) },
    layers,
    latent: {
      bits,
      offsets: new Int32Array(channels).fill(levels >> 1),
      levels: new Uint16Array(channels).fill(levels),
      steps: new Float32Array(channels).fill(1 / 8),
    },
    entropy: null,
    meta: { name: "random", seed, note: "seeded random weights for tests; not a trained codec" },
  };
}
