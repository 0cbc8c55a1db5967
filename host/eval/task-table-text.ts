// The task table as text (tidepool eval --task and the bench print the same): accuracy per route and
// budget with and without loss, then device cycles per route and board, then each route's settings.
import { lossFloorPoints } from "./loss-floor.ts";
import type { TaskReport } from "./task-run.ts";

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "  -  ");
const bytes = (x: number) => (Number.isFinite(x) ? x.toFixed(0).padStart(5) : "    -");
const mcycles = (x: number | null) => (x === null ? "n/a" : (x / 1e6).toFixed(1));

export function taskTableText(r: TaskReport): string[] {
  const out: string[] = [];
  const lossPct = r.loss ? `${Math.round(r.loss.rate * 100)} %` : null;
  out.push(`${r.images} labelled images from ${r.folder}; classifier ${r.classifier}`);
  out.push(`uncompressed reference: top-1 ${f3(r.reference.top1)}, top-5 ${f3(r.reference.top5)}`);
  out.push(
    `each image: the largest file / channel prefix within the budget; not delivered = wrong; kept = top-1 / uncompressed top-1${
      r.loss ? `; loss: i.i.d. ${lossPct} of ${r.loss.packetBytes}-byte link packets, seeded (seed ${r.loss.seed}, per image by file name)` : ""
    }`,
  );
  const w = Math.max(24, ...r.routes.map((x) => x.name.length));
  out.push("");
  out.push(`${"route".padEnd(w)}  budget   top-1  top-5  kept   deliv  mean B${r.loss ? `  | at ${lossPct} loss: top-1  top-5  kept   deliv  mean B` : ""}`);
  for (const row of r.routes) {
    for (const p of row.points) {
      const clean = `${f3(p.top1)}  ${f3(p.top5)}  ${f3(p.kept)}  ${String(p.delivered).padStart(5)}  ${bytes(p.meanBytes)}`;
      const lossy = p.loss
        ? `  |               ${f3(p.loss.top1)}  ${f3(p.loss.top5)}  ${f3(p.loss.kept)}  ${String(p.loss.delivered).padStart(5)}  ${bytes(p.loss.meanBytes)}`
        : "";
      out.push(`${row.name.padEnd(w)}  ${`${p.budget} B`.padStart(6)}   ${clean}${lossy}`);
    }
  }
  if (r.loss) {
    // Of the drop under loss, what the missing bytes alone cost on the route's own curve (loss-floor.ts).
    out.push("");
    out.push(
      `top-1 points lost at ${lossPct} loss / of which the missing bytes alone cost (the route's no-loss curve at ${100 - Math.round(r.loss.rate * 100)} % of its bytes):`,
    );
    const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
    for (const row of r.routes) {
      const floor = lossFloorPoints(row, r.loss.rate);
      out.push(
        `${row.name.padEnd(w)}  ${row.points.map((p, i) => `${p.budget} B ${fmt(p.loss ? 100 * (p.top1 - p.loss.top1) : Number.NaN)} / ${fmt(floor[i])}`).join(", ")}`,
      );
    }
  }
  if (r.cycles.length) {
    const boards = r.cycles[0].boards;
    out.push("");
    out.push(`device cycles per image (million, ${r.cyclesFrame}); modelled with each board's cost model and default runtime;`);
    out.push(`[in brackets: million native instructions counted under QEMU where host/build/native runs the module]`);
    out.push(`${"route".padEnd(w)}  ${boards.map((b) => `${b.board} (${b.runtime})`.padEnd(22)).join("")}`);
    for (const c of r.cycles)
      out.push(
        `${c.route.padEnd(w)}  ${c.boards
          .map((b) =>
            `${mcycles(b.cycles)}${b.counted ? ` [${(b.counted.instructions / 1e6).toFixed(1)} ${b.counted.target}${b.counted.bitExact ? "" : " NOT bit-exact"}]` : ""}`.padEnd(
              22,
            ),
          )
          .join("")}`,
      );
  }
  out.push("");
  out.push("settings:");
  for (const row of r.routes) out.push(`  ${row.name}: ${row.settings}`);
  for (const c of r.cycles) out.push(`  ${c.route} on the device: ${c.device ?? "no device implementation (cycles n/a)"}`);
  for (const s of r.skipped) out.push(`  ${s.name}: left out (${s.why})`);
  return out;
}
