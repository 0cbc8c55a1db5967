// A virtual LoRaWAN modem for the virtual board: speaks the Seeed LoRa-E5 AT commands (RisingHF AT
// firmware) on the board's UART, applies the link model of host/wire/link (EU868 payload size per data
// rate, Semtech time on air with the 13-byte MAC overhead, the 1 % duty cycle, seeded loss) on a
// simulated clock, and delivers every uplink that survives the air to a URL as the network server
// would: a ChirpStack v4 HTTP-integration `?event=up` JSON event (docs/flash-tools.md §Uplink).
import { randomUUID } from "node:crypto";
import { seededRandom } from "../../host/core/seeded-random.ts";
import { lossPattern, type LossSpec } from "../../host/wire/link/loss.ts";
import { LORAWAN_OVERHEAD, loraAirtime } from "../../host/wire/link/presets.ts";

/** EU868 data rates (LoRaWAN Regional Parameters RP002): spreading factor and largest FRMPayload (no repeater). */
export const EU868_DATA_RATES = [
  { dr: 0, sf: 12, maxPayload: 51 },
  { dr: 1, sf: 11, maxPayload: 51 },
  { dr: 2, sf: 10, maxPayload: 51 },
  { dr: 3, sf: 9, maxPayload: 115 },
  { dr: 4, sf: 8, maxPayload: 222 },
  { dr: 5, sf: 7, maxPayload: 222 },
] as const;
/** The three default EU868 channels; all in the g1 sub-band, which one 1 % duty cycle covers. */
const CHANNELS_HZ = [868_100_000, 868_300_000, 868_500_000];
/** Class A: after an unconfirmed uplink the modem listens in RX1 (1 s) and RX2 (2 s) before answering Done. */
const RX_WINDOWS_MS = 2_000;
const JOIN_REQUEST_BYTES = 23;

export interface VirtualModemOptions {
  /** ChirpStack v4 HTTP integration endpoint (e.g. http://127.0.0.1:8700/ingest/chirpstack); `?event=…` is added. Null: nothing is delivered. */
  uplinkUrl?: string | null;
  /** Sent as `Authorization: Bearer …` with every event. */
  token?: string | null;
  devEui?: string;
  deviceName?: string;
  /** EU868 data rate the modem starts at (0..5, default 5 = SF7). */
  dataRate?: number;
  loss?: LossSpec;
  seed?: number;
  /** Fraction of time on air the band allows (EU868 g1: 0.01). */
  dutyCycle?: number;
  /** Wall-clock time of the simulated clock's zero (event timestamps); default: when the modem was made. */
  epochMs?: number;
}

export interface AirUplink {
  fCnt: number;
  fPort: number;
  dr: number;
  bytes: number;
  airtimeMs: number;
  atMs: number;
  lost: boolean;
  payload: Uint8Array;
}

export interface DeliveryFailure {
  fCnt: number;
  status: number | null;
  message: string;
}

export class VirtualModem {
  readonly devEui: string;
  readonly deviceName: string;
  /** The simulated clock (ms since the modem started); a duty-cycle wait advances it. */
  clockMs = 0;
  dataRate: number;
  fPort = 8;
  joined = false;
  fCnt = 0;
  readonly uplinks: AirUplink[] = [];
  readonly failures: DeliveryFailure[] = [];
  delivered = 0;
  airtimeMs = 0;
  private bandFreeAtMs = 0;
  private devAddr = "";
  private readonly loss: boolean[];
  private readonly rand: () => number;
  private readonly pending = new Set<Promise<void>>();
  private readonly epochMs: number;
  private readonly ids = { tenantId: randomUUID(), applicationId: randomUUID(), deviceProfileId: randomUUID() };
  private appEui = "0000000000000000";
  private appKey = "2B7E151628AED2A6ABF7158809CF4F3C";

  constructor(readonly options: VirtualModemOptions = {}) {
    const seed = options.seed ?? 1;
    this.rand = seededRandom(seed ^ 0x5eed);
    this.devEui = (
      options.devEui ??
      "2cf7f1203230" +
        Math.floor(this.rand() * 0x10000)
          .toString(16)
          .padStart(4, "0")
    ).toLowerCase();
    if (!/^[0-9a-f]{16}$/.test(this.devEui)) throw new Error(`virtual modem: DevEUI "${options.devEui}" is not 16 hex digits`);
    this.deviceName = options.deviceName ?? `tidepool-${this.devEui.slice(-4)}`;
    this.dataRate = options.dataRate ?? 5;
    if (!EU868_DATA_RATES[this.dataRate]) throw new Error(`virtual modem: data rate DR${this.dataRate} is not an EU868 DR0..DR5`);
    this.loss = lossPattern(options.loss ?? { kind: "none" }, 1 << 16, seed);
    this.epochMs = options.epochMs ?? Date.now();
  }

  get maxPayload(): number {
    return EU868_DATA_RATES[this.dataRate].maxPayload;
  }
  get spreadingFactor(): number {
    return EU868_DATA_RATES[this.dataRate].sf;
  }

  /** Time on air of one uplink with `payload` application bytes at the current data rate. */
  airtime(payload: number): number {
    return loraAirtime(payload + LORAWAN_OVERHEAD, this.spreadingFactor) * 1000;
  }

  /** The board waits (its `sleep_ms`): the simulated clock moves on. */
  sleep(ms: number) {
    if (Number.isFinite(ms) && ms > 0) this.clockMs += ms;
  }

  /** Text written to the modem's UART (one or more AT command lines); returns what it answers. */
  input(text: string): string {
    const out: string[] = [];
    for (const line of text.split(/\r?\n/)) {
      const cmd = line.trim();
      if (cmd) out.push(...this.command(cmd));
    }
    return out.map((l) => `${l}\r\n`).join("");
  }

  private command(line: string): string[] {
    const m = /^AT(?:\+([A-Z]+))?(?:=(.*))?$/i.exec(line);
    if (!m) return ["+AT: ERROR(-10)"];
    const name = (m[1] ?? "").toUpperCase(),
      arg = m[2]?.trim();
    const tag = `+${name || "AT"}`;
    switch (name) {
      case "":
        return ["+AT: OK"];
      case "MODE":
        if (arg === undefined) return ["+MODE: LWOTAA"];
        return /^LWOTAA$/i.test(arg) ? ["+MODE: LWOTAA"] : [`${tag}: ERROR(-1)`];
      case "ID":
        return this.id(arg);
      case "KEY": {
        const k = /^APPKEY\s*,\s*"?([0-9A-Fa-f]{32})"?$/i.exec(arg ?? "");
        if (!k) return [`${tag}: ERROR(-1)`];
        this.appKey = k[1].toUpperCase();
        return [`+KEY: APPKEY ${this.appKey}`];
      }
      case "DR": {
        if (arg === undefined) return [`+DR: DR${this.dataRate}`];
        if (/^EU868$/i.test(arg)) return ["+DR: EU868"];
        const dr = /^(?:DR)?(\d)$/i.exec(arg);
        if (!dr || !EU868_DATA_RATES[+dr[1]]) return [`${tag}: ERROR(-1)`];
        this.dataRate = +dr[1];
        return [`+DR: DR${this.dataRate}`, `+DR: EU868 DR${this.dataRate}  SF${this.spreadingFactor}  BW125K`];
      }
      case "PORT": {
        if (arg === undefined) return [`+PORT: ${this.fPort}`];
        if (!/^\d+$/.test(arg) || +arg < 1 || +arg > 223) return [`${tag}: ERROR(-1)`];
        this.fPort = +arg;
        return [`+PORT: ${this.fPort}`];
      }
      case "LW":
        if (arg && /^LEN$/i.test(arg)) return [`+LW: LEN, ${this.maxPayload}`];
        return [`${tag}: ERROR(-1)`];
      case "JOIN":
        return this.join();
      case "MSGHEX":
        return this.msgHex(arg);
      default:
        return [`+${name}: ERROR(-10)`];
    }
  }

  private id(arg: string | undefined): string[] {
    const colons = (hex: string) => hex.toUpperCase().match(/../g)!.join(":");
    if (arg === undefined)
      return [
        `+ID: DevAddr, ${this.devAddr ? colons(this.devAddr) : "00:00:00:00"}`,
        `+ID: DevEui, ${colons(this.devEui)}`,
        `+ID: AppEui, ${colons(this.appEui)}`,
      ];
    const set = /^(DevEui|AppEui|DevAddr)\s*(?:,\s*"?([0-9A-Fa-f: ]+)"?)?$/i.exec(arg);
    if (!set) return ["+ID: ERROR(-1)"];
    const which = set[1].toLowerCase();
    if (set[2] !== undefined) {
      const hex = set[2].replace(/[: ]/g, "");
      if (which !== "appeui" || !/^[0-9A-Fa-f]{16}$/.test(hex)) return ["+ID: ERROR(-1)"];
      this.appEui = hex.toLowerCase();
    }
    if (which === "deveui") return [`+ID: DevEui, ${colons(this.devEui)}`];
    if (which === "appeui") return [`+ID: AppEui, ${colons(this.appEui)}`];
    return [`+ID: DevAddr, ${this.devAddr ? colons(this.devAddr) : "00:00:00:00"}`];
  }

  /** Waits for the band if needed (as the modem would refuse), then occupies the air for `airMs`. */
  private occupy(airMs: number): number | null {
    if (this.clockMs < this.bandFreeAtMs) return Math.ceil(this.bandFreeAtMs - this.clockMs);
    const start = this.clockMs;
    this.bandFreeAtMs = start + airMs / (this.options.dutyCycle ?? 0.01);
    this.airtimeMs += airMs;
    return null;
  }

  private join(): string[] {
    if (this.joined) return ["+JOIN: Joined already"];
    const wait = this.occupy(this.airtime(JOIN_REQUEST_BYTES - LORAWAN_OVERHEAD));
    if (wait !== null) return [`+JOIN: No band in ${wait}ms`];
    this.clockMs += this.airtime(JOIN_REQUEST_BYTES - LORAWAN_OVERHEAD) + 5_000; // JOIN_ACCEPT in RX1 at 5 s
    this.joined = true;
    this.fCnt = 0;
    this.devAddr = `26${Math.floor(this.rand() * 0x1000000)
      .toString(16)
      .padStart(6, "0")}`;
    this.post("join", { deduplicationId: randomUUID(), time: this.isoNow(), deviceInfo: this.deviceInfo(), devAddr: this.devAddr });
    return [
      "+JOIN: Start",
      "+JOIN: NORMAL",
      "+JOIN: Network joined",
      `+JOIN: NetID 000013 DevAddr ${this.devAddr.toUpperCase().match(/../g)!.join(":")}`,
      "+JOIN: Done",
    ];
  }

  private msgHex(arg: string | undefined): string[] {
    const q = /^"([0-9A-Fa-f ]*)"$/.exec(arg ?? "");
    const hex = q?.[1].replace(/ /g, "");
    if (hex === undefined || hex.length % 2) return ["+MSGHEX: ERROR(-1)"];
    if (!this.joined) return ["+MSGHEX: Please join network first"];
    const payload = Uint8Array.from(Buffer.from(hex, "hex"));
    if (payload.length > this.maxPayload) return [`+MSGHEX: Length error ${payload.length}`];
    const airMs = this.airtime(payload.length);
    const wait = this.occupy(airMs);
    if (wait !== null) return [`+MSGHEX: No band in ${wait}ms`];
    const fCnt = this.fCnt++;
    const atMs = this.clockMs;
    const lost = this.loss[fCnt % this.loss.length];
    this.uplinks.push({ fCnt, fPort: this.fPort, dr: this.dataRate, bytes: payload.length, airtimeMs: airMs, atMs, lost, payload });
    this.clockMs += airMs + RX_WINDOWS_MS;
    if (!lost) this.post("up", this.upEvent(payload, fCnt, atMs + airMs));
    return ["+MSGHEX: Start", "+MSGHEX: Done"];
  }

  private isoNow(at = this.clockMs): string {
    return new Date(this.epochMs + at).toISOString();
  }

  private deviceInfo() {
    return {
      tenantId: this.ids.tenantId,
      tenantName: "ChirpStack",
      applicationId: this.ids.applicationId,
      applicationName: "tidepool",
      deviceProfileId: this.ids.deviceProfileId,
      deviceProfileName: "Seeed LoRa-E5 (virtual)",
      deviceName: this.deviceName,
      devEui: this.devEui,
      deviceClassEnabled: "CLASS_A",
      tags: {},
    };
  }

  /** A ChirpStack v4 `integration.UplinkEvent` in its JSON encoding (what the HTTP integration posts). */
  upEvent(payload: Uint8Array, fCnt: number, atMs: number) {
    const time = this.isoNow(atMs);
    const snr = Math.round((2 + this.rand() * 8) * 4) / 4,
      rssi = Math.round(-110 + this.rand() * 50);
    return {
      deduplicationId: randomUUID(),
      time,
      deviceInfo: this.deviceInfo(),
      devAddr: this.devAddr,
      adr: false,
      dr: this.dataRate,
      fCnt,
      fPort: this.fPort,
      confirmed: false,
      data: Buffer.from(payload).toString("base64"),
      rxInfo: [
        {
          gatewayId: "0016c001f0000001",
          uplinkId: Math.floor(this.rand() * 0xffff),
          gwTime: time,
          nsTime: time,
          rssi,
          snr,
          channel: fCnt % 3,
          rfChain: 0,
          location: {},
          context: Buffer.from(Uint32Array.of(fCnt).buffer).toString("base64"),
          metadata: { region_common_name: "EU868", region_config_id: "eu868" },
          crcStatus: "CRC_OK",
        },
      ],
      txInfo: { frequency: CHANNELS_HZ[fCnt % 3], modulation: { lora: { bandwidth: 125_000, spreadingFactor: this.spreadingFactor, codeRate: "CR_4_5" } } },
    };
  }

  private post(event: string, body: unknown) {
    const url = this.options.uplinkUrl;
    if (!url) return;
    const fCnt = (body as { fCnt?: number }).fCnt ?? -1;
    const p = (async () => {
      // The network server retries a failed delivery a few times (connection refused, 5xx), then gives up.
      let last: DeliveryFailure | null = null;
      for (let attempt = 0; attempt < 4; attempt++) {
        try {
          const res = await fetch(`${url}${url.includes("?") ? "&" : "?"}event=${event}`, {
            method: "POST",
            body: JSON.stringify(body),
            headers: { "content-type": "application/json", ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) },
          });
          const text = await res.text();
          if (res.ok) {
            if (event === "up") this.delivered++;
            return;
          }
          last = { fCnt, status: res.status, message: text.slice(0, 300) };
          if (res.status < 500 && res.status !== 429) break;
        } catch (e) {
          last = { fCnt, status: null, message: (e as Error).message };
        }
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
      if (last) this.failures.push(last);
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves when every delivery so far has been answered (or has failed). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  stats() {
    const lost = this.uplinks.filter((u) => u.lost).length;
    return {
      devEui: this.devEui,
      uplinks: this.uplinks.length,
      lost,
      delivered: this.delivered,
      failed: this.failures.length,
      airtimeS: this.airtimeMs / 1000,
      clockS: this.clockMs / 1000,
    };
  }
}
