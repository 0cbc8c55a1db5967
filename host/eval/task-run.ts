// `tidepool eval --task` and `npm run bench -- eval`: the labelled folder checked, the routes made from
// the registry, the task table run (cached per image when asked) and each route's device cycles added.
import { existsSync, statSync } from "node:fs";
import { relative } from "node:path";
import type { Board } from "../core/boards.ts";
import { DatasetError, labelledImages, type LabelledImage } from "../core/dataset-split.ts";
import { Classifier, classifierView } from "../receiver/classifier.ts";
import { TaskCache } from "./task-cache.ts";
import { routeCycles, type RouteCycles } from "./task-cycles.ts";
import { taskTable, type TaskTable } from "./task-eval.ts";
import { makeRoutes, TASK_ROUTES } from "./task-routes.ts";

export const DEFAULT_TASK_BUDGETS = [500, 1000, 1500, 2000, 2500];
export const DEFAULT_TASK_LOSS = 0.2;
export const TASK_LOSS_SEED = 1;

export interface TaskReport extends TaskTable {
  folder: string;
  /** Routes of the registry left out on this checkout, with why (e.g. a model not trained yet). */
  skipped: { name: string; why: string }[];
  /** Per route (same order as `routes`): device cycles per 224² image on each board. */
  cycles: { route: string; device: string | null; boards: RouteCycles[] }[];
  cyclesFrame: string;
}

/** The labelled images of a folder (labels.csv as in imagenet-sample), each checked to exist; the first `limit`. */
export function taskImages(dir: string, limit?: number): LabelledImage[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`labelled image folder ${dir}: no such folder`);
  const all = labelledImages(dir);
  if (!all.length) throw new DatasetError(`${dir}/labels.csv: no labelled rows (expected CSV rows file,label_index,name after the header)`);
  const items = limit ? all.slice(0, limit) : all;
  items.forEach((it, i) => {
    if (!existsSync(it.path)) throw new DatasetError(`${dir}/labels.csv:${i + 2}: ${relative(dir, it.path)}: no such image file`);
  });
  return items;
}

export const TASK_ROUTE_NAMES = TASK_ROUTES.map((r) => r.name);

export async function runTaskEval(o: {
  dir: string;
  budgets: number[];
  loss: number;
  limit?: number;
  routes?: string[];
  cacheDir?: string;
  /** Also count native instructions under QEMU where host/build/native runs the route's module (slow once, then cached). */
  count?: boolean;
  /** Boards for the device cycles (default all). */
  boards?: Board[];
  progress?: { image(line: string): void; partial?(f: number): void; log?(s: string): void };
  log?: (s: string) => void;
}): Promise<TaskReport> {
  const items = taskImages(o.dir, o.limit);
  const { routes, skipped } = await makeRoutes(o.routes);
  for (const s of skipped) o.log?.(`${s.name}: left out (${s.why})`);
  const cache = o.cacheDir ? new TaskCache(o.cacheDir) : undefined;
  const table = await taskTable(items, routes, {
    classifier: await Classifier.load(),
    budgets: o.budgets,
    loss: { rate: o.loss, seed: TASK_LOSS_SEED },
    cache,
    progress: o.progress,
  });
  // One frame stands for every image: the routes' device work does not depend on the content (the JPEG's entropy coding barely does).
  const frame = await classifierView(items[0].path);
  const cycles = [];
  for (const r of routes)
    cycles.push({
      route: r.name,
      device: r.device?.describe ?? null,
      boards: await routeCycles(r, frame, { cache, count: o.count, boards: o.boards, log: o.log }),
    });
  return {
    folder: o.dir,
    ...table,
    skipped,
    cycles,
    cyclesFrame: `${relative(o.dir, items[0].path)} at the classifier's 224x224 view, RGB565 rows`,
  };
}
