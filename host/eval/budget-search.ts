// Matched byte budgets: per image, binary-search a codec's quality setting for the file sizes that
// bracket a budget, and read the metric at exactly the budget by linear interpolation in bytes between
// the two (baselines-kodak.md §Settings "interpolation"). Encodes and metrics are cached per quality,
// so nearby budgets share work; a file is decoded and scored only when it brackets a budget (the search
// itself needs only its size), and MS-SSIM reuses the original's statistics across all candidates.
import { encodeAtScale, reconstructAtScale, type BaselineCodec } from "./baselines.ts";
import { msssimReference } from "./metrics.ts";
import type { RgbImage } from "../core/types.ts";

export interface QualityPoint {
  quality: number;
  bytes: number;
  psnr: number;
  msssim: number;
  decoded: RgbImage;
}

export interface BudgetPoint {
  /** Bytes charged: the budget itself when interpolated, else the largest file's size. */
  bytes: number;
  psnr: number;
  msssim: number;
  /** Quality and file of the largest real file within the budget (what a sender would transmit). */
  quality: number;
  fileBytes: number;
  decoded: RgbImage;
  scale: number;
}

/** One image through one codec at one scale, explored lazily over the codec's quality list. */
export class QualitySweep {
  private files = new Map<number, Promise<Uint8Array>>();
  private scored = new Map<number, Promise<QualityPoint>>();

  constructor(
    readonly codec: BaselineCodec,
    readonly img: RgbImage,
    readonly small: RgbImage,
    readonly scale: number,
  ) {}

  private file(i: number): Promise<Uint8Array> {
    let p = this.files.get(i);
    if (!p) {
      p = encodeAtScale(this.codec, this.img, this.small, this.scale, this.codec.qualities[i]);
      this.files.set(i, p);
    }
    return p;
  }

  /** The file at quality index `i` (what a sender transmits). */
  fileAt(i: number): Promise<Uint8Array> {
    return this.file(i);
  }

  async bytesAt(i: number): Promise<number> {
    return (await this.file(i)).length;
  }

  pointAt(i: number): Promise<QualityPoint> {
    let p = this.scored.get(i);
    if (!p) {
      p = this.score(i);
      this.scored.set(i, p);
    }
    return p;
  }

  private async score(i: number): Promise<QualityPoint> {
    const file = await this.file(i);
    const decoded = await reconstructAtScale(file, this.img, this.scale);
    const ref = msssimReference(this.img);
    return { quality: this.codec.qualities[i], bytes: file.length, psnr: ref.psnr(decoded), msssim: ref.msssim(decoded), decoded };
  }

  /** Indices of the largest quality whose file fits the budget and the next one up (null where none). */
  async bracket(budget: number): Promise<{ lo: number | null; hi: number | null }> {
    const n = this.codec.qualities.length;
    if ((await this.bytesAt(0)) > budget) return { lo: null, hi: 0 };
    if ((await this.bytesAt(n - 1)) <= budget) return { lo: n - 1, hi: null };
    let lo = 0,
      hi = n - 1; // bytes(lo) <= budget < bytes(hi)
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((await this.bytesAt(mid)) <= budget) lo = mid;
      else hi = mid;
    }
    return { lo, hi };
  }

  /** The metrics at exactly `budget` bytes, or null when even the lowest quality is larger. */
  async atBudget(budget: number): Promise<BudgetPoint | null> {
    const { lo, hi } = await this.bracket(budget);
    if (lo === null) return null;
    const a = await this.pointAt(lo);
    const base = { quality: a.quality, fileBytes: a.bytes, decoded: a.decoded, scale: this.scale };
    if (hi === null) return { ...base, bytes: a.bytes, psnr: a.psnr, msssim: a.msssim };
    const b = await this.pointAt(hi);
    const t = (budget - a.bytes) / (b.bytes - a.bytes);
    // Only rising segments are interpolated: a larger file that is no better is off the Pareto front.
    const lerp = (x: number, y: number) => (y > x ? x + t * (y - x) : x);
    return { ...base, bytes: budget, psnr: lerp(a.psnr, b.psnr), msssim: lerp(a.msssim, b.msssim) };
  }
}

/** Best of several scales at one budget, judged by MS-SSIM (PSNR comes with the chosen scale). */
export async function bestAtBudget(sweeps: QualitySweep[], budget: number): Promise<BudgetPoint | null> {
  let best: BudgetPoint | null = null;
  for (const s of sweeps) {
    const p = await s.atBudget(budget);
    if (p && (!best || p.msssim > best.msssim)) best = p;
  }
  return best;
}
