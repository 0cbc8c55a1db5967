// Token buckets per source (an HTTP client address, a device): `rate` uplinks per second on average,
// bursts of up to `burst`. The table of buckets is bounded: the least recently used are forgotten.
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly maxKeys = 10_000,
    private readonly now = () => performance.now(),
  ) {}

  /** 0 when the uplink may pass, else the seconds until one token is back. */
  take(key: string): number {
    if (!Number.isFinite(this.rate)) return 0;
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key); // re-insert: Map order is the LRU order
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
      b.at = t;
    } else {
      b = { tokens: this.burst, at: t };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }
}
