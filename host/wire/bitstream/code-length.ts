// Ideal code lengths of latents (bits = −log2 p), for reports: under static per-channel histograms of
// the same latents, and under the fitted context tables with whole blocks in one packet.
import { PROB_ONE } from "./range-coder.ts";
import type { EntropyTables } from "./tables.ts";
import type { Latent } from "../../core/types.ts";

export interface CodeLengths {
  symbols: number;
  staticBits: number;
  contextBits: number;
}

export function codeLengths(latents: readonly Latent[], tables: EntropyTables, levels: ArrayLike<number>): CodeLengths {
  const C = tables.channels.length;
  const hist = Array.from({ length: C }, (_, c) => new Float64Array(levels[c]));
  let symbols = 0,
    contextBits = 0;
  const bw = tables.blockWidth,
    bh = tables.blockHeight;
  for (const lat of latents) {
    const { width: W, height: H, data } = lat,
      plane = W * H;
    for (let c = 0; c < C; c++) {
      const t = tables.channels[c],
        K = t.classes;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const i = c * plane + y * W + x,
            s = data[i];
          const dx = x % bw,
            dy = y % bh;
          const ctx =
            dx && dy
              ? 1 + 2 * K + t.classMap[data[i - 1]] * K + t.classMap[data[i - W]]
              : dx
                ? 1 + t.classMap[data[i - 1]]
                : dy
                  ? 1 + K + t.classMap[data[i - W]]
                  : 0;
          const row = t.cum[ctx];
          contextBits -= Math.log2((row[s + 1] - row[s]) / PROB_ONE);
          hist[c][s]++;
          symbols++;
        }
    }
  }
  let staticBits = 0;
  for (const h of hist) {
    const total = h.reduce((a, b) => a + b, 0) + 0.5 * h.length;
    for (const n of h) if (n) staticBits -= n * Math.log2((n + 0.5) / total);
  }
  return { symbols, staticBits, contextBits };
}
