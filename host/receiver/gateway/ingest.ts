// The path every uplink takes, from either network server and either transport: size and rate caps,
// device frame, packet check, then one durable storage transaction; only then is it acknowledged and
// its image scheduled for decoding. A payload that is not a valid Tidepool packet is still stored,
// as rejected with the reason, so nothing the network server delivered disappears silently.
import { createHash } from "node:crypto";
import { MAX_PACKET_BYTES, PacketDecodeError } from "../../wire/bitstream/packet-format.ts";
import { uplinkAirtime } from "./airtime.ts";
import type { Frame, FrameCatalog } from "./frames.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { GatewayStorage, PacketIdentity } from "./storage.ts";
import { bestRx, IngestError, type Transport, type Uplink } from "./uplink.ts";

export interface IngestResult {
  /** `ignored`: on another fPort than the gateway's; not stored. */
  status: "stored" | "rejected" | "duplicate" | "ignored";
  /** It came on the reference port: part of a reference upload (every channel) for the drift loop. */
  reference?: boolean;
  uplinkId: number | null;
  deviceId: string;
  newDevice: boolean;
  imageRowId: number | null;
  packet?: { imageId: number; index: number | null; first: number; count: number; frame: string };
  reject?: { kind: string; reason: string };
}

export interface IngestorOptions {
  storage: GatewayStorage;
  catalog: FrameCatalog;
  /** Frames configured per device id (DevEUI in lower case, or TTS device id); others are inferred. */
  frames: ReadonlyMap<string, Frame>;
  /** An image id reused after this long starts a new image (the device's 8-bit frame counter wrapped). */
  imageGapMs: number;
  deviceLimiter: RateLimiter;
  /** Only uplinks on this LoRaWAN port carry Tidepool packets; null: every port does. */
  fPort: number | null;
  /** The port of reference uploads (accepted even when `fPort` restricts the others); null: none. */
  referencePort?: number | null;
  onStored(result: IngestResult): void;
}

export class Ingestor {
  private readonly knownFrames = new Map<string, Frame | null>();
  constructor(private readonly o: IngestorOptions) {}

  private async frameOf(deviceId: string): Promise<Frame | null> {
    const configured = this.o.frames.get(deviceId);
    if (configured) return configured;
    const cached = this.knownFrames.get(deviceId);
    if (cached) return cached;
    const frame = (await this.o.storage.getDevice(deviceId))?.frame ?? null;
    if (frame) this.knownFrames.set(deviceId, frame);
    return frame;
  }

  async ingest(u: Uplink, transport: Transport): Promise<IngestResult> {
    if (u.payload.length > MAX_PACKET_BYTES)
      throw new IngestError(
        "too-large",
        `payload of device ${u.deviceId} (fCnt ${u.fCnt}) is ${u.payload.length} bytes; a Tidepool packet is at most ${MAX_PACKET_BYTES}`,
        413,
      );
    const reference = this.o.referencePort != null && u.fPort === this.o.referencePort;
    if (this.o.fPort !== null && u.fPort !== this.o.fPort && !reference)
      return { status: "ignored", uplinkId: null, deviceId: u.deviceId, newDevice: false, imageRowId: null };
    const wait = this.o.deviceLimiter.take(u.deviceId);
    if (wait > 0)
      throw new IngestError("rate-limited", `device ${u.deviceId} is sending faster than ${this.o.deviceLimiter.rate} uplinks/s`, 429, Math.ceil(wait));
    let packet: PacketIdentity | null = null,
      reject: { kind: string; reason: string } | null = null;
    try {
      const m = this.o.catalog.identify(u.payload, await this.frameOf(u.deviceId), this.o.frames.has(u.deviceId));
      const h = m.header;
      packet = { imageId: h.imageId, packetIndex: h.packetIndex, first: h.first, count: h.count, frame: m.frame, latent: m.latent };
      if (!this.o.frames.has(u.deviceId)) this.knownFrames.set(u.deviceId, m.frame);
    } catch (e) {
      if (!(e instanceof PacketDecodeError)) throw e;
      reject = { kind: e.kind, reason: e.message };
    }
    const best = bestRx(u.rx);
    const r = await this.o.storage.recordUplink(
      {
        deviceId: u.deviceId,
        deviceName: u.deviceName,
        network: u.network,
        transport,
        fCnt: u.fCnt,
        fPort: u.fPort,
        payload: u.payload,
        payloadHash: createHash("sha1").update(u.payload).digest("hex"),
        receivedAt: Date.now(),
        time: u.time,
        gatewayId: best?.gatewayId ?? null,
        rssi: best?.rssi ?? null,
        snr: best?.snr ?? null,
        gateways: u.rx.length,
        spreadingFactor: u.spreadingFactor,
        bandwidthHz: u.bandwidthHz,
        airtimeS: u.airtimeS ?? uplinkAirtime(u.payload.length, u.spreadingFactor, u.bandwidthHz),
        packet,
        reject,
      },
      this.o.imageGapMs,
    );
    const result: IngestResult = {
      status: r.duplicate ? "duplicate" : packet ? "stored" : "rejected",
      uplinkId: r.uplinkId,
      deviceId: u.deviceId,
      newDevice: r.newDevice,
      imageRowId: r.imageRowId,
      ...(reference ? { reference } : {}),
      ...(packet
        ? {
            packet: {
              imageId: packet.imageId,
              index: packet.packetIndex,
              first: packet.first,
              count: packet.count,
              frame: `${packet.frame.width}x${packet.frame.height}`,
            },
          }
        : {}),
      ...(reject ? { reject } : {}),
    };
    this.o.onStored(result);
    return result;
  }
}
