// Calibration of the AOT cost models against instructions counted on QEMU (docs/cost-models.md):
// for each board with an emulated instruction set, the encoder and the device JPEG are profiled twice,
// by the model (WASM instruction counts x the cost table) and natively (wasm2c + GCC under QEMU).
// Counted instructions x the core's CPI (modelled, cost-models.ts) are the cycles the model should
// predict; the per-group scale factors are fitted by non-negative least squares (calibrate.ts).
import { getBoard, type Board } from "../../core/boards.ts";
import { buildEncoder } from "../build.ts";
import { buildDeviceJpeg } from "../jpeg/device-jpeg.ts";
import { loadRgb, toFrame } from "../../image/load.ts";
import type { PixelFormat } from "../../core/pixel-format.ts";
import { runNativeEncoder, runNativeJpeg } from "../native/run.ts";
import { nativeTargetForBoard, type BoundsChecks } from "../native/targets.ts";
import { GROUPS } from "./calibrate.ts";
import type { Category } from "./categories.ts";
import { NATIVE_CPI, rawCostTable, costTable } from "./cost-models.ts";
import { encoderWorkload } from "./encoder-workload.ts";
import { jpegWorkload } from "./jpeg-workload.ts";
import { profileWorkload } from "./profile.ts";

export interface CountedSample {
  board: string;
  workload: string;
  /** Executed WebAssembly instructions by category, per frame (the model's input). */
  counts: Partial<Record<Category, number>>;
  /** Native instructions counted on QEMU per frame. */
  counted: number;
  /** Model cycles per frame: uncalibrated table, and the table as shipped (calibrated). */
  modelBefore: number;
  modelAfter: number;
  /** The shipped AOT model with the kernel layers priced per kernel shape from counted instructions (the profile's figure); JPEG: modelAfter. */
  modelPerShape: number;
  /** Whether the category scales are fitted to this sample: the generic kernel and the JPEG (priced by categories); the specialised kernels are priced per kernel shape. */
  fit: boolean;
  /** Encoder: per layer, native instructions counted in the layer's function and the per-shape model's figure (instructions per frame). */
  layers?: Array<{ name: string; variant: string; counted: number; modelled: number }>;
}

const perFrame = (c: Partial<Record<Category, number>>, frames: number) =>
  Object.fromEntries(Object.entries(c).map(([k, v]) => [k, (v as number) / frames])) as Partial<Record<Category, number>>;

const cyclesOf = (counts: Partial<Record<Category, number>>, table: Record<string, number>) =>
  Object.entries(counts).reduce((s, [k, v]) => s + (v as number) * (table[k] ?? 0), 0);

/** Encoder (board format and the other one) and JPEG q10/q20/q50, modelled and counted, for one board. */
export async function countedSamples(
  boardName: string,
  photos: string[],
  opts: { width?: number; height?: number; boundsChecks?: BoundsChecks } = {},
): Promise<CountedSample[]> {
  const board = getBoard(boardName);
  const target = nativeTargetForBoard(board.name);
  if (!target) throw new Error(`board ${board.name} has no emulated instruction set`);
  const width = opts.width ?? board.camera.width,
    height = opts.height ?? board.camera.height;
  const bc = opts.boundsChecks ?? "off";
  const before = rawCostTable(board.costModel, "aot"),
    after = costTable(board.costModel, "aot");
  const out: CountedSample[] = [];
  const formats: PixelFormat[] = board.camera.format === "gray8" ? ["gray8", "rgb565"] : ["rgb565", "gray8"];
  for (const format of formats) {
    const frames = await Promise.all(photos.map(async (p) => toFrame(await loadRgb(p, { width, height }), format)));
    const spec = { width, height, format };
    const built = await buildEncoder({ board, width, height, format, runtime: "aot", withNames: true });
    const m = await profileWorkload(encoderWorkload(built, frames), board, "aot");
    // The native build as shipped: on Cortex-M7 the DSP kernels, which the profile prices per layer from their counts.
    const n = runNativeEncoder(built.wasm, frames, spec, { target: target.name, boundsChecks: bc, simd: built.simd });
    const counts = perFrame(m.instructionsByCategory, frames.length);
    if (format === board.camera.format) {
      // The generic kernel: priced by categories, so it (with the JPEG) is what the category scales are fitted to.
      const gen = await buildEncoder({ board, width, height, format, kernels: "generic" });
      const gm = await profileWorkload(encoderWorkload(gen, frames), board, "aot");
      const gn = runNativeEncoder(gen.wasm, frames, spec, { target: target.name, boundsChecks: bc });
      const gc = perFrame(gm.instructionsByCategory, frames.length);
      out.push({
        board: board.name,
        workload: `generic ${format}`,
        counts: gc,
        counted: mean(gn.encodeInstructions),
        modelBefore: cyclesOf(gc, before),
        modelAfter: cyclesOf(gc, after),
        modelPerShape: gm.cyclesPerFrame,
        fit: true,
      });
    }
    out.push({
      board: board.name,
      workload: `tidepool ${format}`,
      fit: false,
      counts,
      counted: mean(n.encodeInstructions),
      modelBefore: cyclesOf(counts, before),
      modelAfter: cyclesOf(counts, after),
      modelPerShape: m.cyclesPerFrame,
      layers: (m.layers ?? []).map((l, i) => ({
        name: l.name,
        variant: built.simd?.layers[i]?.kernel === "simd" ? "simd-smlad" : (built.kernels.layers[i]?.variant ?? "generic"),
        counted: n.layerInstructions?.[i] ?? 0,
        modelled: l.cyclesPerFrame / NATIVE_CPI[board.costModel].cpi,
      })),
    });
    if (format !== board.camera.format) continue;
    const jpeg = await buildDeviceJpeg(width, 64 * 1024);
    for (const q of [10, 20, 50]) {
      const jm = await profileWorkload(jpegWorkload(jpeg, frames, width, height, format, q), board, "aot");
      const jn = runNativeJpeg(jpeg.wasm, frames, { ...spec, quality: q }, { target: target.name, boundsChecks: bc });
      const jc = perFrame(jm.instructionsByCategory, frames.length);
      out.push({
        board: board.name,
        workload: `jpeg-q${q} ${format}`,
        counts: jc,
        counted: mean(jn.encodeInstructions),
        modelBefore: cyclesOf(jc, before),
        modelAfter: cyclesOf(jc, after),
        modelPerShape: cyclesOf(jc, after),
        fit: true,
      });
    }
  }
  return out;
}

function mean(a: number[]) {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

/** Cycles the model should predict for a sample: counted instructions x the core's CPI. */
export function targetCycles(board: Board, s: CountedSample): number {
  return s.counted * NATIVE_CPI[board.costModel].cpi;
}

export interface ScaleFit {
  scales: Record<string, number>;
  before: number[];
  after: number[];
}

/**
 * Per-group scales for a board's samples: the smallest change to the hand-made table (ridge toward 1
 * on relative error, lambda 0.1) that matches the counted cycles. Plain least squares is ill-posed here: the
 * workloads are of two kinds (convolution, DCT + Huffman), too few to separate four groups, and an
 * unconstrained fit drives whole groups to 0 (calibrate.ts's NNLS did exactly that).
 */
export function fitScales(board: Board, samples: CountedSample[], lambda = 0.1): ScaleFit {
  const table = rawCostTable(board.costModel, "aot");
  const groups = Object.values(GROUPS);
  const rows = samples
    .filter((s) => s.fit !== false)
    .map((s) => {
      const t = targetCycles(board, s);
      return groups.map((cats) => cats.reduce((sum, c) => sum + (s.counts[c] ?? 0) * table[c], 0) / t);
    });
  const n = groups.length;
  // (AᵀA + λI) x = Aᵀ1 + λ1
  const M = Array.from({ length: n }, (_, j) => [
    ...Array.from({ length: n }, (_, k) => rows.reduce((sum, r) => sum + r[j] * r[k], 0) + (j === k ? lambda : 0)),
    rows.reduce((sum, r) => sum + r[j], 0) + lambda,
  ]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = M[r][c] / M[c][c];
        for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
      }
  }
  const x = M.map((row, i) => row[n] / row[i]);
  if (x.some((v) => !(v > 0))) throw new Error(`calibration of ${board.costModel} gave a non-positive scale: ${x.join(", ")}`);
  const err = (sc: number[]) => rows.map((r) => r.reduce((sum, v, i) => sum + v * sc[i], 0) - 1);
  return { scales: Object.fromEntries(Object.keys(GROUPS).map((g, i) => [g, x[i]])), before: err(groups.map(() => 1)), after: err(x) };
}

export const GROUP_NAMES = Object.keys(GROUPS);
