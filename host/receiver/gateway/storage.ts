// What the gateway keeps, behind one interface with two implementations: SQLite (one file, the
// default; sqlite-storage.ts) and PostgreSQL (several gateway instances behind one database;
// postgres-storage.ts). Every accepted uplink is recorded (one transaction) before it is acknowledged;
// images, previews and labels are derived from the stored uplinks and can always be rebuilt from them.
import type { LatentShape } from "../../wire/bitstream/symbol-order.ts";
import type { Frame } from "./frames.ts";
import type { NetworkServer, Transport } from "./uplink.ts";

export interface DeviceRecord {
  id: string;
  name: string;
  network: NetworkServer;
  firstSeen: number;
  lastSeen: number;
  frame: Frame | null;
}

export interface PacketIdentity {
  imageId: number;
  /** Null for compact packets (docs/bitstream.md §5), which carry no index. */
  packetIndex: number | null;
  first: number;
  count: number;
  frame: Frame;
  latent: LatentShape;
}

export interface UplinkRecord {
  deviceId: string;
  deviceName: string;
  network: NetworkServer;
  transport: Transport;
  fCnt: number;
  fPort: number;
  payload: Uint8Array;
  payloadHash: string;
  /** When the gateway received it (ms); `time` is the network server's own stamp. */
  receivedAt: number;
  time: number | null;
  gatewayId: string | null;
  rssi: number | null;
  snr: number | null;
  gateways: number;
  spreadingFactor: number | null;
  bandwidthHz: number | null;
  airtimeS: number | null;
  /** The Tidepool packet it carries, or why it is not one (exactly one of the two is set). */
  packet: PacketIdentity | null;
  reject: { kind: string; reason: string } | null;
}

export interface RecordResult {
  uplinkId: number;
  /** The same uplink (device, frame counter, payload) was stored before: only its radio metadata may improve. */
  duplicate: boolean;
  imageRowId: number | null;
  newDevice: boolean;
}

export interface StoredPacket {
  uplinkId: number;
  payload: Uint8Array;
}

export interface PreviewUpdate {
  png: Uint8Array;
  width: number;
  height: number;
  /** Packets the preview was decoded from; a preview from fewer packets never replaces one from more. */
  packets: number;
  symbols: number;
  totalSymbols: number;
  renderedAt: number;
}

export interface DeviceSummary extends DeviceRecord {
  uplinks: number;
  rejected: number;
  duplicates: number;
  images: number;
  last: { rssi: number | null; snr: number | null; spreadingFactor: number | null; gatewayId: string | null; gateways: number } | null;
  airtimeTodayS: number;
}

export interface ImageSummary {
  id: number;
  deviceId: string;
  imageId: number;
  seq: number;
  frame: Frame;
  latent: LatentShape;
  firstAt: number;
  lastAt: number;
  /**
   * Distinct packet indices received (mod 256, as the header carries them). Compact packets carry no index:
   * for them, their distinct first slots numbered in slot order (0..n−1), so gaps cannot show.
   */
  received: number[];
  rejected: number;
  symbols: number;
  totalSymbols: number;
  preview: { packets: number; renderedAt: number; width: number; height: number } | null;
  /** Time from the image's first packet to its first preview (ms). */
  firstPreviewMs: number | null;
  labels: { packets: number; top5: { index: number; name: string }[] } | null;
}

export interface UplinkSummary {
  id: number;
  deviceId: string;
  network: NetworkServer;
  transport: Transport;
  fCnt: number;
  fPort: number;
  receivedAt: number;
  bytes: number;
  gatewayId: string | null;
  rssi: number | null;
  snr: number | null;
  gateways: number;
  copies: number;
  spreadingFactor: number | null;
  airtimeS: number | null;
  status: "packet" | "rejected";
  rejectKind: string | null;
  rejectReason: string | null;
  imageRowId: number | null;
  packetIndex: number | null;
}

export interface GatewayStorage {
  readonly kind: "sqlite" | "postgres";
  /** Where the data lives (a file path, or the database URL without its password). */
  readonly where: string;
  getDevice(id: string): Promise<DeviceRecord | null>;
  /**
   * Registers the device on first sight, drops a duplicate (keeping the best radio metadata), assigns a
   * packet to its image (a new one when the image id was last used more than `imageGapMs` earlier) and
   * stores the uplink: all in one transaction, durable when the promise resolves.
   */
  recordUplink(u: UplinkRecord, imageGapMs: number): Promise<RecordResult>;
  imagePackets(imageRowId: number): Promise<StoredPacket[]>;
  markRejected(uplinkIds: number[], kind: string, reason: string): Promise<void>;
  savePreview(imageRowId: number, p: PreviewUpdate): Promise<boolean>;
  saveLabels(imageRowId: number, packets: number, top5: { index: number; name: string }[]): Promise<void>;
  /**
   * Images with packets since `since` (ms) whose preview (or, with `labels`, whose labels) is older than
   * their packets: re-decoded at start, and polled for when other instances store packets.
   */
  staleImages(labels: boolean, since?: number): Promise<number[]>;
  listDevices(dayStart: number): Promise<DeviceSummary[]>;
  listImages(o: { deviceId?: string; limit: number }): Promise<ImageSummary[]>;
  getImage(id: number): Promise<ImageSummary | null>;
  getPng(id: number): Promise<Uint8Array | null>;
  listUplinks(o: { deviceId?: string; imageRowId?: number; status?: "packet" | "rejected"; limit: number }): Promise<UplinkSummary[]>;
  close(): Promise<void>;
}

/** Missing packet indices: gaps below the highest index received (the tail is unknown until complete). */
export function missingIndices(received: readonly number[]): number[] {
  if (received.length === 0) return [];
  const have = new Set(received),
    top = Math.max(...received),
    out: number[] = [];
  for (let i = 0; i < top; i++) if (!have.has(i)) out.push(i);
  return out;
}
