// The task table: MobileNetV2 top-1/top-5 on what each route (host/eval/task-route.ts) delivers to the
// server within a byte budget, at the classifier's 224×224 view, with and without packet loss. A route
// sends a real file or real packets, so each image uses the largest one within the budget; an image a
// route delivers nothing for (nothing fits, or every packet was lost, or the file no longer decodes)
// counts as wrong.
import { basename } from "node:path";
import { statSync } from "node:fs";
import { accuracy, classifierView, MOBILENET_PATH, type Classifier } from "../receiver/classifier.ts";
import { msssimReference } from "./metrics.ts";
import type { TidepoolCodec } from "./tidepool-codec.ts";
import type { BaselineCodec } from "./baselines.ts";
import { bestScaleRoute, tidepoolRoute } from "./task-routes.ts";
import { DECODER_ONNX } from "./tidepool-codec.ts";
import type { TaskCache, CachedDeliveries, CachedImage } from "./task-cache.ts";
import type { TaskDelivery, TaskLoss, TaskRoute } from "./task-route.ts";
import type { LabelledImage } from "../core/dataset-split.ts";
import type { RgbImage } from "../core/types.ts";

export interface TaskPoint {
  budget: number;
  top1: number;
  top5: number;
  delivered: number;
  of: number;
  meanBytes: number;
  msssim: number;
}
export interface TaskCurve {
  name: string;
  points: TaskPoint[];
}
export interface TaskResult {
  reference: { top1: number; top5: number };
  images: number;
  curves: TaskCurve[];
}

/** What a route's deliveries score at one budget. */
export interface TaskCell {
  top1: number;
  top5: number;
  /** top-1 divided by the uncompressed top-1: the share of the classifier's accuracy the route keeps. */
  kept: number;
  delivered: number;
  /** Mean bytes sent over the delivered images (NaN when none was). */
  meanBytes: number;
}
export interface TaskRow {
  name: string;
  settings: string;
  /** One cell per budget, without loss and (when the run has loss) at the loss rate. */
  points: (TaskCell & { budget: number; loss?: TaskCell })[];
}
export interface TaskTable {
  images: number;
  budgets: number[];
  loss: { model: "iid"; rate: number; seed: number; packetBytes: number } | null;
  classifier: string;
  reference: { top1: number; top5: number };
  routes: TaskRow[];
}

/** The seed of one image's loss pattern: the run's seed and the file name, so a subset or a resumed run sees the same losses. */
export function imageLossSeed(seed: number, path: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (const c of basename(path)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

type Got = { bytes: number; top5: number[]; image?: RgbImage } | null;

/**
 * Everything the routes deliver for one view under each loss condition, classified in one batch with
 * the view itself (the reference): [reference top-5, per route per condition per budget].
 */
async function deliverAndClassify(
  view: RgbImage,
  routes: TaskRoute[],
  budgets: number[],
  conditions: TaskLoss[],
  classifier: Classifier,
  keepImages = false,
): Promise<{ reference: number[]; got: Got[][][] }> {
  const pending: { ri: number; li: number; bi: number; d: TaskDelivery }[] = [];
  const got: Got[][][] = routes.map(() => conditions.map(() => budgets.map(() => null)));
  for (const [ri, r] of routes.entries())
    for (const [li, loss] of conditions.entries()) {
      const ds = await r.deliver(view, budgets, loss);
      ds.forEach((d, bi) => {
        if (!d) return;
        if (d.top5) got[ri][li][bi] = { bytes: d.bytes, top5: d.top5 };
        else if (d.image) pending.push({ ri, li, bi, d });
        else throw new Error(`route ${r.name} delivered neither a picture nor an answer at ${budgets[bi]} B`);
      });
    }
  const preds = await classifier.top5([view, ...pending.map((p) => p.d.image!)], 32);
  pending.forEach((p, j) => {
    got[p.ri][p.li][p.bi] = { bytes: p.d.bytes, top5: preds[j + 1], image: keepImages ? p.d.image : undefined };
  });
  return { reference: preds[0], got };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, c) => a + c, 0) / xs.length : NaN);

function cell(g: (Got | [number, number[]] | null)[], labels: number[], refTop1: number): TaskCell {
  const norm = g.map((x) => (x === null ? null : Array.isArray(x) ? { bytes: x[0], top5: x[1] } : x));
  const ok = norm.filter((x) => x !== null);
  const acc = accuracy(
    norm.map((x) => x?.top5 ?? null),
    labels,
  );
  return { ...acc, kept: refTop1 > 0 ? acc.top1 / refTop1 : NaN, delivered: ok.length, meanBytes: mean(ok.map((x) => x.bytes)) };
}

export interface TaskTableOptions {
  classifier: Classifier;
  budgets: number[];
  /** i.i.d. packet loss for the loss rows (rate 0: no loss rows). */
  loss: { rate: number; seed: number };
  /** Per-image results are read from and appended to this cache (resumable runs). */
  cache?: TaskCache;
  /** Progress over images (host/cli/progress.ts has this shape). */
  progress?: { image(line: string): void; partial?(fraction: number): void };
}

/** The task table for labelled images: every route at every budget, with and without loss, and the uncompressed reference. */
export async function taskTable(items: LabelledImage[], routes: TaskRoute[], o: TaskTableOptions): Promise<TaskTable> {
  const conditions: TaskLoss[] = [{ rate: 0, seed: 0 }];
  if (o.loss.rate > 0) conditions.push({ rate: o.loss.rate, seed: o.loss.seed });
  let classifierKey = MOBILENET_PATH;
  try {
    classifierKey += `:${statSync(MOBILENET_PATH).size}`;
  } catch {}
  const key = (r: TaskRoute) => JSON.stringify({ route: r.name, settings: r.settings, budgets: o.budgets, loss: o.loss, classifier: classifierKey, v: 1 });
  const refKey = JSON.stringify({ reference: classifierKey, v: 1 });
  const imageKey = (it: LabelledImage) => {
    let size = 0;
    try {
      size = statSync(it.path).size;
    } catch {}
    return `${it.path}:${size}`;
  };
  const refs: number[][] = [];
  const per: CachedImage[][] = routes.map(() => []); // [route][image]
  for (const [i, item] of items.entries()) {
    const t0 = Date.now();
    const ik = imageKey(item);
    const cachedRef = o.cache?.get<number[]>(refKey, ik);
    const cached = routes.map((r) => o.cache?.get<CachedImage>(key(r), ik));
    const todo = routes.map((_, ri) => ri).filter((ri) => !cached[ri] || (conditions.length > 1 && !cached[ri]!.lossy));
    let ref = cachedRef;
    if (todo.length || !ref) {
      const view = await classifierView(item.path);
      const seeded = conditions.map((c) => (c.rate > 0 ? { rate: c.rate, seed: imageLossSeed(c.seed, item.path) } : c));
      const r = await deliverAndClassify(
        view,
        todo.map((ri) => routes[ri]),
        o.budgets,
        seeded,
        o.classifier,
      );
      ref = r.reference;
      o.cache?.put(refKey, ik, ref);
      todo.forEach((ri, j) => {
        const pack = (g: Got[]): CachedDeliveries => g.map((x) => (x ? [x.bytes, x.top5] : null));
        const entry: CachedImage = { clean: pack(r.got[j][0]) };
        if (conditions.length > 1) entry.lossy = pack(r.got[j][1]);
        cached[ri] = entry;
        o.cache?.put(key(routes[ri]), ik, entry);
      });
    }
    refs.push(ref);
    cached.forEach((c, ri) => per[ri].push(c!));
    o.progress?.image(`[${i + 1}/${items.length}] ${basename(item.path)} (${todo.length ? `${((Date.now() - t0) / 1000).toFixed(1)} s` : "cached"})`);
  }
  const labels = items.map((t) => t.label);
  const reference = accuracy(refs, labels);
  return {
    images: items.length,
    budgets: o.budgets,
    loss: o.loss.rate > 0 ? { model: "iid", rate: o.loss.rate, seed: o.loss.seed, packetBytes: 222 } : null,
    classifier: "MobileNetV2-1.0 int8 (mobilenetv2-12-int8, onnxruntime-node), view: short side 256 (lanczos3), centre crop 224",
    reference,
    routes: routes.map((r, ri) => ({
      name: r.name,
      settings: r.settings,
      points: o.budgets.map((budget, bi) => {
        const clean = cell(
          per[ri].map((c) => c.clean[bi]),
          labels,
          reference.top1,
        );
        const loss =
          conditions.length > 1
            ? cell(
                per[ri].map((c) => c.lossy![bi]),
                labels,
                reference.top1,
              )
            : undefined;
        return { budget, ...clean, ...(loss ? { loss } : {}) };
      }),
    })),
  };
}

/**
 * The figures of issue 3's task view (bench and tests): the given Tidepool codecs and baselines at each
 * budget, without loss, with the MS-SSIM of what was delivered. The same routes as the task table.
 */
export async function classifyAtBudgets(
  items: LabelledImage[],
  budgets: number[],
  o: {
    classifier: Classifier;
    baselines: BaselineCodec[];
    /** Tidepool codecs under their report names (e.g. the reconstruction and the task-aware decoder). */
    tidepool: { name: string; codec: TidepoolCodec; decoderPath?: string }[];
    log?: (s: string) => void;
  },
): Promise<TaskResult> {
  const routes = [...o.tidepool.map((t) => tidepoolRoute(t.name, t.codec, t.decoderPath ?? DECODER_ONNX)), ...o.baselines.map((b) => bestScaleRoute(b))];
  type Scored = { top5: number[]; bytes: number; msssim: number } | null;
  const got: Scored[][][] = routes.map(() => budgets.map(() => [])); // [route][budget][image]
  const refPreds: number[][] = [];
  for (const [i, item] of items.entries()) {
    const img = await classifierView(item.path);
    const r = await deliverAndClassify(img, routes, budgets, [{ rate: 0, seed: 0 }], o.classifier, true);
    refPreds.push(r.reference);
    r.got.forEach((byLoss, ri) =>
      byLoss[0].forEach((g, bi) => {
        got[ri][bi][i] = g ? { top5: g.top5, bytes: g.bytes, msssim: msssimReference(img).msssim(g.image!) } : null;
      }),
    );
    if ((i + 1) % 20 === 0) o.log?.(`classification view: ${i + 1}/${items.length} images`);
  }
  const labels = items.map((t) => t.label);
  const curves: TaskCurve[] = routes.map((route, ri) => ({
    name: route.name,
    points: budgets.map((b, bi) => {
      const g = got[ri][bi],
        ok = g.filter((x): x is NonNullable<Scored> => x !== null);
      return {
        budget: b,
        ...accuracy(
          g.map((x) => x?.top5 ?? null),
          labels,
        ),
        delivered: ok.length,
        of: items.length,
        meanBytes: mean(ok.map((x) => x.bytes)),
        msssim: mean(ok.map((x) => x.msssim)),
      };
    }),
  }));
  return { reference: accuracy(refPreds, labels), images: items.length, curves };
}
