// The gateway's tables, in the two SQL dialects (SQLite and PostgreSQL differ only in the id, blob
// and float types). Schema version 1, kept in `tidepool_meta`; a database of another version is refused.
export const SCHEMA_VERSION = 1;

export function schemaSql(dialect: "sqlite" | "postgres"): string {
  const id = dialect === "sqlite" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY";
  const blob = dialect === "sqlite" ? "BLOB" : "BYTEA";
  const int = dialect === "sqlite" ? "INTEGER" : "BIGINT";
  const real = dialect === "sqlite" ? "REAL" : "DOUBLE PRECISION";
  return `
CREATE TABLE IF NOT EXISTS tidepool_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, network TEXT NOT NULL,
  first_seen ${int} NOT NULL, last_seen ${int} NOT NULL, frame_w ${int}, frame_h ${int});
CREATE TABLE IF NOT EXISTS images (
  id ${id}, device_id TEXT NOT NULL REFERENCES devices(id), image_id ${int} NOT NULL, seq ${int} NOT NULL,
  frame_w ${int} NOT NULL, frame_h ${int} NOT NULL, latent_w ${int} NOT NULL, latent_h ${int} NOT NULL, latent_c ${int} NOT NULL,
  first_at ${int} NOT NULL, last_at ${int} NOT NULL, symbols ${int} NOT NULL DEFAULT 0,
  png ${blob}, png_w ${int}, png_h ${int}, preview_packets ${int} NOT NULL DEFAULT 0, rendered_at ${int}, first_preview_at ${int},
  labels TEXT, labels_packets ${int},
  UNIQUE (device_id, image_id, seq));
CREATE TABLE IF NOT EXISTS uplinks (
  id ${id}, device_id TEXT NOT NULL REFERENCES devices(id), network TEXT NOT NULL, transport TEXT NOT NULL,
  f_cnt ${int} NOT NULL, f_port ${int} NOT NULL, payload ${blob} NOT NULL, payload_hash TEXT NOT NULL,
  received_at ${int} NOT NULL, ns_time ${int}, gateway_id TEXT, rssi ${real}, snr ${real}, gateways ${int} NOT NULL,
  copies ${int} NOT NULL DEFAULT 1, sf ${int}, bandwidth ${int}, airtime_s ${real},
  status TEXT NOT NULL, reject_kind TEXT, reject_reason TEXT,
  image_ref ${int} REFERENCES images(id), packet_index ${int}, first_slot ${int}, symbol_count ${int},
  UNIQUE (device_id, f_cnt, payload_hash));
CREATE INDEX IF NOT EXISTS uplinks_image ON uplinks (image_ref);
CREATE INDEX IF NOT EXISTS uplinks_device_time ON uplinks (device_id, received_at);
CREATE INDEX IF NOT EXISTS images_device ON images (device_id, image_id, seq);
`;
}
