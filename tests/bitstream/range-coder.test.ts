import { describe, expect, it } from "vitest";
import { PROB_ONE, RangeDecoder, RangeEncoder } from "../../host/wire/bitstream/range-coder.ts";
import { quantizeFrequencies } from "../../host/wire/bitstream/fit-tables.ts";
import { rng } from "./fixtures.ts";

function roundTrip(symbols: number[], cum: Uint16Array): { bytes: Uint8Array; decoded: number[]; excess: number } {
  const enc = new RangeEncoder();
  for (const s of symbols) enc.encode(cum[s], cum[s + 1] - cum[s]);
  const predicted = enc.finishedLength();
  const bytes = enc.finish();
  expect(bytes.length).toBe(predicted);
  if (bytes.length) expect(bytes[bytes.length - 1]).not.toBe(0); // trailing zeros are dropped
  const dec = new RangeDecoder(bytes, 0, bytes.length);
  const decoded = symbols.map(() => {
    const q = dec.target();
    let s = 0;
    while (cum[s + 1] <= q) s++;
    dec.consume(cum[s], cum[s + 1] - cum[s]);
    return s;
  });
  return { bytes, decoded, excess: dec.excessBytes() };
}

describe("range coder", () => {
  it("round-trips skewed and flat sources within 1% + 2 bytes of the ideal length", () => {
    const r = rng(5);
    for (const [L, skew] of [
      [16, 0.93],
      [16, 0.2],
      [2, 0.5],
      [256, 0.05],
      [8, 0.999],
    ] as const) {
      const p = Array.from({ length: L }, (_, s) => (s === 0 ? skew : (1 - skew) / (L - 1)));
      const cum = quantizeFrequencies(p);
      const symbols = Array.from({ length: 5000 }, () => {
        let u = r.next(),
          s = 0;
        while (s < L - 1 && u >= p[s]) {
          u -= p[s];
          s++;
        }
        return s;
      });
      const ideal = symbols.reduce((b, s) => b - Math.log2((cum[s + 1] - cum[s]) / PROB_ONE), 0) / 8;
      const { bytes, decoded, excess } = roundTrip(symbols, cum);
      expect(decoded).toEqual(symbols);
      expect(excess).toBe(0);
      expect(bytes.length).toBeLessThanOrEqual(ideal * 1.01 + 2);
    }
  });

  it("handles carries through runs of 0xFF and the shortest flushes (fuzzed short streams)", () => {
    const r = rng(9);
    for (let t = 0; t < 3000; t++) {
      const L = 2 + r.int(15);
      const raw = Array.from({ length: L }, () => 1 + r.int(r.next() < 0.3 ? 40000 : 50));
      const sum = raw.reduce((a, b) => a + b, 0);
      const cum = quantizeFrequencies(raw.map((v) => v / sum));
      const symbols = Array.from({ length: r.int(40) }, () => (r.next() < 0.5 ? L - 1 : r.int(L)));
      const { decoded, excess } = roundTrip(symbols, cum);
      expect(decoded).toEqual(symbols);
      expect(excess).toBe(0);
    }
  });

  it("snapshot/restore undoes a symbol exactly", () => {
    const cum = quantizeFrequencies([0.7, 0.2, 0.1]);
    const a = new RangeEncoder(),
      b = new RangeEncoder();
    for (const s of [0, 1, 2, 0, 0, 2, 1]) {
      a.encode(cum[s], cum[s + 1] - cum[s]);
      b.encode(cum[s], cum[s + 1] - cum[s]);
    }
    const snap = a.snapshot();
    a.encode(cum[2], cum[3] - cum[2]);
    a.encode(cum[2], cum[3] - cum[2]);
    a.restore(snap);
    expect(Array.from(a.finish())).toEqual(Array.from(b.finish()));
  });
});
