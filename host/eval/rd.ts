// Rate–distortion evaluation: every baseline at matched per-image byte budgets (a fixed grid plus, when
// Tidepool is installed, each image's own Tidepool sizes), alone and as best of 1×/2×/4× downscaling;
// Tidepool at its channel-prefix operating points. Curve points are means over images of per-image
// values; a budget point is kept in the summary only when every image reaches it (else it would be a
// mean over the easy images, see baselines-kodak.md "n/a (k/24)").
import { readdirSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { loadRgb } from "../image/load.ts";
import { downscale, SCALES, type BaselineCodec } from "./baselines.ts";
import { bestAtBudget, QualitySweep, type BudgetPoint } from "./budget-search.ts";
import type { TidepoolCodec } from "./tidepool-codec.ts";
import type { RgbImage } from "../core/types.ts";
import { TidepoolError } from "../core/errors.ts";

export class ImageFolderError extends TidepoolError {
  constructor(message: string) {
    super("image-folder", message);
  }
}

export interface EvalImage {
  name: string;
  img: RgbImage;
}

export interface RdPoint {
  /** What the point is: a budget ("0.20 bpp", "2000 B", "tidepool k=4") or an operating point ("k=4"). */
  label: string;
  bytes: number;
  bpp: number;
  psnr: number;
  msssim: number;
  /** Images that reached this budget, out of all. */
  reached: number;
  of: number;
}
export interface RdCurve {
  name: string;
  settings: string;
  points: RdPoint[];
}
export interface RdResult {
  images: string[];
  view: string;
  rate: string | null;
  tidepool: string;
  curves: RdCurve[];
}

const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".ppm", ".pgm"]);

/** Image files of a directory (sorted), read as 8-bit RGB, optionally as a size×size cover crop. */
/** Sorted image file names of a directory (first `limit`), or a clear error. */
export function listEvalImages(dir: string, limit?: number): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    names = readdirSync(dir)
      .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
      .sort();
  } catch (e) {
    throw new ImageFolderError(`image folder ${dir}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (e as Error).message}`);
  }
  if (names.length === 0) throw new ImageFolderError(`image folder ${dir}: no image files (${[...IMAGE_EXT].join(" ")})`);
  return limit ? names.slice(0, limit) : names;
}

export async function loadEvalImages(dir: string, size?: number, limit?: number, only?: string[]): Promise<EvalImage[]> {
  let names = listEvalImages(dir, limit);
  if (only) {
    const missing = only.filter((n) => !names.includes(n));
    if (missing.length) throw new ImageFolderError(`image folder ${dir}: no image named ${missing.join(", ")}`);
    names = only;
  }
  const out: EvalImage[] = [];
  for (const n of names) out.push({ name: basename(n), img: await loadRgb(join(dir, n), size ? { width: size, height: size } : undefined) });
  return out;
}

export const BPP_GRID = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4];
/** Byte budgets of the 224² view (issue 3), scaled by area for other view sizes. */
export const VIEW_BYTES_224 = [500, 750, 1000, 1500, 2000, 2500, 3000];

export interface Budget {
  label: string;
  bytes: (i: number, im: RgbImage) => number;
}

export function bppBudgets(grid = BPP_GRID): Budget[] {
  return grid.map((b) => ({ label: `${b.toFixed(2)} bpp`, bytes: (_i, im) => Math.round((b * im.width * im.height) / 8) }));
}
export function byteBudgets(bytes: number[]): Budget[] {
  return bytes.map((b) => ({ label: `${b} B`, bytes: () => b }));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function summarise(label: string, pts: (BudgetPoint | { bytes: number; psnr: number; msssim: number } | null)[], images: EvalImage[]): RdPoint {
  const ok = pts.map((p, i) => [p, images[i].img] as const).filter(([p]) => p !== null) as [{ bytes: number; psnr: number; msssim: number }, RgbImage][];
  if (ok.length === 0) return { label, bytes: NaN, bpp: NaN, psnr: NaN, msssim: NaN, reached: 0, of: pts.length };
  return {
    label,
    reached: ok.length,
    of: pts.length,
    bytes: mean(ok.map(([p]) => p.bytes)),
    bpp: mean(ok.map(([p, im]) => (8 * p.bytes) / (im.width * im.height))),
    psnr: mean(ok.map(([p]) => p.psnr)),
    msssim: mean(ok.map(([p]) => p.msssim)),
  };
}

/** Channel counts Tidepool is evaluated at: every prefix. */
export function tidepoolChannels(c: number): number[] {
  return Array.from({ length: c }, (_, i) => i + 1);
}

/** Channel counts whose per-image sizes the baselines are matched at: powers of two and all C (bounds the work). */
export function matchedChannels(c: number): number[] {
  const ks = [];
  for (let k = 1; k < c; k *= 2) ks.push(k);
  return [...ks, c];
}

export interface EvaluateOptions {
  baselines: BaselineCodec[];
  budgets: Budget[];
  tidepool: TidepoolCodec | null;
  /** Why Tidepool is absent (shown in reports). */
  tidepoolStatus: string;
  view: string;
  log?: (s: string) => void;
  /** Progress per image (e.g. host/cli/progress.ts); without it, a finished image is a `log` line. */
  progress?: { partial(fraction: number): void; image(line: string): void };
}

export async function evaluate(images: EvalImage[], o: EvaluateOptions): Promise<RdResult> {
  const tp = o.tidepool;
  const ks = tp ? tidepoolChannels(tp.channels) : [];
  const tpPerImage: { bytes: number; psnr: number; msssim: number }[][] = [];
  const budgets: Budget[] = [...o.budgets];
  // Per image results: [codec][variant 0 = 1× only, 1 = best of scales][budget]
  const per: (BudgetPoint | null)[][][][] = o.baselines.map(() => [[], []]);
  for (const [i, { name, img }] of images.entries()) {
    const t0 = Date.now();
    const steps = (tp ? 1 : 0) + o.baselines.length;
    let imgBudgets = budgets;
    if (tp) {
      const pts = await tp.points(img, ks);
      tpPerImage.push(pts.map(({ bytes, psnr, msssim }) => ({ bytes, psnr, msssim })));
      imgBudgets = [...budgets, ...matchedChannels(tp.channels).map((k) => ({ label: `tidepool k=${k}`, bytes: () => pts[k - 1].bytes }))];
      o.progress?.partial(1 / steps);
    }
    const smalls = await Promise.all(SCALES.map((s) => downscale(img, s)));
    // The codecs run side by side: their encodes and decodes happen on libvips' threads while MS-SSIM
    // of another codec's candidate runs here. Each codec's own search stays in order and every result
    // has its fixed slot, so the figures do not depend on the interleaving.
    let codecsDone = 0;
    await Promise.all(
      o.baselines.map(async (codec, ci) => {
        const sweeps = SCALES.map((s, si) => new QualitySweep(codec, img, smalls[si], s));
        for (const [bi, b] of imgBudgets.entries()) {
          const budget = b.bytes(i, img);
          per[ci][0][bi] ??= [];
          per[ci][1][bi] ??= [];
          per[ci][0][bi][i] = await sweeps[0].atBudget(budget);
          per[ci][1][bi][i] = await bestAtBudget(sweeps, budget);
        }
        o.progress?.partial((++codecsDone + (tp ? 1 : 0)) / steps);
      }),
    );
    const line = `[${i + 1}/${images.length}] ${name} ${img.width}x${img.height} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
    if (o.progress) o.progress.image(line);
    else o.log?.(line);
  }
  const labels = [...budgets.map((b) => b.label), ...(tp ? matchedChannels(tp.channels).map((k) => `tidepool k=${k}`) : [])];
  const curves: RdCurve[] = [];
  if (tp)
    curves.push({
      name: "tidepool",
      settings: `WASM encoder (k210 build, RGB888) -> ${tp.rate.describe} -> server decoder; point k = first k of ${tp.channels} channels`,
      points: ks.map((k, j) =>
        summarise(
          `k=${k}`,
          tpPerImage.map((p) => p[j]),
          images,
        ),
      ),
    });
  for (const [ci, codec] of o.baselines.entries())
    for (const v of [0, 1])
      curves.push({
        name: v === 0 ? codec.name : `${codec.name}-bestscale`,
        settings:
          v === 0
            ? codec.settings
            : `${codec.settings}; best MS-SSIM of the image at 1x, downscaled 2x and 4x (lanczos3) then upscaled on the server (lanczos3)`,
        points: labels.map((l, bi) => summarise(l, per[ci][v][bi] ?? [], images)).sort((a, b) => a.bytes - b.bytes),
      });
  return { images: images.map((x) => x.name), view: o.view, rate: tp ? tp.rate.describe : null, tidepool: o.tidepoolStatus, curves };
}

/** The `--json` object of `tidepool eval`: only points every image reached. */
export function summaryJson(r: RdResult) {
  const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    codecs: r.curves.map((c) => ({
      name: c.name,
      points: c.points
        .filter((p) => p.reached === p.of && p.of > 0)
        .map((p) => ({ bytes: round(p.bytes, 1), bpp: round(p.bpp, 5), psnr: round(p.psnr, 3), msssim: round(p.msssim, 5) })),
    })),
  };
}

/** Linear interpolation of a curve's mean points (sorted by the metric): bytes needed to reach `target`. */
export function bytesAtMetric(points: RdPoint[], target: number, metric: "msssim" | "psnr" = "msssim"): number | null {
  const ps = points.filter((p) => p.reached === p.of && p.of > 0).sort((a, b) => a.bytes - b.bytes);
  for (let i = 0; i < ps.length; i++) {
    if (ps[i][metric] >= target) {
      if (i === 0) return null; // already above the target at its lowest point
      const a = ps[i - 1],
        b = ps[i];
      return a.bytes + ((target - a[metric]) / (b[metric] - a[metric])) * (b.bytes - a.bytes);
    }
  }
  return null;
}

/** Metric of a curve's mean points at a given mean byte count (linear), null outside its range. */
export function metricAtBytes(points: RdPoint[], bytes: number, metric: "msssim" | "psnr" = "msssim"): number | null {
  const ps = points.filter((p) => p.reached === p.of && p.of > 0).sort((a, b) => a.bytes - b.bytes);
  for (let i = 1; i < ps.length; i++)
    if (ps[i - 1].bytes <= bytes && bytes <= ps[i].bytes)
      return ps[i - 1][metric] + ((bytes - ps[i - 1].bytes) / (ps[i].bytes - ps[i - 1].bytes)) * (ps[i][metric] - ps[i - 1][metric]);
  return null;
}

/** Joins the results of disjoint image subsets (same codecs and budgets) into one, weighting by images reached. */
export function mergeResults(parts: RdResult[]): RdResult {
  if (parts.length === 0) throw new Error("nothing to merge");
  const curves = parts[0].curves.map((c) => ({
    ...c,
    points: c.points.map((p) => {
      const same = parts.map((r) => {
        const q = r.curves.find((x) => x.name === c.name)?.points.find((x) => x.label === p.label);
        if (!q) throw new Error(`cannot merge: point "${p.label}" of ${c.name} missing in one part`);
        return q;
      });
      const reached = same.reduce((a, q) => a + q.reached, 0),
        of = same.reduce((a, q) => a + q.of, 0);
      const m = (k: "bytes" | "bpp" | "psnr" | "msssim") => (reached ? same.reduce((a, q) => a + (q.reached ? q[k] * q.reached : 0), 0) / reached : NaN);
      return { label: p.label, reached, of, bytes: m("bytes"), bpp: m("bpp"), psnr: m("psnr"), msssim: m("msssim") };
    }),
  }));
  return { ...parts[0], images: parts.flatMap((r) => r.images), curves };
}
