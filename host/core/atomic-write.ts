// Files are replaced whole or not at all: an interrupted write never leaves half a file in place.
import { renameSync, rmSync, writeFileSync } from "node:fs";

/** Writes to a temporary name beside `path`, then renames over it (atomic on one filesystem). */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
