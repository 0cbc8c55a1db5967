// Equal quality for the energy comparison (docs/energy.md): the lowest JPEG quality whose MS-SSIM
// reaches a target, by bisection over integer qualities. MS-SSIM rises with quality almost everywhere;
// where a step dips, bisection still returns a quality that reaches the target (it never returns one
// below it), possibly one or two steps above the true lowest.

/** Lowest quality in lo..hi with score ≥ target (bisection), or null when even `hi` does not reach it. */
export async function lowestQualityReaching(target: number, score: (quality: number) => number | Promise<number>, lo = 1, hi = 100): Promise<number | null> {
  if ((await score(hi)) < target) return null;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((await score(mid)) >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Wraps a per-quality score so each quality is computed once (the sweep asks for many targets per image). */
export function memoByQuality(score: (quality: number) => Promise<number>): (quality: number) => Promise<number> {
  const seen = new Map<number, Promise<number>>();
  return (q) => {
    let v = seen.get(q);
    if (!v) {
      v = score(q);
      seen.set(q, v);
    }
    return v;
  };
}
