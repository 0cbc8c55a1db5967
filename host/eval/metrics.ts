// Image-quality metrics on 8-bit RGB, with the exact definitions of shared/references/baselines-kodak.md
// §Settings, so Tidepool's numbers compare with the baseline tables there and with CompressAI papers.
//
// MS-SSIM is pytorch-msssim's `ms_ssim(x, y, data_range=255)` (what CompressAI reports): RGB in [0,255],
// 11-tap normalised Gaussian σ=1.5, valid (unpadded) filtering, K1=0.01, K2=0.03, 5 scales with weights
// [0.0448, 0.2856, 0.3001, 0.2363, 0.1333], relu(cs) at scales 1-4 and relu(SSIM) at scale 5, 2×2 average
// pooling between scales (zero pad 1 on an odd side, divide by 4 — F.avg_pool2d(padding=s%2)), product
// over scales per channel, then the mean of R, G, B. Float64 throughout; the Gaussian is separable.
import type { RgbImage } from "../core/types.ts";
import { TidepoolError } from "../core/errors.ts";
import { KERNEL_MEMORY_LIMIT, type KernelRefScale, kernelBytes, MsssimKernel } from "./msssim-kernel.ts";

export class MetricError extends TidepoolError {
  constructor(m: string) {
    super("metric", m);
  }
}

export const MSSSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;
const WIN = 11,
  SIGMA = 1.5,
  K1 = 0.01,
  K2 = 0.03,
  RANGE = 255;
const C1 = (K1 * RANGE) ** 2,
  C2 = (K2 * RANGE) ** 2;
/** pytorch-msssim asserts the smaller side is > (win-1)·2^4 so that scale 5 still has a valid window. */
export const MSSSIM_MIN_SIDE = (WIN - 1) * 2 ** (MSSSIM_WEIGHTS.length - 1) + 1;

const GAUSS: Float64Array = (() => {
  const g = new Float64Array(WIN);
  let s = 0;
  for (let i = 0; i < WIN; i++) {
    const c = i - (WIN >> 1);
    g[i] = Math.exp(-(c * c) / (2 * SIGMA * SIGMA));
    s += g[i];
  }
  for (let i = 0; i < WIN; i++) g[i] /= s;
  return g;
})();

function checkPair(a: RgbImage, b: RgbImage, what: string) {
  for (const [name, im] of [
    ["first", a],
    ["second", b],
  ] as const)
    if (im.data.length !== im.width * im.height * 3)
      throw new MetricError(`${what}: ${name} image has ${im.data.length} bytes, expected ${im.width}x${im.height}x3 RGB`);
  if (a.width !== b.width || a.height !== b.height) throw new MetricError(`${what}: images differ in size (${a.width}x${a.height} vs ${b.width}x${b.height})`);
}

/** PSNR in dB over all R, G, B samples of one image: 10·log10(255²/MSE); Infinity for identical images. */
export function psnr(a: RgbImage, b: RgbImage): number {
  checkPair(a, b, "psnr");
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    se += d * d;
  }
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((RANGE * RANGE) / mse);
}

/** One channel's plane as Float64. */
function plane(im: RgbImage, c: number): Float64Array {
  const p = new Float64Array(im.width * im.height);
  for (let i = 0; i < p.length; i++) p[i] = im.data[3 * i + c];
  return p;
}

/** 2×2 average pooling as F.avg_pool2d(kernel 2, padding = side % 2, count_include_pad). */
function pool(p: Float64Array, W: number, H: number): { p: Float64Array; W: number; H: number } {
  const pw = W % 2,
    ph = H % 2;
  const NW = Math.floor((W + 2 * pw - 2) / 2) + 1,
    NH = Math.floor((H + 2 * ph - 2) / 2) + 1;
  const out = new Float64Array(NW * NH);
  for (let r = 0; r < NH; r++)
    for (let c = 0; c < NW; c++) {
      let s = 0;
      for (let dy = 0; dy < 2; dy++) {
        const y = 2 * r - ph + dy;
        if (y < 0 || y >= H) continue;
        for (let dx = 0; dx < 2; dx++) {
          const x = 2 * c - pw + dx;
          if (x >= 0 && x < W) s += p[y * W + x];
        }
      }
      out[r * NW + c] = s / 4;
    }
  return { p: out, W: NW, H: NH };
}

/** A channel's planes at the 5 scales (each pooled from the one before). */
function pyramid(im: RgbImage, ch: number): { p: Float64Array; W: number; H: number }[] {
  const out = [{ p: plane(im, ch), W: im.width, H: im.height }];
  while (out.length < MSSSIM_WEIGHTS.length) {
    const s = out[out.length - 1];
    out.push(pool(s.p, s.W, s.H));
  }
  return out;
}

// The Gaussian filtering is separable and streamed: horizontal rows go into an 11-row ring and each
// output row is filtered vertically from it, so no full-size intermediate map is allocated. Every sum is
// formed with the same operands in the same order as the plain two-pass form (centre tap first, then
// symmetric taps k and WIN-1-k sharing one multiply), so the results are bit-identical to it. The
// reference's side (mean and mean square, once per image) is done here; each candidate's side (mean,
// mean square, cross term, then cs and SSIM) by the same arithmetic in WebAssembly SIMD (msssim-kernel.ts).
const HALF = WIN >> 1,
  GC = GAUSS[HALF];
const G0 = GAUSS[0],
  G1 = GAUSS[1],
  G2 = GAUSS[2],
  G3 = GAUSS[3],
  G4 = GAUSS[4];

/** Horizontal valid filter of one row `v[ro .. ro+W)` into `out[oo .. oo+OW)`; the window slides in locals (one load per output). */
function hrow(v: Float64Array, ro: number, OW: number, out: Float64Array, oo: number) {
  let v0 = v[ro],
    v1 = v[ro + 1],
    v2 = v[ro + 2],
    v3 = v[ro + 3],
    v4 = v[ro + 4],
    v5 = v[ro + 5],
    v6 = v[ro + 6],
    v7 = v[ro + 7],
    v8 = v[ro + 8],
    v9 = v[ro + 9];
  for (let c = 0; c < OW; c++) {
    const v10 = v[ro + c + 10];
    out[oo + c] = GC * v5 + G0 * (v0 + v10) + G1 * (v1 + v9) + G2 * (v2 + v8) + G3 * (v3 + v7) + G4 * (v4 + v6);
    v0 = v1;
    v1 = v2;
    v2 = v3;
    v3 = v4;
    v4 = v5;
    v5 = v6;
    v6 = v7;
    v7 = v8;
    v8 = v9;
    v9 = v10;
  }
}

/** Vertical filter at column offset c from 11 ring rows (offsets o0..o10 into h). */
function vsum(h: Float64Array, o: Int32Array, c: number): number {
  return (
    GC * h[o[5] + c] +
    G0 * (h[o[0] + c] + h[o[10] + c]) +
    G1 * (h[o[1] + c] + h[o[9] + c]) +
    G2 * (h[o[2] + c] + h[o[8] + c]) +
    G3 * (h[o[3] + c] + h[o[7] + c]) +
    G4 * (h[o[4] + c] + h[o[6] + c])
  );
}

/** Reusable scratch of the streaming filter (grown on demand). */
class Scratch {
  rowA = new Float64Array(0);
  ringA = new Float64Array(0);
  ringB = new Float64Array(0);
  offs = new Int32Array(WIN);
  fit(W: number, OW: number) {
    if (this.rowA.length < W) this.rowA = new Float64Array(W);
    if (this.ringA.length < WIN * OW) {
      this.ringA = new Float64Array(WIN * OW);
      this.ringB = new Float64Array(WIN * OW);
    }
  }
  /** Ring offsets of source rows r .. r+WIN-1. */
  setOffsets(r: number, OW: number) {
    for (let k = 0; k < WIN; k++) this.offs[k] = ((r + k) % WIN) * OW;
  }
}
const scratch = new Scratch();

/** The reference side of one scale: its plane and its filtered mean and mean of squares (valid maps). */
type RefScale = KernelRefScale;

function refScale(x: Float64Array, W: number, H: number): RefScale {
  const OW = W - WIN + 1,
    OH = H - WIN + 1,
    s = scratch;
  s.fit(W, OW);
  const mx = new Float64Array(OW * OH),
    exx = new Float64Array(OW * OH);
  const xx = s.rowA,
    hx = s.ringA,
    hxx = s.ringB,
    o = s.offs;
  const addRow = (j: number) => {
    const ro = j * W;
    for (let i = 0; i < W; i++) {
      const v = x[ro + i];
      xx[i] = v * v;
    }
    const oo = (j % WIN) * OW;
    hrow(x, ro, OW, hx, oo);
    hrow(xx, 0, OW, hxx, oo);
  };
  for (let j = 0; j < WIN - 1; j++) addRow(j);
  for (let r = 0; r < OH; r++) {
    addRow(r + WIN - 1);
    s.setOffsets(r, OW);
    const mo = r * OW;
    for (let c = 0; c < OW; c++) {
      mx[mo + c] = vsum(hx, o, c);
      exx[mo + c] = vsum(hxx, o, c);
    }
  }
  return { x, W, H, mx, exx };
}

let kernel: MsssimKernel | null = null;
/** The WebAssembly kernel of the candidate side (loaded on first use). */
const candidateKernel = () => (kernel ??= new MsssimKernel(GAUSS, C1, C2));

/**
 * One reference image's side of MS-SSIM (its planes and filtered statistics at every scale), computed
 * once: an evaluation compares dozens of decoded candidates against the same original, and this halves
 * the work of each comparison. The image must not change while the reference is in use.
 */
export class MsssimReference {
  private scales: RefScale[][];
  constructor(readonly img: RgbImage) {
    if (img.data.length !== img.width * img.height * 3)
      throw new MetricError(`msssim: first image has ${img.data.length} bytes, expected ${img.width}x${img.height}x3 RGB`);
    if (Math.min(img.width, img.height) < MSSSIM_MIN_SIDE)
      throw new MetricError(`msssim: image is ${img.width}x${img.height}; 5-scale MS-SSIM needs both sides >= ${MSSSIM_MIN_SIDE} px`);
    const need = kernelBytes(img.width, img.height);
    if (need > KERNEL_MEMORY_LIMIT)
      throw new MetricError(
        `msssim: a ${img.width}x${img.height} image needs ${(need / 2 ** 30).toFixed(1)} GiB of working memory, more than the 4 GiB a WebAssembly kernel can address (up to about 35 megapixels fit); evaluate a smaller view of it`,
      );
    this.scales = [0, 1, 2].map((ch) => pyramid(img, ch).map((l) => refScale(l.p, l.W, l.H)));
  }

  /**
   * Per-channel, per-scale terms against a candidate of the same size. MS-SSIM itself uses SSIM only at
   * the last scale, so `allSsim = false` leaves it out (NaN) at the others and saves a division a pixel.
   */
  terms(b: RgbImage, allSsim = true): { cs: number[][]; ssim: number[][] } {
    checkPair(this.img, b, "msssim");
    const last = MSSSIM_WEIGHTS.length - 1;
    return candidateKernel().candidate(this.scales, b, (s) => allSsim || s === last);
  }

  /** PSNR of a candidate against this reference (the same value as psnr(); the squared error is an exact integer). */
  psnr(b: RgbImage): number {
    checkPair(this.img, b, "psnr");
    const mse = candidateKernel().sse(this.scales, this.img, b) / b.data.length;
    return mse === 0 ? Infinity : 10 * Math.log10((RANGE * RANGE) / mse);
  }

  /** 5-scale MS-SSIM of a candidate against this reference (see the header). */
  msssim(b: RgbImage): number {
    return combine(this.terms(b, false));
  }
}

function combine({ cs, ssim }: { cs: number[][]; ssim: number[][] }): number {
  const last = MSSSIM_WEIGHTS.length - 1;
  let sum = 0;
  for (let ch = 0; ch < 3; ch++) {
    let v = 1;
    for (let s = 0; s < last; s++) v *= Math.max(0, cs[ch][s]) ** MSSSIM_WEIGHTS[s];
    v *= Math.max(0, ssim[ch][last]) ** MSSSIM_WEIGHTS[last];
    sum += v;
  }
  return sum / 3;
}

// The references of the last few images compared against. An evaluation works through one original at
// a time, so a handful bounds the memory (about 100 bytes a pixel each) however many images a run holds.
const RECENT_REFERENCES = 2;
const recent: MsssimReference[] = [];
/** The cached reference of an image object (built on first use; the image must not change afterwards). */
export function msssimReference(img: RgbImage): MsssimReference {
  const i = recent.findIndex((r) => r.img === img);
  const r = i >= 0 ? recent.splice(i, 1)[0] : new MsssimReference(img);
  recent.unshift(r);
  recent.length = Math.min(recent.length, RECENT_REFERENCES);
  return r;
}

/** Per-channel, per-scale terms (for validation against other implementations). */
export function msssimTerms(a: RgbImage, b: RgbImage): { cs: number[][]; ssim: number[][] } {
  checkPair(a, b, "msssim");
  return new MsssimReference(a).terms(b);
}

/** 5-scale MS-SSIM on RGB (see the header); 1 for identical images. */
export function msssim(a: RgbImage, b: RgbImage): number {
  checkPair(a, b, "msssim");
  return new MsssimReference(a).msssim(b);
}
