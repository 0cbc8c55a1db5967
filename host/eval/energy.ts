// Energy per delivered image (docs/energy.md): compute = counted native instructions x the core's
// cycles per instruction (modelled, cost-models.ts) x energy per cycle (datasheet-derived, below),
// radio = airtime of every packet x the radio's transmit power. Every constant names its source.
import { loraAirtime, LORAWAN_OVERHEAD, LINK_PRESETS } from "../wire/link/presets.ts";

export interface CoreEnergy {
  board: string;
  /** Joules per core clock cycle while encoding. */
  joulesPerCycle: number;
  source: string;
}

/** Energy per cycle of each board's core running this code (one core active). */
export const CORE_ENERGY: Record<string, CoreEnergy> = {
  gap8: {
    board: "gap8",
    joulesPerCycle: 68.6e-12,
    source:
      "GreenWaves GAP8/GAP9 product table (greenwaves-technologies.com/gap8_gap9): 22.65 GOPS at 4.24 mW/GOP = 96 mW for the 8-core cluster at 175 MHz, i.e. 96 mW / (8 x 175 MHz) per core-cycle (RI5CY, as the fabric controller)",
  },
  gap9: {
    board: "gap9",
    joulesPerCycle: 13.8e-12,
    source: "same table: 150.8 GOPS at 0.33 mW/GOP = 49.8 mW for the 9-core cluster at 400 MHz, per core-cycle",
  },
  k210: {
    board: "k210",
    joulesPerCycle: 0.75e-9,
    source: "Kendryte K210 datasheet: ~0.3 W typical for the SoC at 400 MHz, charged in full to the one CPU core encoding",
  },
  "openmv-h7": {
    board: "openmv-h7",
    joulesPerCycle: 0.83e-9,
    source:
      "OpenMV Cam H7 (STM32H743 at 480 MHz): ~120 mA at 3.3 V for the running board (OpenMV forum and power-management write-ups) = 0.40 W, charged in full to the encode",
  },
};

export interface RadioLink {
  name: string;
  payloadBytes: number;
  airtime(payload: number): number;
  /** Watts drawn by the radio while transmitting. */
  txWatts: number;
  source: string;
}

const SX1262_14DBM = { txWatts: 0.045 * 3.3, source: "Semtech SX1261/2 datasheet: TX current 45 mA at +14 dBm (the EU868 limit), 3.3 V" };

/** LoRaWAN EU868 data rates: SF and the largest FRMPayload (LoRaWAN Regional Parameters RP002). */
const EU868: Array<[sf: number, payload: number]> = [
  [7, 222],
  [8, 222],
  [9, 115],
  [10, 51],
  [11, 51],
  [12, 51],
];

export const RADIO_LINKS: RadioLink[] = [
  ...EU868.map(([sf, payload]) => ({
    name: `lora-sf${sf}`,
    payloadBytes: payload,
    airtime: (p: number) => loraAirtime(p + LORAWAN_OVERHEAD, sf),
    ...SX1262_14DBM,
  })),
  {
    name: "sigfox",
    payloadBytes: LINK_PRESETS.sigfox.payloadBytes,
    airtime: LINK_PRESETS.sigfox.airtime,
    txWatts: 0.045 * 3.3,
    source: "Sigfox RC1 at +14 dBm: the same sub-GHz PA class as above (45 mA, 3.3 V)",
  },
  {
    name: "802154",
    payloadBytes: LINK_PRESETS["802154"].payloadBytes,
    airtime: LINK_PRESETS["802154"].airtime,
    txWatts: 0.0174 * 3.0,
    source: "TI CC2420 datasheet: TX current 17.4 mA at 0 dBm, 3.0 V",
  },
];

export function radioLink(name: string): RadioLink {
  const l = RADIO_LINKS.find((x) => x.name === name);
  if (!l) throw new Error(`no radio link "${name}" (known: ${RADIO_LINKS.map((x) => x.name).join(", ")})`);
  return l;
}

/** Joules to send packets of the given sizes (payload bytes each). */
export function radioJoules(link: RadioLink, packetSizes: number[]): number {
  return packetSizes.reduce((s, p) => s + link.airtime(p), 0) * link.txWatts;
}

/** Joules to compute: counted instructions x CPI x joules per cycle. */
export function computeJoules(instructions: number, cpi: number, core: CoreEnergy): number {
  return instructions * cpi * core.joulesPerCycle;
}
