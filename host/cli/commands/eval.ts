import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { repoPath } from "../../core/paths.ts";
import { defaultBaselines } from "../../eval/baselines.ts";
import { bppBudgets, byteBudgets, evaluate, listEvalImages, loadEvalImages, mergeResults, summaryJson, VIEW_BYTES_224, type RdResult } from "../../eval/rd.ts";
import { renderHtml } from "../../eval/report-html.ts";
import { MSSSIM_MIN_SIDE } from "../../eval/metrics.ts";
import { loadTidepool } from "../../eval/tidepool-codec.ts";
import { parseCommandArgs, UserError, type Command, intOption } from "../command.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { Progress } from "../progress.ts";
import { registryEntryForFile, resolveModelPath } from "../../core/model-registry.ts";
import { readInputFile } from "../../core/input-file.ts";
import { getBoard } from "../../core/boards.ts";
import { DEFAULT_TASK_BUDGETS, DEFAULT_TASK_LOSS, runTaskEval, TASK_ROUTE_NAMES, taskImages, type TaskReport } from "../../eval/task-run.ts";
import { taskTableText } from "../../eval/task-table-text.ts";

const rdUsage =
  "tidepool eval --images DIR [--json] [--html FILE] [--size N] [--limit N] [--codecs a,b,...] [--rate-images N] [--report FILE] [--jobs N] [--model FILE|NAME] [--decoder FILE]";
const taskUsage =
  "tidepool eval --task --images DIR [--json] [--budgets 500,1000,1500,2000,2500] [--loss 0.2] [--limit N] [--routes a,b,...] [--boards a,b,...] [--cache DIR] [--count]";
const usage = `${rdUsage}\n       ${taskUsage}`;

/** "500,1000,1500" -> byte budgets (positive integers, ascending as given). */
function parseBudgets(s: string): number[] {
  const parts = s.split(",").map((x) => x.trim());
  if (!parts.length || parts.some((x) => !/^\d+$/.test(x) || +x < 1))
    throw new UserError(`invalid budget list "${s}": expected byte counts like 500,1000,1500`, 2);
  return parts.map(Number);
}

function parseLossRate(s: string): number {
  const x = Number(s);
  if (s.trim() === "" || !Number.isFinite(x) || x < 0 || x >= 1) throw new UserError(`--loss must be a packet loss rate in [0, 1), got "${s}"`, 2);
  return x;
}

/** `tidepool eval --task`: the task table of every route (host/eval/task-routes.ts) on a labelled folder. */
async function runTask(values: Record<string, string | boolean | undefined>): Promise<number> {
  const notTask = ["html", "size", "codecs", "rate-images", "report", "jobs", "files", "decoder", "model"].filter((f) => values[f] !== undefined);
  if (notTask.length) throw new UserError(`--${notTask[0]} does not apply to the task table\nusage: ${taskUsage}`, 2);
  const budgets = values.budgets ? parseBudgets(values.budgets as string) : DEFAULT_TASK_BUDGETS;
  const loss = values.loss !== undefined ? parseLossRate(values.loss as string) : DEFAULT_TASK_LOSS;
  const limit = intOption("limit", values.limit as string | undefined, 1);
  let routes: string[] | undefined;
  if (values.routes) {
    routes = (values.routes as string)
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
    const unknown = routes.filter((r) => !TASK_ROUTE_NAMES.includes(r));
    if (unknown.length) throw new UserError(`--routes: unknown route ${unknown.join(", ")}; known: ${TASK_ROUTE_NAMES.join(", ")}`, 2);
  }
  const boards = values.boards
    ? (values.boards as string)
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
        .map((b) => getBoard(b))
    : undefined;
  const dir = resolve(values.images as string);
  const images = taskImages(dir, limit); // a bad folder fails here, before any model loads
  const progress = new Progress(images.length);
  let report: TaskReport;
  try {
    report = await runTaskEval({
      dir,
      budgets,
      loss,
      limit,
      routes,
      cacheDir: values.cache ? resolve(values.cache as string) : undefined,
      count: values.count === true,
      boards,
      progress,
      log: (s) => progress.log(s),
    });
  } finally {
    progress.finish();
  }
  if (values.json) console.log(JSON.stringify(report));
  else for (const line of taskTableText(report)) console.log(line);
  return 0;
}

/** Runs this command on each chunk of images in a child process (--files, --report) and merges the parts. */
async function runInChildren(argv: string[], chunks: string[][], progress: Progress): Promise<RdResult> {
  const dir = mkdtempSync(join(tmpdir(), "tidepool-eval-jobs-"));
  // The children get the same options minus those the parent handles (outputs, the split itself).
  const withValue = ["--html", "--report", "--jobs", "--limit", "--files"];
  const keep: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json" || withValue.some((f) => a.startsWith(`${f}=`))) continue;
    if (withValue.includes(a)) {
      i++;
      continue;
    }
    keep.push(a);
  }
  try {
    const parts = await Promise.all(
      chunks.map(
        (files, j) =>
          new Promise<RdResult>((done, fail) => {
            const report = join(dir, `part-${j}.json`);
            const child = spawn(process.execPath, [repoPath("bin", "tidepool.mjs"), "eval", ...keep, "--files", files.join("/"), "--report", report], {
              stdio: ["ignore", "ignore", "pipe"],
            });
            let err = "";
            // A child's stderr is a pipe, so it prints one plain "[i/n] …" line per image (its own ETA dropped here).
            let pending = "";
            child.stderr.on("data", (d) => {
              err += d;
              pending += d;
              const lines = pending.split("\n");
              pending = lines.pop() ?? "";
              for (const line of lines) if (line.startsWith("[")) progress.image(`job ${j + 1}: ${line.replace(/ ETA \S+$/, "")}`);
            });
            child.on("error", fail);
            child.on("close", (code) =>
              code === 0
                ? done(JSON.parse(readFileSync(report, "utf8")))
                : fail(
                    new UserError(
                      `eval job ${j + 1} failed (exit ${code}): ${err
                        .trim()
                        .split("\n")
                        .filter((l) => !l.startsWith("["))
                        .join("\n")}`,
                    ),
                  ),
            );
          }),
      ),
    );
    return mergeResults(parts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const command: Command = {
  name: "eval",
  summary: "rate–distortion of Tidepool vs JPEG and WebP at matched byte budgets; --task: classifier accuracy per route, budget and packet loss",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        images: { type: "string" },
        json: { type: "boolean" },
        html: { type: "string" },
        size: { type: "string" },
        limit: { type: "string" },
        codecs: { type: "string" },
        "rate-images": { type: "string" },
        report: { type: "string" },
        jobs: { type: "string" },
        files: { type: "string" },
        decoder: { type: "string" },
        model: { type: "string" },
        task: { type: "boolean" },
        budgets: { type: "string" },
        loss: { type: "string" },
        routes: { type: "string" },
        cache: { type: "string" },
        count: { type: "boolean" },
        boards: { type: "string" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (!values.images) throw new UserError(`--images is required\nusage: ${usage}`, 2);
    const log = (s: string) => process.stderr.write(`${s}\n`);
    if (values.task) return runTask(values);
    const taskOnly = ["budgets", "loss", "routes", "boards", "cache", "count"].filter((f) => values[f as keyof typeof values] !== undefined);
    if (taskOnly.length) throw new UserError(`--${taskOnly[0]} applies to the task table only (--task)\nusage: ${taskUsage}`, 2);
    const int = intOption;
    const size = int("size", values.size, MSSSIM_MIN_SIDE);
    const limit = int("limit", values.limit, 1);
    const rateImages = int("rate-images", values["rate-images"], 1);
    const jobs = int("jobs", values.jobs, 1) ?? 1;

    let baselines = await defaultBaselines();
    if (values.codecs) {
      const want = values.codecs
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = want.filter((w) => w !== "tidepool" && !baselines.some((b) => b.name === w));
      if (unknown.length) throw new UserError(`--codecs: unknown codec ${unknown.join(", ")}; known: tidepool, ${baselines.map((b) => b.name).join(", ")}`, 2);
      baselines = baselines.filter((b) => want.includes(b.name));
    }
    let images: Awaited<ReturnType<typeof loadEvalImages>>, names: string[];
    // --files (internal, used by --jobs): a "/"-separated subset of the directory's images.
    const only = values.files ? values.files.split("/") : undefined;
    names = only ?? listEvalImages(values.images, limit);
    images = jobs > 1 ? [] : await loadEvalImages(values.images, size, limit, only);
    const small = images.find((x) => Math.min(x.img.width, x.img.height) < MSSSIM_MIN_SIDE);
    if (small)
      throw new UserError(`${small.name} is ${small.img.width}x${small.img.height}: 5-scale MS-SSIM needs both sides >= ${MSSSIM_MIN_SIDE} px (use --size)`, 2);

    const modelPath = values.model ? resolve(values.model) : undefined;
    if (modelPath) readInputFile(modelPath, "model file"); // missing: the "missing model file" error
    // A model with its own decoder (the task encoder) is decoded by it unless --decoder names another.
    const own = modelPath ? registryEntryForFile(modelPath) : undefined;
    const decoderPath = values.decoder ? resolve(values.decoder) : own?.ownDecoder ? own.decoder : undefined;
    if (decoderPath && !existsSync(decoderPath)) throw new UserError(`--decoder: no such file ${decoderPath}`, 2);
    const wantTidepool = !values.codecs || values.codecs.split(",").includes("tidepool");
    const status = wantTidepool
      ? await loadTidepool({ trainImages: rateImages, log, decoderPath, modelPath })
      : { available: false as const, reason: "not requested (--codecs)" };
    if (!status.available) log(`tidepool: ${status.reason}; evaluating the baselines only`);
    const view = size ? `${size}x${size} cover crop (lanczos3)` : "full size";
    const budgets = size ? byteBudgets(VIEW_BYTES_224.map((b) => Math.round((b * size * size) / (224 * 224)))) : bppBudgets();
    const chunks = Array.from({ length: Math.min(jobs, names.length) }, (_, j) => names.filter((_n, i) => i % Math.min(jobs, names.length) === j));
    const progress = new Progress(names.length);
    let result: RdResult;
    try {
      result =
        jobs > 1
          ? await runInChildren(argv, chunks, progress)
          : await evaluate(images, {
              baselines,
              budgets,
              view,
              log: (s) => progress.log(s),
              progress,
              tidepool: status.available ? status.codec : null,
              tidepoolStatus: status.available ? "evaluated" : status.reason,
            });
    } finally {
      progress.finish();
    }
    if (values.html) {
      const path = resolve(values.html);
      atomicWrite(path, renderHtml(result));
      log(`wrote ${path}`);
    }
    if (values.report) {
      const path = resolve(values.report);
      atomicWrite(path, JSON.stringify(result, null, 2) + "\n"); // every point with its reached count and label
      log(`wrote ${path}`);
    }
    if (values.json) {
      console.log(JSON.stringify(summaryJson(result)));
      return 0;
    }
    console.log(`${result.images.length} images, ${view}; tidepool: ${result.tidepool}${result.rate ? ` (rate: ${result.rate})` : ""}`);
    const fmt = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
    for (const c of result.curves) {
      console.log(`\n${c.name}: ${c.settings}`);
      console.log("  point              reached  bytes     bpp      PSNR dB  MS-SSIM");
      for (const p of c.points)
        console.log(
          `  ${p.label.padEnd(18)} ${`${p.reached}/${p.of}`.padEnd(8)} ${fmt(p.bytes, 0).padStart(7)}  ${fmt(p.bpp, 4).padStart(7)}  ${fmt(p.psnr, 2).padStart(7)}  ${fmt(p.msssim, 4)}`,
        );
    }
    return 0;
  },
};
