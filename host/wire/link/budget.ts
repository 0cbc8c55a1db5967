// Link state → byte budget for the next image (docs/adaptive.md §Link and deadline). The budget sent
// is min(policy's level, this): whole link packets that (1) start after the duty-cycle off-time,
// (2) end before the deadline (PNC: the next image), (3) fit this image's share of the fair-use airtime
// left today. Plain arithmetic on numbers only, no closures over presets, so the MicroPython bridge
// can carry a line-by-line port (flash-tools/bridge reads the same fields).
import { TidepoolError } from "../../core/errors.ts";

/** The radio's parameters: LoRa (sf > 0) uses the Semtech time-on-air formula; otherwise bits/s. */
export interface RadioParams {
  /** Largest application payload per packet at this data rate (EU868: DR0–2 51 B, DR3 115 B, DR4–5 222 B). */
  payloadBytes: number;
  /** LoRa spreading factor (7..12), or 0 for a plain bit-rate radio. */
  sf: number;
  /** Bits per second for sf = 0. */
  bitsPerSecond: number;
  /** Bytes of framing added to each packet on air (LoRaWAN MAC: 13). */
  overheadBytes: number;
  /** Share of time on air allowed (EU868 g1: 0.01); 1 = unregulated. */
  dutyCycle: number;
}

export interface LinkState {
  radio: RadioParams;
  /** Seconds until the next image is taken: PNC's deadline. */
  deadlineS: number;
  /** Seconds the duty cycle still forbids sending (off-time left after the last packet). */
  offTimeS: number;
  /** Airtime allowance per day (TTN fair use: 30 s) and what has been used today. */
  fairUseS: number;
  usedTodayS: number;
  /** Seconds left until the allowance resets (midnight UTC on TTN). */
  secondsLeftToday: number;
}

export interface LinkBudget {
  bytes: number;
  packets: number;
  airtimeS: number;
  limitedBy: "deadline" | "fair-use" | "none";
}

export const MIN_PACKET = 12;

/** Seconds on air of one packet with `payload` application bytes. */
export function airtimeS(r: RadioParams, payload: number): number {
  const phy = payload + r.overheadBytes;
  if (r.sf > 0) {
    const tSym = 2 ** r.sf / 125e3;
    const lowDr = r.sf >= 11 ? 1 : 0;
    const n = 8 + Math.max(Math.ceil((8 * phy - 4 * r.sf + 44) / (4 * (r.sf - 2 * lowDr))) * 5, 0);
    return (12.25 + n) * tSym;
  }
  return (8 * phy) / r.bitsPerSecond;
}

/** EU868 LoRaWAN data rates as radio parameters. */
export function loraRadio(sf: number): RadioParams {
  const payloadBytes = sf >= 10 ? 51 : sf === 9 ? 115 : 222;
  return { payloadBytes, sf, bitsPerSecond: 0, overheadBytes: 13, dutyCycle: 0.01 };
}

/**
 * This image's share of today's fair-use airtime: what is left, spread evenly over the images still
 * to come today (one every deadlineS), so an early image cannot starve the evening.
 */
export function fairUseShareS(s: LinkState): number {
  const left = Math.max(0, s.fairUseS - s.usedTodayS);
  const imagesLeft = Math.max(1, Math.ceil(s.secondsLeftToday / Math.max(1, s.deadlineS)));
  return left / imagesLeft;
}

export function linkBudget(s: LinkState): LinkBudget {
  const r = s.radio;
  if (!(r.payloadBytes >= MIN_PACKET && r.payloadBytes <= 255) || !(r.dutyCycle > 0 && r.dutyCycle <= 1) || !(s.deadlineS > 0))
    throw new TidepoolError(
      "link-state",
      `link state: payload ${r.payloadBytes} B (12..255), duty cycle ${r.dutyCycle} (0..1], deadline ${s.deadlineS} s (> 0)`,
    );
  const allowance = fairUseShareS(s);
  let t = Math.max(0, s.offTimeS),
    air = 0,
    bytes = 0,
    packets = 0;
  let limitedBy: LinkBudget["limitedBy"] = "none";
  // Whole packets while they fit; then the largest partial packet that still fits (binary search).
  for (;;) {
    const p = r.payloadBytes;
    const fits = (q: number) => t + airtimeS(r, q) <= s.deadlineS && air + airtimeS(r, q) <= allowance;
    if (!fits(p)) {
      let lo = MIN_PACKET - 1,
        hi = p; // fits(lo) or lo < MIN_PACKET; !fits(hi)
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (fits(mid)) lo = mid;
        else hi = mid;
      }
      if (lo >= MIN_PACKET) {
        bytes += lo;
        packets++;
        air += airtimeS(r, lo);
      }
      limitedBy = t + airtimeS(r, r.payloadBytes) > s.deadlineS ? "deadline" : "fair-use";
      break;
    }
    const a = airtimeS(r, p);
    bytes += p;
    packets++;
    air += a;
    t += a / r.dutyCycle;
    if (packets > 100000) break; // an unregulated link with a long deadline: far beyond any image
  }
  return { bytes, packets, airtimeS: air, limitedBy };
}

/** Airtime of an image of `bytes` in packets of the radio's payload size. */
export function imageAirtimeS(r: RadioParams, bytes: number): number {
  let air = 0;
  for (let left = bytes; left > 0; left -= r.payloadBytes) air += airtimeS(r, Math.min(left, r.payloadBytes));
  return air;
}

/** Images a day under the fair-use allowance (or the duty cycle, whichever binds) at `bytes` per image. */
export function imagesPerDay(r: RadioParams, bytes: number, fairUseS = 30): number {
  const air = imageAirtimeS(r, bytes);
  if (air <= 0) return Infinity;
  return Math.min(fairUseS, 86400 * r.dutyCycle) / air;
}
