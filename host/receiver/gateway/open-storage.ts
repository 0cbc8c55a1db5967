// `--db FILE` (SQLite, the default) or `--db postgres://…` (PostgreSQL).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PostgresStorage } from "./postgres-storage.ts";
import { SqliteStorage } from "./sqlite-storage.ts";
import type { GatewayStorage } from "./storage.ts";

export async function openStorage(db: string, opts: { durability?: "normal" | "full" } = {}): Promise<GatewayStorage> {
  if (/^postgres(ql)?:\/\//.test(db)) return PostgresStorage.open(db);
  if (db !== ":memory:") mkdirSync(dirname(db), { recursive: true });
  return new SqliteStorage(db, opts);
}
