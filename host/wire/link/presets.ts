// Link presets for simulation (docs/bitstream.md §Links). Airtime is computed per packet from the
// link's own framing, so small packets pay their real overhead; duty-cycle limits are enforced as the
// off-time a regulated transmitter must keep after each packet.
import { TidepoolError } from "../../core/errors.ts";

export interface LinkPreset {
  name: string;
  description: string;
  /** Largest application payload per packet: the Tidepool packet size on this link. */
  payloadBytes: number;
  /** Seconds on air for a packet carrying `payload` application bytes (framing included). */
  airtime(payload: number): number;
  /** Fraction of time the transmitter may be on air (1 = unregulated). */
  dutyCycle: number;
  /** Fixed per-packet gap besides the duty cycle (MAC turnaround, ACK), in seconds. */
  gap: number;
}

/** LoRa time on air (Semtech AN1200.13): explicit header, CRC on, 8-symbol preamble, BW 125 kHz, CR 4/5. */
export function loraAirtime(phyPayload: number, sf: number, bw = 125e3, cr = 1, preamble = 8): number {
  const tSym = 2 ** sf / bw;
  const lowDr = sf >= 11 ? 1 : 0; // low data rate optimisation is mandatory at SF11/12 on 125 kHz
  const n = 8 + Math.max(Math.ceil((8 * phyPayload - 4 * sf + 28 + 16) / (4 * (sf - 2 * lowDr))) * (cr + 4), 0);
  return (preamble + 4.25) * tSym + n * tSym;
}

/** LoRaWAN MAC overhead on every uplink: MHDR 1 + FHDR 7 + FPort 1 + MIC 4. */
export const LORAWAN_OVERHEAD = 13;

function lora(sf: number, payloadBytes: number, dr: number): LinkPreset {
  return {
    name: `lora-sf${sf}`,
    description: `LoRaWAN EU868 DR${dr} (SF${sf}/125 kHz, CR 4/5): ${payloadBytes}-byte FRMPayload, ${LORAWAN_OVERHEAD} B MAC overhead, 1% duty cycle`,
    payloadBytes,
    airtime: (p) => loraAirtime(p + LORAWAN_OVERHEAD, sf),
    dutyCycle: 0.01,
    gap: 0,
  };
}

export const LINK_PRESETS: Record<string, LinkPreset> = {
  "lora-sf7": lora(7, 222, 5),
  "lora-sf9": lora(9, 115, 3),
  "lora-sf12": lora(12, 51, 0),
  sigfox: {
    name: "sigfox",
    description:
      "Sigfox uplink (RC1, 100 bit/s DBPSK): 12-byte payload, ~14 B of preamble/sync/ID/auth/FCS, sent 3 times on different frequencies, 1% duty cycle (6 messages/hour)",
    payloadBytes: 12,
    airtime: (p) => (3 * (p + 14) * 8) / 100,
    dutyCycle: 0.01,
    gap: 0,
  },
  "802154": {
    name: "802154",
    description:
      "IEEE 802.15.4 2.4 GHz O-QPSK 250 kbit/s: 64-byte packets as in PNC, 6 B PHY + 11 B MAC framing, unslotted CSMA backoff and ACK ≈ 2.5 ms per packet",
    payloadBytes: 64,
    airtime: (p) => ((p + 6 + 11) * 8) / 250e3,
    dutyCycle: 1,
    gap: 2.5e-3,
  },
};

export class LinkError extends TidepoolError {
  constructor(m: string) {
    super("link", m);
  }
}

export function getLink(name: string): LinkPreset {
  const p = LINK_PRESETS[name];
  if (!p) throw new LinkError(`unknown link "${name}"; known: ${Object.keys(LINK_PRESETS).join(", ")}`);
  return p;
}

/** Seconds from the start of a packet to the earliest start of the next one. */
export function packetPeriod(link: LinkPreset, payload: number): number {
  const t = link.airtime(payload);
  return t / link.dutyCycle + link.gap;
}
