// One image sent over a simulated link: packets go out in order, each waits its airtime and the
// duty-cycle off-time; a packet counts only if it is not lost and its transmission ends by the deadline.
import type { LossSpec } from "./loss.ts";
import { lossPattern } from "./loss.ts";
import { packetPeriod, type LinkPreset } from "./presets.ts";

export interface Delivery {
  /** Indices of the packets the receiver got, in send order. */
  delivered: number[];
  /** Packets whose transmission ended by the deadline (sent), of all. */
  sent: number;
  total: number;
  /** Seconds until the last packet sent ended (all of them when no deadline cut). */
  seconds: number;
}

export function transmit(sizes: readonly number[], link: LinkPreset, loss: LossSpec, deadline: number, seed: number): Delivery {
  const lost = lossPattern(loss, sizes.length, seed);
  const delivered: number[] = [];
  let t = 0,
    sent = 0,
    seconds = 0;
  for (let i = 0; i < sizes.length; i++) {
    const end = t + link.airtime(sizes[i]);
    if (end > deadline) break;
    sent++;
    seconds = end;
    if (!lost[i]) delivered.push(i);
    t += packetPeriod(link, sizes[i]);
  }
  return { delivered, sent, total: sizes.length, seconds };
}

/** Seconds to send all packets (the end of the last one), lossless. */
export function sendTime(sizes: readonly number[], link: LinkPreset): number {
  let t = 0,
    end = 0;
  for (const s of sizes) {
    end = t + link.airtime(s);
    t += packetPeriod(link, s);
  }
  return end;
}
