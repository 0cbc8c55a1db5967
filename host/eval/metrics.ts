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


export class MetricError extends TidepoolError { constructor(m: string) { super("metric", m); } }

export const MSSSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;
const WIN = 11, SIGMA = 1.5, K1 = 0.01, K2 = 0.03, RANGE = 255;
const C1 = (K1 * RANGE) ** 2, C2 = (K2 * RANGE) ** 2;
/** pytorch-msssim asserts the smaller side is > (win-1)·2^4 so that scale 5 still has a valid window. */
export const MSSSIM_MIN_SIDE = (WIN - 1) * 2 ** (MSSSIM_WEIGHTS.length - 1) + 1;

const GAUSS: Float64Array = (() => {
  const g = new Float64Array(WIN);
  let s = 0;
  for (let i = 0; i < WIN; i++) { const c = i - (WIN >> 1); g[i] = Math.exp(-(c * c) / (2 * SIGMA * SIGMA)); s += g[i]; }
  for (let i = 0; i < WIN; i++) g[i] /= s;
  return g;
})();

function checkPair(a: RgbImage, b: RgbImage, what: string) {
  for (const [name, im] of [["first", a], ["second", b]] as const)
    if (im.data.length !== im.width * im.height * 3) throw new MetricError(`${what}: ${name} image has ${im.data.length} bytes, expected ${im.width}x${im.height}x3 RGB`);
  if (a.width !== b.width || a.height !== b.height) throw new MetricError(`${what}: images differ in size (${a.width}x${a.height} vs ${b.width}x${b.height})`);
}

/** PSNR in dB over all R, G, B samples of one image: 10·log10(255²/MSE); Infinity for identical images. */
export function psnr(a: RgbImage, b: RgbImage): number {
  checkPair(a, b, "psnr");
  let se = 0;
  for (let i = 0; i < a.data.length; i++) { const d = a.data[i] - b.data[i]; se += d * d; }
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((RANGE * RANGE) / mse);
}

/** One channel's plane as Float64. */
function plane(im: RgbImage, c: number): Float64Array {
  const p = new Float64Array(im.width * im.height);
  for (let i = 0; i < p.length; i++) p[i] = im.data[3 * i + c];
  return p;
}

/** Mean SSIM and mean cs over the valid-filtered maps of one channel at one scale. */
function ssimTerms(x: Float64Array, y: Float64Array, W: number, H: number): { ssim: number; cs: number } {
  const OW = W - WIN + 1, OH = H - WIN + 1;
  // Horizontal pass of the five moments, rows kept at full height. The window is symmetric, so taps
  // k and WIN-1-k share one multiply.
  const xx = new Float64Array(W * H), yy = new Float64Array(W * H), xy = new Float64Array(W * H);
  for (let i = 0; i < W * H; i++) { xx[i] = x[i] * x[i]; yy[i] = y[i] * y[i]; xy[i] = x[i] * y[i]; }
  const hx = new Float64Array(OW * H), hy = new Float64Array(OW * H), hxx = new Float64Array(OW * H), hyy = new Float64Array(OW * H), hxy = new Float64Array(OW * H);
  const HALF = WIN >> 1, gc = GAUSS[HALF];
  for (let r = 0; r < H; r++) {
    const ro = r * W, oo = r * OW;
    for (let c = 0; c < OW; c++) {
      const m = ro + c + HALF;
      let sx = gc * x[m], sy = gc * y[m], sxx = gc * xx[m], syy = gc * yy[m], sxy = gc * xy[m];
      for (let k = 0; k < HALF; k++) {
        const g = GAUSS[k], a = ro + c + k, b = ro + c + WIN - 1 - k;
        sx += g * (x[a] + x[b]); sy += g * (y[a] + y[b]); sxx += g * (xx[a] + xx[b]); syy += g * (yy[a] + yy[b]); sxy += g * (xy[a] + xy[b]);
      }
      hx[oo + c] = sx; hy[oo + c] = sy; hxx[oo + c] = sxx; hyy[oo + c] = syy; hxy[oo + c] = sxy;
    }
  }
  let ssimSum = 0, csSum = 0;
  for (let r = 0; r < OH; r++)
    for (let c = 0; c < OW; c++) {
      const m = (r + HALF) * OW + c;
      let mx = gc * hx[m], my = gc * hy[m], exx = gc * hxx[m], eyy = gc * hyy[m], exy = gc * hxy[m];
      for (let k = 0; k < HALF; k++) {
        const g = GAUSS[k], a = (r + k) * OW + c, b = (r + WIN - 1 - k) * OW + c;
        mx += g * (hx[a] + hx[b]); my += g * (hy[a] + hy[b]); exx += g * (hxx[a] + hxx[b]); eyy += g * (hyy[a] + hyy[b]); exy += g * (hxy[a] + hxy[b]);
      }
      const mxx = mx * mx, myy = my * my, mxy = mx * my;
      const cs = (2 * (exy - mxy) + C2) / ((exx - mxx) + (eyy - myy) + C2);
      csSum += cs;
      ssimSum += ((2 * mxy + C1) / (mxx + myy + C1)) * cs;
    }
  const n = OW * OH;
  return { ssim: ssimSum / n, cs: csSum / n };
}

/** 2×2 average pooling as F.avg_pool2d(kernel 2, padding = side % 2, count_include_pad). */
function pool(p: Float64Array, W: number, H: number): { p: Float64Array; W: number; H: number } {
  const pw = W % 2, ph = H % 2;
  const NW = Math.floor((W + 2 * pw - 2) / 2) + 1, NH = Math.floor((H + 2 * ph - 2) / 2) + 1;
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

/** Per-channel, per-scale terms (for validation against other implementations). */
export function msssimTerms(a: RgbImage, b: RgbImage): { cs: number[][]; ssim: number[][] } {
  checkPair(a, b, "msssim");
  if (Math.min(a.width, a.height) < MSSSIM_MIN_SIDE)
    throw new MetricError(`msssim: image is ${a.width}x${a.height}; 5-scale MS-SSIM needs both sides >= ${MSSSIM_MIN_SIDE} px`);
  const cs: number[][] = [], ssim: number[][] = [];
  for (let ch = 0; ch < 3; ch++) {
    let x = plane(a, ch), y = plane(b, ch), W = a.width, H = a.height;
    cs.push([]); ssim.push([]);
    for (let s = 0; s < MSSSIM_WEIGHTS.length; s++) {
      const t = ssimTerms(x, y, W, H);
      cs[ch].push(t.cs); ssim[ch].push(t.ssim);
      if (s < MSSSIM_WEIGHTS.length - 1) {
        const px = pool(x, W, H), py = pool(y, W, H);
        x = px.p; y = py.p; W = px.W; H = px.H;
      }
    }
  }
  return { cs, ssim };
}

/** 5-scale MS-SSIM on RGB (see the header); 1 for identical images. */
export function msssim(a: RgbImage, b: RgbImage): number {
  const { cs, ssim } = msssimTerms(a, b);
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
