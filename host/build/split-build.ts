// `tidepool build --split N|auto` and `--model HEAD.tpm`: builds a split-computing head for a board.
import { getBoard } from "../core/boards.ts";
import type { HeadModel } from "../core/head-types.ts";
import type { PixelFormat } from "../core/pixel-format.ts";
import { readInputFile } from "../core/input-file.ts";
import { isHeadModelFile, readHeadModel } from "../model/head-format.ts";
import { headAtSplit } from "../model/import/onnx-import.ts";
import { TidepoolError } from "../core/errors.ts";
import { buildHead, writeHeadBuild } from "./head-build.ts";
import { chooseSplit, importAllSplits, splitPoints, DEFAULT_SPLIT_ONNX, compressedSplitPoints, COMPRESSED_FRAME } from "./split-choice.ts";

export function isHeadModelPath(path: string): boolean {
  return isHeadModelFile(readInputFile(path, "model file"));
}

export interface SplitBuildOptions {
  board: string;
  split?: string;
  onnx?: string;
  modelPath?: string;
  width?: number;
  height?: number;
  format?: PixelFormat;
  outDir: string;
  wholeOutput?: boolean;
}

export async function buildSplitHead(o: SplitBuildOptions) {
  const board = getBoard(o.board);
  let width = o.width ?? board.camera.width,
    height = o.height ?? board.camera.height;
  const format = o.format ?? board.camera.format;
  let head: HeadModel | undefined,
    rule: string | null = null;
  if (o.modelPath && o.split === undefined) head = readHeadModel(readInputFile(o.modelPath, "model file"), o.modelPath);
  else if (o.split === "auto" && !o.onnx) {
    // The shipped compressed heads first (the only split route that fits a link budget), at the
    // classifier's 224² view they were trained on unless a frame is given.
    const fw = o.width ?? COMPRESSED_FRAME.width,
      fh = o.height ?? COMPRESSED_FRAME.height;
    const points = compressedSplitPoints(board, fw, fh, format);
    const fitting = points.filter((p) => p.fits);
    if (fitting.length) {
      const chosen = fitting[fitting.length - 1];
      head = chosen.head;
      width = fw;
      height = fh;
      rule = `auto: deepest of ${fitting.length} fitting compressed split heads (${chosen.arenaBytes} of ${board.memory.arenaBudgetBytes} bytes, ${chosen.path})`;
    }
  }
  if (head?.compressor && o.width === undefined) {
    width = COMPRESSED_FRAME.width;
    height = COMPRESSED_FRAME.height;
  }
  if (!head) {
    if (o.modelPath) throw new TidepoolError("usage", "a split head comes either from a model file or from an ONNX model with a split point, not both");
    const all = importAllSplits(o.onnx ?? DEFAULT_SPLIT_ONNX);
    if (o.split === "auto") {
      const points = splitPoints(all, board, width, height, format);
      const chosen = chooseSplit(points, board, width, height);
      head = chosen.head;
      rule = `auto: deepest of ${points.filter((p) => p.fits).length} fitting split points (${chosen.arenaBytes} of ${board.memory.arenaBudgetBytes} bytes)`;
    } else {
      const n = Number(o.split);
      if (n >= all.splitPoints.length) throw new TidepoolError("usage", `split ${n} outside 0..${all.splitPoints.length - 1}`);
      head = headAtSplit(all, n);
    }
  }
  // A compressed head keeps its latent whole: the packetizer reads it after the last row.
  const built = await buildHead({ board, head, width, height, format, streamOutput: !o.wholeOutput && !head.compressor });
  return { ...writeHeadBuild(built, o.outDir), rule };
}
