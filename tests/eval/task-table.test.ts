// `tidepool eval --task` end to end on a small labelled folder (4 imagenet-sample test-split photos copied
// into a temp dir with their labels.csv rows): the --json table's structure and sanity, and that a
// second run reads every image from its cache and prints the same table.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { imagenetSplit } from "../../host/core/dataset-split.ts";
import type { TaskReport } from "../../host/eval/task-run.ts";
import { runCli } from "../helpers/cli.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-task-table-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function labelledFolder(n: number): string {
  const dir = join(tmp, "labelled");
  mkdirSync(join(dir, "images"), { recursive: true });
  const rows = imagenetSplit("test")
    .slice(0, n)
    .map((it) => {
      copyFileSync(it.path, join(dir, "images", basename(it.path)));
      return `images/${basename(it.path)},${it.label},${it.name}`;
    });
  writeFileSync(join(dir, "labels.csv"), `file,label_index,label_name\n${rows.join("\n")}\n`);
  return dir;
}

// One route of each kind; WebP has no device module and one board keeps the builds for the cycles few
// (each is an asc compile on a fresh clone).
const ROUTES = ["tidepool", "webp-bestscale", "split-b2-raw"];
const BUDGETS = [60, 1000, 2500];

describe("tidepool eval --task", () => {
  it("--json prints one table: reference, every route at every budget with and without loss, and device cycles per board", async () => {
    const dir = labelledFolder(4);
    const cache = join(tmp, "cache");
    const args = [
      "eval",
      "--task",
      "--images",
      dir,
      "--json",
      "--budgets",
      BUDGETS.join(","),
      "--loss",
      "0.2",
      "--routes",
      ROUTES.join(","),
      "--boards",
      "gap8",
      "--cache",
      cache,
    ];
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as TaskReport;
    expect(t.images).toBe(4);
    expect(t.budgets).toEqual(BUDGETS);
    expect(t.loss).toMatchObject({ model: "iid", rate: 0.2 });
    // The uncompressed reference is computed (MobileNetV2 gets most of these photos right).
    expect(t.reference.top1).toBeGreaterThan(0);
    expect(t.reference.top5).toBeGreaterThanOrEqual(t.reference.top1);
    expect([...t.routes.map((x) => x.name), ...t.skipped.map((x) => x.name)].sort()).toEqual([...ROUTES].sort());
    for (const row of t.routes) {
      expect(row.settings.length).toBeGreaterThan(10);
      expect(row.points.map((p) => p.budget)).toEqual(BUDGETS);
      row.points.forEach((p, i) => {
        for (const c of [p, p.loss!]) {
          expect(c).toBeDefined();
          expect(c.top1).toBeLessThanOrEqual(c.top5);
          expect(c.top5).toBeLessThanOrEqual(c.delivered / t.images);
          expect(c.kept).toBeCloseTo(c.top1 / t.reference.top1, 9);
          if (c.delivered) expect(c.meanBytes).toBeLessThanOrEqual(BUDGETS[i]);
        }
        // Loss only takes away: never more images delivered than without it.
        expect(p.loss!.delivered).toBeLessThanOrEqual(p.delivered);
        // A larger budget never delivers fewer images.
        if (i > 0) expect(p.delivered).toBeGreaterThanOrEqual(row.points[i - 1].delivered);
      });
    }
    const get = (n: string) => t.routes.find((x) => x.name === n);
    // 60 bytes hold no picture; 2.5 kB holds one for every image; the raw split tensor (75 KB) fits none.
    expect(get("webp-bestscale")!.points.map((p) => p.delivered)).toEqual([0, 4, 4]);
    expect(get("split-b2-raw")!.points.every((p) => p.delivered === 0)).toBe(true);
    expect(get("split-b2-raw")!.settings).toMatch(/56x56x24 uint8 sent raw = 75264 B/);
    if (get("tidepool")) expect(get("tidepool")!.points[2].delivered).toBe(4);
    const cyclesOf = (n: string) => t.cycles.find((c) => c.route === n)?.boards[0].cycles ?? 0;
    expect(cyclesOf("split-b2-raw")).toBeGreaterThan(cyclesOf("tidepool"));

    // Device cycles: every route on each board asked for, modelled; WebP has no device implementation.
    expect(t.cycles.map((c) => c.route)).toEqual(t.routes.map((x) => x.name));
    for (const c of t.cycles) {
      expect(c.boards.map((b) => b.board)).toEqual(["gap8"]);
      for (const b of c.boards) expect(b.cycles === null).toBe(c.route === "webp-bestscale");
    }

    // Resumed: every image comes from the cache and the table is the same.
    const again = await runCli(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/\[4\/4\] .* \(cached\)/);
    expect(JSON.parse(again.stdout)).toEqual(t);
    expect(readFileSync(join(dir, "labels.csv"), "utf8")).toContain("label_index");
  }, 180_000);
});
