// SQLite storage (better-sqlite3): one file, WAL journal. synchronous=NORMAL in WAL mode makes every
// committed transaction survive a crash or SIGKILL of the process (it is in the WAL file before the
// commit returns); only an OS crash or power cut may lose the last commits (`durability: "full"`
// syncs every commit to disk as well).
import Database from "better-sqlite3";
import { FailureError } from "../../core/errors.ts";
import { SCHEMA_VERSION, schemaSql } from "./schema.ts";
import type {
  DeviceRecord,
  DeviceSummary,
  GatewayStorage,
  ImageSummary,
  PreviewUpdate,
  RecordResult,
  StoredPacket,
  UplinkRecord,
  UplinkSummary,
} from "./storage.ts";
import { deviceRow, imageRow, receivedIndices, UPLINK_COLUMNS, uplinkRow, uplinkValues, type Row } from "./storage-rows.ts";

interface PendingRecord {
  u: UplinkRecord;
  gap: number;
  resolve(r: RecordResult): void;
  reject(e: Error): void;
  result?: RecordResult;
  error?: Error;
}

export class SqliteStorage implements GatewayStorage {
  readonly kind = "sqlite" as const;
  private readonly db: Database.Database;
  private readonly record: (u: UplinkRecord, gap: number) => RecordResult;
  private readonly recordBatch: (batch: PendingRecord[]) => void;
  private pending: PendingRecord[] = [];

  constructor(
    readonly where: string,
    opts: { durability?: "normal" | "full" } = {},
  ) {
    try {
      this.db = new Database(where);
    } catch (e) {
      throw new FailureError("storage", `cannot open the SQLite database ${where}: ${(e as Error).message}`);
    }
    const db = this.db;
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${opts.durability === "full" ? "FULL" : "NORMAL"}`);
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    db.exec(schemaSql("sqlite"));
    const v = db.prepare("SELECT value FROM tidepool_meta WHERE key = 'schema'").get() as { value: string } | undefined;
    if (!v) db.prepare("INSERT INTO tidepool_meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    else if (v.value !== String(SCHEMA_VERSION))
      throw new FailureError("storage", `${where} has gateway schema version ${v.value}, this gateway reads ${SCHEMA_VERSION}`);

    const insertDevice = db.prepare("INSERT INTO devices (id, name, network, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING");
    const touchDevice = db.prepare("UPDATE devices SET name = ?, last_seen = max(last_seen, ?) WHERE id = ?");
    const setFrame = db.prepare("UPDATE devices SET frame_w = ?, frame_h = ? WHERE id = ? AND frame_w IS NULL");
    const findDup = db.prepare("SELECT id, rssi, snr, image_ref FROM uplinks WHERE device_id = ? AND f_cnt = ? AND payload_hash = ?");
    const betterDup = db.prepare(`UPDATE uplinks SET copies = copies + 1, gateways = max(gateways, ?),
      gateway_id = CASE WHEN ? THEN ? ELSE gateway_id END, rssi = CASE WHEN ? THEN ? ELSE rssi END, snr = CASE WHEN ? THEN ? ELSE snr END WHERE id = ?`);
    const lastImage = db.prepare("SELECT id, seq, last_at, latent_w, latent_h FROM images WHERE device_id = ? AND image_id = ? ORDER BY seq DESC LIMIT 1");
    const newImage = db.prepare(`INSERT INTO images (device_id, image_id, seq, frame_w, frame_h, latent_w, latent_h, latent_c, first_at, last_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`);
    const touchImage = db.prepare("UPDATE images SET last_at = max(last_at, ?) WHERE id = ?");
    const insert = db.prepare(`INSERT INTO uplinks (${UPLINK_COLUMNS.join(", ")}) VALUES (${UPLINK_COLUMNS.map(() => "?").join(", ")}) RETURNING id`);

    this.record = (u: UplinkRecord, gap: number): RecordResult => {
      const newDevice = insertDevice.run(u.deviceId, u.deviceName, u.network, u.receivedAt, u.receivedAt).changes > 0;
      if (!newDevice) touchDevice.run(u.deviceName, u.receivedAt, u.deviceId);
      const dup = findDup.get(u.deviceId, u.fCnt, u.payloadHash) as
        | { id: number; rssi: number | null; snr: number | null; image_ref: number | null }
        | undefined;
      if (dup) {
        const better =
          (u.snr ?? -Infinity) > (dup.snr ?? -Infinity) || ((u.snr ?? -Infinity) === (dup.snr ?? -Infinity) && (u.rssi ?? -Infinity) > (dup.rssi ?? -Infinity));
        const b = better ? 1 : 0;
        betterDup.run(u.gateways, b, u.gatewayId, b, u.rssi, b, u.snr, dup.id);
        return { uplinkId: dup.id, duplicate: true, imageRowId: dup.image_ref, newDevice: false };
      }
      let imageRowId: number | null = null;
      const p = u.packet;
      if (p) {
        setFrame.run(p.frame.width, p.frame.height, u.deviceId);
        const last = lastImage.get(u.deviceId, p.imageId) as { id: number; seq: number; last_at: number; latent_w: number; latent_h: number } | undefined;
        if (last && u.receivedAt - last.last_at <= gap && last.latent_w === p.latent.width && last.latent_h === p.latent.height) {
          imageRowId = last.id;
          touchImage.run(u.receivedAt, last.id);
        } else {
          imageRowId = (
            newImage.get(
              u.deviceId,
              p.imageId,
              last ? last.seq + 1 : 0,
              p.frame.width,
              p.frame.height,
              p.latent.width,
              p.latent.height,
              p.latent.channels,
              u.receivedAt,
              u.receivedAt,
            ) as { id: number }
          ).id;
        }
      }
      const row = insert.get(...uplinkValues(u, imageRowId)) as { id: number };
      return { uplinkId: row.id, duplicate: false, imageRowId, newDevice };
    };
    // Group commit: the uplinks that arrive while one batch is being written share the next transaction.
    // Each waits for its commit; one bad record fails alone (a savepoint per record).
    const recordOne = db.transaction(this.record); // nested inside a batch: a savepoint
    this.recordBatch = db.transaction((batch: PendingRecord[]) => {
      for (const p of batch) {
        try {
          p.result = recordOne(p.u, p.gap);
        } catch (e) {
          p.error = e as Error;
        }
      }
    });
  }

  private all(sql: string, ...args: unknown[]): Row[] {
    return this.db.prepare(sql).all(...args) as Row[];
  }
  private get(sql: string, ...args: unknown[]): Row | undefined {
    return this.db.prepare(sql).get(...args) as Row | undefined;
  }

  async getDevice(id: string): Promise<DeviceRecord | null> {
    const r = this.get("SELECT * FROM devices WHERE id = ?", id);
    return r ? deviceRow(r) : null;
  }

  recordUplink(u: UplinkRecord, imageGapMs: number): Promise<RecordResult> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ u, gap: imageGapMs, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    try {
      this.recordBatch(batch);
    } catch (e) {
      for (const p of batch) p.reject(e as Error);
      return;
    }
    for (const p of batch) {
      if (p.error) p.reject(p.error);
      else p.resolve(p.result!);
    }
  }

  async imagePackets(imageRowId: number): Promise<StoredPacket[]> {
    return this.all("SELECT id, payload FROM uplinks WHERE image_ref = ? AND status = 'packet' ORDER BY id", imageRowId).map((r) => ({
      uplinkId: Number(r.id),
      payload: new Uint8Array(r.payload as Buffer),
    }));
  }

  async markRejected(uplinkIds: number[], kind: string, reason: string): Promise<void> {
    const st = this.db.prepare("UPDATE uplinks SET status = 'rejected', reject_kind = ?, reject_reason = ? WHERE id = ?");
    this.db.transaction(() => {
      for (const id of uplinkIds) st.run(kind, reason, id);
    })();
  }

  async savePreview(id: number, p: PreviewUpdate): Promise<boolean> {
    const r = this.db
      .prepare(`UPDATE images SET png = ?, png_w = ?, png_h = ?, preview_packets = ?, symbols = ?, rendered_at = ?,
      first_preview_at = coalesce(first_preview_at, ?) WHERE id = ? AND preview_packets < ?`)
      .run(p.png, p.width, p.height, p.packets, p.symbols, p.renderedAt, p.renderedAt, id, p.packets);
    return r.changes > 0;
  }

  async saveLabels(id: number, packets: number, top5: { index: number; name: string }[]): Promise<void> {
    this.db
      .prepare("UPDATE images SET labels = ?, labels_packets = ? WHERE id = ? AND coalesce(labels_packets, -1) < ?")
      .run(JSON.stringify(top5), packets, id, packets);
  }

  async staleImages(labels: boolean, since = 0): Promise<number[]> {
    return this.all(
      `SELECT i.id FROM images i WHERE i.last_at >= ? AND (i.preview_packets < (SELECT count(*) FROM uplinks u WHERE u.image_ref = i.id AND u.status = 'packet')
      ${labels ? "OR i.labels_packets IS NULL OR i.labels_packets < i.preview_packets" : ""}) ORDER BY i.id`,
      since,
    ).map((r) => Number(r.id));
  }

  async listDevices(dayStart: number): Promise<DeviceSummary[]> {
    return this.all("SELECT * FROM devices ORDER BY last_seen DESC").map((d) => {
      const c = this.get(
        `SELECT count(*) AS uplinks, coalesce(sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0) AS rejected,
        coalesce(sum(copies - 1), 0) AS duplicates, coalesce(sum(CASE WHEN received_at >= ? THEN airtime_s ELSE 0 END), 0) AS airtime
        FROM uplinks WHERE device_id = ?`,
        dayStart,
        d.id,
      )!;
      const last = this.get("SELECT rssi, snr, sf, gateway_id, gateways FROM uplinks WHERE device_id = ? ORDER BY id DESC LIMIT 1", d.id);
      const images = this.get("SELECT count(*) AS n FROM images WHERE device_id = ?", d.id)!;
      return {
        ...deviceRow(d),
        uplinks: Number(c.uplinks),
        rejected: Number(c.rejected),
        duplicates: Number(c.duplicates),
        images: Number(images.n),
        airtimeTodayS: Number(c.airtime),
        last: last
          ? {
              rssi: last.rssi as number | null,
              snr: last.snr as number | null,
              spreadingFactor: last.sf as number | null,
              gatewayId: last.gateway_id as string | null,
              gateways: Number(last.gateways),
            }
          : null,
      };
    });
  }

  private summary(r: Row): ImageSummary {
    const idx = receivedIndices(this.all("SELECT DISTINCT packet_index, first_slot FROM uplinks WHERE image_ref = ? AND status = 'packet'", r.id));
    const rej = this.get("SELECT count(*) AS n FROM uplinks WHERE image_ref = ? AND status = 'rejected'", r.id)!;
    return imageRow(r, idx, Number(rej.n));
  }

  async listImages(o: { deviceId?: string; limit: number }): Promise<ImageSummary[]> {
    const cols =
      "id, device_id, image_id, seq, frame_w, frame_h, latent_w, latent_h, latent_c, first_at, last_at, symbols, png_w, png_h, preview_packets, rendered_at, first_preview_at, labels, labels_packets";
    const rows = o.deviceId
      ? this.all(`SELECT ${cols} FROM images WHERE device_id = ? ORDER BY last_at DESC, id DESC LIMIT ?`, o.deviceId, o.limit)
      : this.all(`SELECT ${cols} FROM images ORDER BY last_at DESC, id DESC LIMIT ?`, o.limit);
    return rows.map((r) => this.summary(r));
  }

  async getImage(id: number): Promise<ImageSummary | null> {
    const r = this.get("SELECT * FROM images WHERE id = ?", id);
    return r ? this.summary(r) : null;
  }

  async getPng(id: number): Promise<Uint8Array | null> {
    const r = this.get("SELECT png FROM images WHERE id = ?", id);
    return r?.png ? new Uint8Array(r.png as Buffer) : null;
  }

  async listUplinks(o: { deviceId?: string; imageRowId?: number; status?: "packet" | "rejected"; limit: number }): Promise<UplinkSummary[]> {
    const where: string[] = [],
      args: unknown[] = [];
    if (o.deviceId !== undefined) {
      where.push("device_id = ?");
      args.push(o.deviceId);
    }
    if (o.imageRowId !== undefined) {
      where.push("image_ref = ?");
      args.push(o.imageRowId);
    }
    if (o.status !== undefined) {
      where.push("status = ?");
      args.push(o.status);
    }
    return this.all(
      `SELECT *, length(payload) AS bytes FROM uplinks ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT ?`,
      ...args,
      o.limit,
    ).map(uplinkRow);
  }

  async close(): Promise<void> {
    if (this.pending.length) this.flush();
    if (this.db.open) this.db.close();
  }
}
