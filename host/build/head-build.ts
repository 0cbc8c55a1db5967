// Builds the split-head WASM for one board: plan the head's arena, compile assembly/head.ts (its own
// asconfig, asconfig.head.json, with the board's target), place plan + parameters at their offsets.
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { atomicWrite } from "../core/atomic-write.ts";
import { mapToJson, renderMapText } from "./memory-map/render.ts";
import { getBoard, type Board } from "../core/boards.ts";
import type { HeadModel } from "../core/head-types.ts";
import type { PixelFormat } from "../core/pixel-format.ts";
import { repoPath } from "../core/paths.ts";
import { appendDataSegment, dataSegments, memoryLimits } from "../core/wasm-binary.ts";
import { ascCompile, BuildError, PAGE } from "./build.ts";
import { planHeadArena, type HeadMemoryMap } from "./memory-map/head-planner.ts";

export interface HeadBuildOptions {
  board: string | Board;
  head: HeadModel;
  width?: number;
  height?: number;
  format?: PixelFormat;
  withNames?: boolean;
  streamOutput?: boolean;
}

export interface HeadBuildResult {
  board: Board;
  head: HeadModel;
  map: HeadMemoryMap;
  wasm: Uint8Array;
  memoryPages: number;
  staticDataBytes: number;
}

export async function buildHead(opts: HeadBuildOptions): Promise<HeadBuildResult> {
  const board = typeof opts.board === "string" ? getBoard(opts.board) : opts.board;
  const width = opts.width ?? board.camera.width,
    height = opts.height ?? board.camera.height,
    format = opts.format ?? board.camera.format;
  const map = planHeadArena({ head: opts.head, board, width, height, format, streamOutput: opts.streamOutput });
  const memoryBase = map.arenaBytes;
  const pages = Math.max(1, Math.ceil((memoryBase + 1024) / PAGE));
  const targets = JSON.parse(readFileSync(repoPath("asconfig.head.json"), "utf8")).targets;
  const compiled = await ascCompile([
    ...(opts.withNames ? ["--debug"] : []),
    "--config",
    "asconfig.head.json",
    "--target",
    board.name in targets ? board.name : "release",
    "--use",
    `TIDEPOOL_HEAD_PLAN_OFFSET=${map.planOffset}`,
    "--memoryBase",
    String(memoryBase),
    "--initialMemory",
    String(pages),
    "--maximumMemory",
    String(pages),
  ]);
  const wasm = appendDataSegment(compiled, map.initOffset, map.init);
  const limits = memoryLimits(wasm);
  if (!limits || limits.maximum !== pages) throw new BuildError(`split head module memory is ${JSON.stringify(limits)}, expected a fixed ${pages} page(s)`);
  let end = memoryBase;
  for (const seg of dataSegments(wasm)) if (seg.offset >= memoryBase) end = Math.max(end, seg.offset + seg.length);
  const staticDataBytes = end - memoryBase;
  if (end > board.memory.arenaBudgetBytes)
    throw new BuildError(
      `split head arena for ${board.name} does not fit: ${end} bytes with ${staticDataBytes} bytes of AssemblyScript static data, budget ${board.memory.arenaBudgetBytes}`,
    );
  return { board, head: opts.head, map, wasm, memoryPages: pages, staticDataBytes };
}

/** Writes the module, its memory map (text and JSON) and a report into `dir`; returns the paths. */
export function writeHeadBuild(r: HeadBuildResult, dir: string) {
  mkdirSync(dir, { recursive: true });
  const base = join(resolve(dir), `tidepool-${r.board.name}-split${r.head.meta.split ?? ""}`);
  const files = { wasm: `${base}.wasm`, map: `${base}.map`, mapJson: `${base}.map.json`, report: `${base}.report.json` };
  const extra = { moduleBytes: r.wasm.length, staticDataBytes: r.staticDataBytes, memoryPages: r.memoryPages };
  atomicWrite(files.wasm, r.wasm);
  atomicWrite(files.map, renderMapText(r.map, extra));
  atomicWrite(files.mapJson, `${JSON.stringify(mapToJson(r.map, extra), null, 2)}\n`);
  const report = {
    board: r.board.name,
    frame: `${r.map.width}x${r.map.height}`,
    format: r.map.format,
    model: r.head.meta.name ?? "split head",
    split: r.head.meta.split ?? null,
    splitTensor: r.head.meta.splitTensor ?? null,
    ringRows: r.map.ringRows,
    arenaBytes: r.map.arenaBytes,
    arenaBudgetBytes: r.map.arenaBudgetBytes,
    headroomBytes: r.map.headroomBytes,
    moduleBytes: r.wasm.length,
    ...files,
  };
  atomicWrite(files.report, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
