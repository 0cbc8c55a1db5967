// Per-image results of the task table, cached so a long run (1000 images on a shared 2-core machine)
// resumes where it stopped: one JSON-lines file per route setting (name, settings, budgets, loss,
// classifier), one line per image appended as soon as it is done. A line cut short by a killed run is
// skipped on reading, so the file never has to be rewritten.
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** What one route delivered for one image at each budget: [bytes, top-5] or null (not delivered). */
export type CachedDeliveries = ([number, number[]] | null)[];
export interface CachedImage {
  clean: CachedDeliveries;
  /** The same under packet loss (absent when the run had no loss). */
  lossy?: CachedDeliveries;
}

export class TaskCache {
  private readonly files = new Map<string, { path: string; rows: Map<string, unknown> }>();
  constructor(readonly dir: string) {}

  private file(key: string) {
    let f = this.files.get(key);
    if (!f) {
      const path = join(this.dir, `${createHash("sha256").update(key).digest("hex").slice(0, 20)}.jsonl`);
      const rows = new Map<string, unknown>();
      if (existsSync(path))
        for (const line of readFileSync(path, "utf8").split("\n")) {
          if (!line) continue;
          try {
            const { image, value } = JSON.parse(line) as { image: string; value: unknown };
            rows.set(image, value);
          } catch {
            // a line cut short when a run was killed: that image is simply done again
          }
        }
      f = { path, rows };
      this.files.set(key, f);
    }
    return f;
  }

  get<T>(key: string, image: string): T | undefined {
    return this.file(key).rows.get(image) as T | undefined;
  }

  put(key: string, image: string, value: unknown) {
    const f = this.file(key);
    f.rows.set(image, value);
    mkdirSync(this.dir, { recursive: true });
    appendFileSync(f.path, `${JSON.stringify({ image, value })}\n`);
  }
}
