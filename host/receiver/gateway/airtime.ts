// Airtime accounting against The Things Network's fair-use policy (30 s of uplink airtime per device
// per day). TTS reports each uplink's airtime; for ChirpStack it is computed from the payload length
// and the data rate with the same Semtech formula the link simulator uses.
import { loraAirtime, LORAWAN_OVERHEAD } from "../../wire/link/presets.ts";

export const TTN_FAIR_USE_S = 30;

/** Seconds on air of an uplink with `payloadBytes` of FRMPayload, or null when the data rate is unknown. */
export function uplinkAirtime(payloadBytes: number, spreadingFactor: number | null, bandwidthHz: number | null): number | null {
  if (spreadingFactor === null || spreadingFactor < 5 || spreadingFactor > 12) return null;
  return loraAirtime(payloadBytes + LORAWAN_OVERHEAD, spreadingFactor, bandwidthHz ?? 125e3);
}

/** Start of the UTC day containing `t` (fair use counts per day). */
export function utcDayStart(t: number): number {
  return t - (t % 86_400_000);
}
