// One uplink as the gateway sees it, whatever network server forwarded it (ChirpStack v4 or The Things
// Stack v3), and the error every ingest path answers bad input with (an HTTP status for the webhook paths).
import { TidepoolError } from "../../core/errors.ts";

export type NetworkServer = "chirpstack" | "tts";
export type Transport = "http" | "mqtt";

export interface RxMetadata {
  gatewayId: string;
  rssi: number | null;
  snr: number | null;
}

export interface Uplink {
  network: NetworkServer;
  /** The device's stable id: its DevEUI (lower-case hex) when the network server gives one, else its device id. */
  deviceId: string;
  deviceName: string;
  fPort: number;
  fCnt: number;
  payload: Uint8Array;
  /** Network server's reception time (ms since the epoch), or null when absent. */
  time: number | null;
  /** Every gateway that heard this uplink, as the network server reports them. */
  rx: RxMetadata[];
  spreadingFactor: number | null;
  bandwidthHz: number | null;
  /** Seconds on air as the network server reports it (TTS `consumed_airtime`), else null. */
  airtimeS: number | null;
}

/** Bad input on an ingest path: `status` is the HTTP answer (400 malformed, 401 auth, 413 too large, 429 rate). */
export class IngestError extends TidepoolError {
  constructor(
    kind: "malformed" | "unauthorized" | "too-large" | "rate-limited",
    message: string,
    readonly status: 400 | 401 | 413 | 429,
    readonly retryAfterS?: number,
  ) {
    super(kind, message);
  }
}

/** The best reception among the gateways that heard an uplink: highest SNR, then highest RSSI. */
export function bestRx(rx: readonly RxMetadata[]): RxMetadata | null {
  let best: RxMetadata | null = null;
  for (const r of rx) if (!best || betterRx(r, best)) best = r;
  return best;
}

export function betterRx(a: RxMetadata, b: RxMetadata): boolean {
  const sa = a.snr ?? -Infinity,
    sb = b.snr ?? -Infinity;
  if (sa !== sb) return sa > sb;
  return (a.rssi ?? -Infinity) > (b.rssi ?? -Infinity);
}

// Field readers shared by the two formats: each names the JSON path of what is wrong.
export function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new IngestError("malformed", `${path} must be an object`, 400);
  return v as Record<string, unknown>;
}

export function optObj(v: unknown, path: string): Record<string, unknown> | undefined {
  return v === undefined || v === null ? undefined : obj(v, path);
}

export function str(v: unknown, path: string): string {
  if (typeof v !== "string" || v.length === 0) throw new IngestError("malformed", `${path} must be a non-empty string`, 400);
  return v;
}

export function optStr(v: unknown, path: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, path);
}

/** Protobuf JSON omits zero values (and may write 64-bit integers as strings), so absent means 0. */
export function uint(v: unknown, path: string, max = 0xffffffff): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > max) throw new IngestError("malformed", `${path} must be an integer in 0..${max}`, 400);
  return n;
}

export function optNum(v: unknown, path: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new IngestError("malformed", `${path} must be a number`, 400);
  return v;
}

export function base64(v: unknown, path: string): Uint8Array {
  if (v === undefined || v === null || v === "") return new Uint8Array(0);
  if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) throw new IngestError("malformed", `${path} is not base64`, 400);
  return new Uint8Array(Buffer.from(v, "base64"));
}

export function time(v: unknown, path: string): number | null {
  if (v === undefined || v === null) return null;
  const t = typeof v === "string" ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new IngestError("malformed", `${path} must be an RFC 3339 time`, 400);
  return t;
}

export function deviceKey(devEui: string | undefined, deviceId: string | undefined, path: string): string {
  if (devEui !== undefined) {
    if (!/^[0-9a-fA-F]{16}$/.test(devEui)) throw new IngestError("malformed", `${path} "${devEui.slice(0, 40)}" is not a 16-digit hex EUI`, 400);
    return devEui.toLowerCase();
  }
  if (deviceId === undefined) throw new IngestError("malformed", `${path} is missing: the uplink names no device`, 400);
  if (deviceId.length > 64) throw new IngestError("malformed", `device id is longer than 64 characters`, 400);
  return deviceId;
}
