// Choosing the split point for a board: every split point of an imported head is planned at the
// board's frame with the split tensor streamed out row by row; `auto` takes the deepest one whose
// arena fits the board's budget (deeper = more of the classifier on the device, a smaller tensor to
// send). docs/split-computing.md.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Board } from "../core/boards.ts";
import type { HeadModel } from "../core/head-types.ts";
import type { PixelFormat } from "../core/pixel-format.ts";
import { SHARED_DIR, repoPath } from "../core/paths.ts";
import { readHeadModel } from "../model/head-format.ts";
import { TidepoolError } from "../core/errors.ts";
import { headAtSplit, importOnnxHead, type ImportResult } from "../model/import/onnx-import.ts";
import { headMacs, headShapes } from "../model/head-geometry.ts";
import { readInputFile } from "../core/input-file.ts";
import { planHeadArena } from "./memory-map/head-planner.ts";

/** The int8 MobileNetV2 the server classifies with (the same file host/receiver/classifier.ts loads). */
export const DEFAULT_SPLIT_ONNX = join(SHARED_DIR, "models", "mobilenetv2-12-int8", "mobilenetv2-12-int8.onnx");
/** MobileNetV2 has 17 inverted-residual blocks (torchvision features[1..17]). */
export const MAX_SPLIT = 17;

export interface SplitPoint {
  split: number;
  head: HeadModel;
  tensor: string;
  shape: { width: number; height: number; channels: number };
  macs: number;
  arenaBytes: number;
  fits: boolean;
}

/** Imports the ONNX head once, up to the deepest split point, and reads every shallower one from it. */
export function importAllSplits(path = DEFAULT_SPLIT_ONNX): ImportResult {
  const bytes = path === DEFAULT_SPLIT_ONNX ? readFileSync(path) : readInputFile(path, "ONNX model");
  return importOnnxHead(bytes, { split: MAX_SPLIT, source: path });
}

export function splitPoints(r: ImportResult, board: Board, width: number, height: number, format: PixelFormat): SplitPoint[] {
  const unlimited = { ...board, memory: { ...board.memory, arenaBudgetBytes: Number.MAX_SAFE_INTEGER } };
  return r.splitPoints.map((_, split) => {
    const head = headAtSplit(r, split);
    const map = planHeadArena({ head, board: unlimited, width, height, format, streamOutput: true });
    return {
      split,
      head,
      tensor: r.splitPoints[split].tensor,
      shape: headShapes(head, width, height).at(-1)!,
      macs: headMacs(head, width, height),
      arenaBytes: map.arenaBytes,
      fits: map.arenaBytes <= board.memory.arenaBudgetBytes,
    };
  });
}

/** The deepest split point whose arena fits; refuses (exit 2) when none does, naming the smallest. */
export function chooseSplit(points: SplitPoint[], board: Board, width: number, height: number): SplitPoint {
  const fitting = points.filter((p) => p.fits);
  if (fitting.length) return fitting[fitting.length - 1];
  const smallest = [...points].sort((a, b) => a.arenaBytes - b.arenaBytes)[0];
  throw new TidepoolError(
    "arena-overflow",
    `no split point fits ${board.name} at ${width}x${height}: the smallest arena is split ${smallest.split} with ${smallest.arenaBytes} bytes, budget ${board.memory.arenaBudgetBytes} bytes`,
  );
}

/** Compressed split heads are trained on, and built for, the classifier's 224×224 view. */
export const COMPRESSED_FRAME = { width: 224, height: 224 } as const;

export interface CompressedSplitPoint extends SplitPoint {
  path: string;
}

/** Shipped compressed split heads (models/split-b<N>-compressed.tpm), shallowest first, planned for a board. */
export function compressedSplitPoints(board: Board, width: number, height: number, format: PixelFormat, dir = repoPath("models")): CompressedSplitPoint[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .map((f) => /^split-b(\d+)-compressed\.tpm$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  return files.map((m) => {
    const path = join(dir, m[0]);
    const head = readHeadModel(readFileSync(path), path);
    const unlimited = { ...board, memory: { ...board.memory, arenaBudgetBytes: Number.MAX_SAFE_INTEGER } };
    const map = planHeadArena({ head, board: unlimited, width, height, format, streamOutput: false });
    return {
      path,
      split: Number(m[1]),
      head,
      tensor: String(head.meta.splitTensor),
      shape: headShapes(head, width, height).at(-1)!,
      macs: headMacs(head, width, height),
      arenaBytes: map.arenaBytes,
      fits: map.arenaBytes <= board.memory.arenaBudgetBytes,
    };
  });
}
