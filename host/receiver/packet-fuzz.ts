// Seeded fuzzing of the packet decoder (tests run a few hundred cases, bench/bitstream ≥ 10^5):
// mutated, truncated, extended, reordered, duplicated and foreign packet sets. Half the mutations
// re-seal the CRC so the parser and range decoder behind it are exercised, not just the CRC check.
import { decodePacketSet, type PacketSetResult } from "./packet-decoder.ts";
import { COMPACT_TAG, PACKET_TAG, sealPacket } from "../wire/bitstream/packet-format.ts";
import type { LatentShape } from "../wire/bitstream/symbol-order.ts";
import type { EntropyTables } from "../wire/bitstream/tables.ts";
import { seededRandom } from "../core/seeded-random.ts";

export const FUZZ_MUTATIONS = ["flip-bit", "set-byte", "truncate", "extend", "header-field", "random-bytes", "empty", "reorder-duplicate"] as const;
export type FuzzMutation = (typeof FUZZ_MUTATIONS)[number];

export interface FuzzStats {
  cases: number;
  packets: number;
  rejected: Record<string, number>;
  /** Mutated packets that decoded (CRC re-sealed, or a 2^-16 CRC collision): values may be wrong, never a crash. */
  acceptedMutants: number;
  /** Errors other than PacketDecodeError (must stay 0). */
  escaped: number;
  firstEscape: string | null;
}

function reseal(p: Uint8Array, tables: EntropyTables, shape: LatentShape) {
  sealPacket(p, tables.id, shape.width, shape.height);
}

/** Runs `cases` fuzz cases on sets drawn from `packets` (one image's packets); never throws. */
export function fuzzDecoder(packets: readonly Uint8Array[], tables: EntropyTables, shape: LatentShape, cases: number, seed: number): FuzzStats {
  const rand = seededRandom(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const stats: FuzzStats = { cases: 0, packets: 0, rejected: {}, acceptedMutants: 0, escaped: 0, firstEscape: null };
  for (let c = 0; c < cases; c++) {
    const set: Uint8Array[] = [];
    const mutated = new Set<number>();
    const n = 1 + int(Math.min(12, packets.length));
    for (let i = 0; i < n; i++) set.push(packets[int(packets.length)].slice());
    const m = FUZZ_MUTATIONS[c % FUZZ_MUTATIONS.length];
    const k = int(set.length);
    let p = set[k];
    const sealed = rand() < 0.5;
    switch (m) {
      case "flip-bit":
        p[int(p.length)] ^= 1 << int(8);
        break;
      case "set-byte":
        p[int(p.length)] = int(256);
        break;
      case "truncate":
        p = p.slice(0, int(p.length));
        break;
      case "extend": {
        const q = new Uint8Array(p.length + 1 + int(8));
        q.set(p);
        for (let i = p.length; i < q.length; i++) q[i] = int(256);
        p = q;
        break;
      }
      case "header-field":
        p[1 + int(Math.min(5, p.length - 1))] = int(256);
        break;
      case "random-bytes":
        p = Uint8Array.from({ length: int(300) }, () => int(256));
        if (p.length && rand() < 0.5) p[0] = rand() < 0.5 ? PACKET_TAG : COMPACT_TAG;
        break;
      case "empty":
        p = new Uint8Array(0);
        break;
      case "reorder-duplicate":
        for (let i = set.length - 1; i > 0; i--) {
          const j = int(i + 1);
          [set[i], set[j]] = [set[j], set[i]];
        }
        set.push(set[0]);
        break;
    }
    if (m !== "reorder-duplicate") {
      if (sealed && m !== "empty") reseal(p, tables, shape);
      set[k] = p;
      mutated.add(k);
    }
    stats.cases++;
    stats.packets += set.length;
    let r: PacketSetResult;
    try {
      r = decodePacketSet(set, tables, shape);
    } catch (e) {
      stats.escaped++;
      stats.firstEscape ??= `${m}: ${(e as Error).stack ?? e}`;
      continue;
    }
    for (const x of r.rejected) stats.rejected[x.kind] = (stats.rejected[x.kind] ?? 0) + 1;
    for (const i of r.accepted) if (mutated.has(i)) stats.acceptedMutants++;
  }
  return stats;
}
