// PostgreSQL storage (node-postgres): several gateway instances behind one database, each taking its
// share of the MQTT stream. Per-device work is serialised across instances with a transaction-scoped
// advisory lock, so registration, duplicate detection and image assignment see one order.
import pg from "pg";
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

// BIGINT (int8) and NUMERIC as JS numbers: every value the gateway stores is well below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** The URL without its password, for messages and the page. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

export class PostgresStorage implements GatewayStorage {
  readonly kind = "postgres" as const;
  readonly where: string;
  private constructor(
    private readonly pool: pg.Pool,
    url: string,
  ) {
    this.where = redactUrl(url);
  }

  static async open(url: string): Promise<PostgresStorage> {
    const pool = new pg.Pool({ connectionString: url, max: 8, types });
    pool.on("error", () => {
      /* an idle client lost its connection: the pool replaces it */
    });
    const s = new PostgresStorage(pool, url);
    try {
      const c = await pool.connect();
      try {
        await c.query("SELECT pg_advisory_lock(7426011)"); // one instance creates the schema at a time
        await c.query(schemaSql("postgres"));
        const v = await c.query("SELECT value FROM tidepool_meta WHERE key = 'schema'");
        if (v.rowCount === 0) await c.query("INSERT INTO tidepool_meta (key, value) VALUES ('schema', $1) ON CONFLICT DO NOTHING", [String(SCHEMA_VERSION)]);
        else if (v.rows[0].value !== String(SCHEMA_VERSION))
          throw new FailureError("storage", `${s.where} has gateway schema version ${v.rows[0].value}, this gateway reads ${SCHEMA_VERSION}`);
        await c.query("SELECT pg_advisory_unlock(7426011)");
      } finally {
        c.release();
      }
    } catch (e) {
      await pool.end().catch(() => {});
      if (e instanceof FailureError) throw e;
      throw new FailureError("storage", `cannot open the PostgreSQL database ${s.where}: ${(e as Error).message}`);
    }
    return s;
  }

  private async all(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows;
  }
  private async get(sql: string, args: unknown[] = []): Promise<Row | undefined> {
    return (await this.pool.query(sql, args)).rows[0];
  }

  async getDevice(id: string): Promise<DeviceRecord | null> {
    const r = await this.get("SELECT * FROM devices WHERE id = $1", [id]);
    return r ? deviceRow(r) : null;
  }

  async recordUplink(u: UplinkRecord, gap: number): Promise<RecordResult> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [u.deviceId]);
      const ins = await c.query("INSERT INTO devices (id, name, network, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING", [
        u.deviceId,
        u.deviceName,
        u.network,
        u.receivedAt,
      ]);
      const newDevice = ins.rowCount === 1;
      if (!newDevice)
        await c.query("UPDATE devices SET name = $1, last_seen = greatest(last_seen, $2) WHERE id = $3", [u.deviceName, u.receivedAt, u.deviceId]);
      const dup = (
        await c.query("SELECT id, rssi, snr, image_ref FROM uplinks WHERE device_id = $1 AND f_cnt = $2 AND payload_hash = $3", [
          u.deviceId,
          u.fCnt,
          u.payloadHash,
        ])
      ).rows[0];
      let result: RecordResult;
      if (dup) {
        const better =
          (u.snr ?? -Infinity) > (dup.snr ?? -Infinity) || ((u.snr ?? -Infinity) === (dup.snr ?? -Infinity) && (u.rssi ?? -Infinity) > (dup.rssi ?? -Infinity));
        await c.query(
          `UPDATE uplinks SET copies = copies + 1, gateways = greatest(gateways, $1)${better ? ", gateway_id = $3, rssi = $4, snr = $5" : ""} WHERE id = $2`,
          better ? [u.gateways, dup.id, u.gatewayId, u.rssi, u.snr] : [u.gateways, dup.id],
        );
        result = { uplinkId: Number(dup.id), duplicate: true, imageRowId: dup.image_ref === null ? null : Number(dup.image_ref), newDevice: false };
      } else {
        let imageRowId: number | null = null;
        const p = u.packet;
        if (p) {
          await c.query("UPDATE devices SET frame_w = $1, frame_h = $2 WHERE id = $3 AND frame_w IS NULL", [p.frame.width, p.frame.height, u.deviceId]);
          const last = (
            await c.query("SELECT id, seq, last_at, latent_w, latent_h FROM images WHERE device_id = $1 AND image_id = $2 ORDER BY seq DESC LIMIT 1", [
              u.deviceId,
              p.imageId,
            ])
          ).rows[0];
          if (last && u.receivedAt - last.last_at <= gap && last.latent_w === p.latent.width && last.latent_h === p.latent.height) {
            imageRowId = Number(last.id);
            await c.query("UPDATE images SET last_at = greatest(last_at, $1) WHERE id = $2", [u.receivedAt, imageRowId]);
          } else {
            imageRowId = Number(
              (
                await c.query(
                  `INSERT INTO images (device_id, image_id, seq, frame_w, frame_h, latent_w, latent_h, latent_c, first_at, last_at)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
                  [
                    u.deviceId,
                    p.imageId,
                    last ? last.seq + 1 : 0,
                    p.frame.width,
                    p.frame.height,
                    p.latent.width,
                    p.latent.height,
                    p.latent.channels,
                    u.receivedAt,
                  ],
                )
              ).rows[0].id,
            );
          }
        }
        const row = (
          await c.query(
            `INSERT INTO uplinks (${UPLINK_COLUMNS.join(", ")}) VALUES (${UPLINK_COLUMNS.map((_, k) => `$${k + 1}`).join(", ")}) RETURNING id`,
            uplinkValues(u, imageRowId, Buffer.from(u.payload)),
          )
        ).rows[0];
        result = { uplinkId: Number(row.id), duplicate: false, imageRowId, newDevice };
      }
      await c.query("COMMIT");
      return result;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async imagePackets(imageRowId: number): Promise<StoredPacket[]> {
    return (await this.all("SELECT id, payload FROM uplinks WHERE image_ref = $1 AND status = 'packet' ORDER BY id", [imageRowId])).map((r) => ({
      uplinkId: Number(r.id),
      payload: new Uint8Array(r.payload as Buffer),
    }));
  }

  async markRejected(ids: number[], kind: string, reason: string): Promise<void> {
    if (ids.length)
      await this.pool.query("UPDATE uplinks SET status = 'rejected', reject_kind = $1, reject_reason = $2 WHERE id = ANY($3::bigint[])", [kind, reason, ids]);
  }

  async savePreview(id: number, p: PreviewUpdate): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE images SET png = $1, png_w = $2, png_h = $3, preview_packets = $4, symbols = $5, rendered_at = $6,
      first_preview_at = coalesce(first_preview_at, $6) WHERE id = $7 AND preview_packets < $4`,
      [Buffer.from(p.png), p.width, p.height, p.packets, p.symbols, p.renderedAt, id],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async saveLabels(id: number, packets: number, top5: { index: number; name: string }[]): Promise<void> {
    await this.pool.query("UPDATE images SET labels = $1, labels_packets = $2 WHERE id = $3 AND coalesce(labels_packets, -1) < $2", [
      JSON.stringify(top5),
      packets,
      id,
    ]);
  }

  async staleImages(labels: boolean, since = 0): Promise<number[]> {
    return (
      await this.all(
        `SELECT i.id FROM images i WHERE i.last_at >= $1 AND (i.preview_packets < (SELECT count(*) FROM uplinks u WHERE u.image_ref = i.id AND u.status = 'packet')
      ${labels ? "OR i.labels_packets IS NULL OR i.labels_packets < i.preview_packets" : ""}) ORDER BY i.id`,
        [since],
      )
    ).map((r) => Number(r.id));
  }

  async listDevices(dayStart: number): Promise<DeviceSummary[]> {
    const devs = await this.all("SELECT * FROM devices ORDER BY last_seen DESC");
    return Promise.all(
      devs.map(async (d) => {
        const c = (await this.get(
          `SELECT count(*) AS uplinks, coalesce(sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0) AS rejected,
        coalesce(sum(copies - 1), 0) AS duplicates, coalesce(sum(CASE WHEN received_at >= $1 THEN airtime_s ELSE 0 END), 0) AS airtime
        FROM uplinks WHERE device_id = $2`,
          [dayStart, d.id],
        ))!;
        const last = await this.get("SELECT rssi, snr, sf, gateway_id, gateways FROM uplinks WHERE device_id = $1 ORDER BY id DESC LIMIT 1", [d.id]);
        const images = (await this.get("SELECT count(*) AS n FROM images WHERE device_id = $1", [d.id]))!;
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
                spreadingFactor: last.sf === null ? null : Number(last.sf),
                gatewayId: last.gateway_id as string | null,
                gateways: Number(last.gateways),
              }
            : null,
        };
      }),
    );
  }

  private async summary(r: Row): Promise<ImageSummary> {
    const idx = receivedIndices(await this.all("SELECT DISTINCT packet_index, first_slot FROM uplinks WHERE image_ref = $1 AND status = 'packet'", [r.id]));
    const rej = (await this.get("SELECT count(*) AS n FROM uplinks WHERE image_ref = $1 AND status = 'rejected'", [r.id]))!;
    return imageRow(r, idx, Number(rej.n));
  }

  async listImages(o: { deviceId?: string; limit: number }): Promise<ImageSummary[]> {
    const cols =
      "id, device_id, image_id, seq, frame_w, frame_h, latent_w, latent_h, latent_c, first_at, last_at, symbols, png_w, png_h, preview_packets, rendered_at, first_preview_at, labels, labels_packets";
    const rows = o.deviceId
      ? await this.all(`SELECT ${cols} FROM images WHERE device_id = $1 ORDER BY last_at DESC, id DESC LIMIT $2`, [o.deviceId, o.limit])
      : await this.all(`SELECT ${cols} FROM images ORDER BY last_at DESC, id DESC LIMIT $1`, [o.limit]);
    return Promise.all(rows.map((r) => this.summary(r)));
  }

  async getImage(id: number): Promise<ImageSummary | null> {
    const r = await this.get("SELECT * FROM images WHERE id = $1", [id]);
    return r ? this.summary(r) : null;
  }

  async getPng(id: number): Promise<Uint8Array | null> {
    const r = await this.get("SELECT png FROM images WHERE id = $1", [id]);
    return r?.png ? new Uint8Array(r.png as Buffer) : null;
  }

  async listUplinks(o: { deviceId?: string; imageRowId?: number; status?: "packet" | "rejected"; limit: number }): Promise<UplinkSummary[]> {
    const where: string[] = [],
      args: unknown[] = [];
    if (o.deviceId !== undefined) {
      args.push(o.deviceId);
      where.push(`device_id = $${args.length}`);
    }
    if (o.imageRowId !== undefined) {
      args.push(o.imageRowId);
      where.push(`image_ref = $${args.length}`);
    }
    if (o.status !== undefined) {
      args.push(o.status);
      where.push(`status = $${args.length}`);
    }
    args.push(o.limit);
    return (
      await this.all(
        `SELECT *, length(payload) AS bytes FROM uplinks ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT $${args.length}`,
        args,
      )
    ).map(uplinkRow);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
