// Database rows → the storage interface's records (shared by the SQLite and PostgreSQL implementations;
// column names are the same in both, BIGINTs arrive as numbers in both).
import type { DeviceRecord, ImageSummary, UplinkRecord, UplinkSummary } from "./storage.ts";
import type { NetworkServer, Transport } from "./uplink.ts";

export type Row = Record<string, unknown>;

const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function deviceRow(r: Row): DeviceRecord {
  return {
    id: String(r.id),
    name: String(r.name),
    network: r.network as NetworkServer,
    firstSeen: Number(r.first_seen),
    lastSeen: Number(r.last_seen),
    frame: r.frame_w === null || r.frame_w === undefined ? null : { width: Number(r.frame_w), height: Number(r.frame_h) },
  };
}

/** `received` of an image from its stored packets' (packet_index, first_slot) rows (see ImageSummary.received). */
export function receivedIndices(rows: Row[]): number[] {
  const indices = new Set<number>(),
    slots = new Set<number>();
  for (const r of rows) {
    if (r.packet_index === null || r.packet_index === undefined) slots.add(Number(r.first_slot));
    else indices.add(Number(r.packet_index));
  }
  if (slots.size) return Array.from({ length: slots.size + indices.size }, (_, i) => i);
  return [...indices].sort((a, b) => a - b);
}

export function imageRow(r: Row, received: number[], rejected: number): ImageSummary {
  const latent = { width: Number(r.latent_w), height: Number(r.latent_h), channels: Number(r.latent_c) };
  const renderedAt = n(r.rendered_at),
    firstPreview = n(r.first_preview_at);
  return {
    id: Number(r.id),
    deviceId: String(r.device_id),
    imageId: Number(r.image_id),
    seq: Number(r.seq),
    frame: { width: Number(r.frame_w), height: Number(r.frame_h) },
    latent,
    firstAt: Number(r.first_at),
    lastAt: Number(r.last_at),
    received,
    rejected,
    symbols: Number(r.symbols),
    totalSymbols: latent.width * latent.height * latent.channels,
    preview: renderedAt === null ? null : { packets: Number(r.preview_packets), renderedAt, width: Number(r.png_w), height: Number(r.png_h) },
    firstPreviewMs: firstPreview === null ? null : firstPreview - Number(r.first_at),
    labels: r.labels ? { packets: Number(r.labels_packets), top5: JSON.parse(String(r.labels)) } : null,
  };
}

export function uplinkRow(r: Row): UplinkSummary {
  return {
    id: Number(r.id),
    deviceId: String(r.device_id),
    network: r.network as NetworkServer,
    transport: r.transport as Transport,
    fCnt: Number(r.f_cnt),
    fPort: Number(r.f_port),
    receivedAt: Number(r.received_at),
    bytes: Number(r.bytes),
    gatewayId: (r.gateway_id as string | null) ?? null,
    rssi: n(r.rssi),
    snr: n(r.snr),
    gateways: Number(r.gateways),
    copies: Number(r.copies),
    spreadingFactor: n(r.sf),
    airtimeS: n(r.airtime_s),
    status: r.status as "packet" | "rejected",
    rejectKind: (r.reject_kind as string | null) ?? null,
    rejectReason: (r.reject_reason as string | null) ?? null,
    imageRowId: n(r.image_ref),
    packetIndex: n(r.packet_index),
  };
}

/** The uplinks table's columns in insert order (schema.ts), shared by both drivers' INSERT. */
export const UPLINK_COLUMNS = [
  "device_id",
  "network",
  "transport",
  "f_cnt",
  "f_port",
  "payload",
  "payload_hash",
  "received_at",
  "ns_time",
  "gateway_id",
  "rssi",
  "snr",
  "gateways",
  "sf",
  "bandwidth",
  "airtime_s",
  "status",
  "reject_kind",
  "reject_reason",
  "image_ref",
  "packet_index",
  "first_slot",
  "symbol_count",
] as const;

/** One uplink's values for UPLINK_COLUMNS; `payload` as the driver wants it (pg takes a Buffer). */
export function uplinkValues(u: UplinkRecord, imageRowId: number | null, payload: Uint8Array = u.payload): unknown[] {
  const p = u.packet;
  return [
    u.deviceId,
    u.network,
    u.transport,
    u.fCnt,
    u.fPort,
    payload,
    u.payloadHash,
    u.receivedAt,
    u.time,
    u.gatewayId,
    u.rssi,
    u.snr,
    u.gateways,
    u.spreadingFactor,
    u.bandwidthHz,
    u.airtimeS,
    p ? "packet" : "rejected",
    u.reject?.kind ?? null,
    u.reject?.reason ?? null,
    imageRowId,
    p?.packetIndex ?? null,
    p?.first ?? null,
    p?.count ?? null,
  ];
}
