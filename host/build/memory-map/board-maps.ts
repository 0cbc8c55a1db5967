// Builds every board with its default model and camera frame, and writes memory-maps/<board>.map
// (human-readable) and memory-maps/<board>.map.json, the committed record of each board's arena. When
// the task encoder is shipped (host/core/model-registry.ts), also memory-maps/<board>.task.map(.json):
// the same board and frame with models/task.tpm; when the fast encoder is shipped, memory-maps/<board>.fast.map(.json)
// with models/fast.tpm (models/fast-grey.tpm on GRAY8 cameras).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadBoards, type Board } from "../../core/boards.ts";
import { buildEncoder, loadDefaultModel } from "../build.ts";
import { repoPath } from "../../core/paths.ts";
import { mapToJson, renderMapText } from "./render.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { readModel } from "../../model/format.ts";
import { modelPathForFormat, shippedModel, shippedTaskModel } from "../../core/model-registry.ts";
import type { Model } from "../../core/model-types.ts";

export const MAPS_DIR = repoPath("memory-maps");

export interface BoardMapFiles {
  board: string;
  /** File name without extension: "k210" (default model) or "k210.task" (the task encoder). */
  file: string;
  /** The registered model name the map is for ("default" covers the grey model on GRAY8 boards, "fast" fast-grey). */
  modelName: string;
  text: string;
  json: string;
  arenaBytes: number;
  budget: number;
  moduleBytes: number;
}

export async function renderBoardMaps(): Promise<BoardMapFiles[]> {
  const out: BoardMapFiles[] = [];
  const task = shippedTaskModel();
  const taskModel = task ? readModel(readFileSync(task.model), task.model) : null;
  const fast = shippedModel("fast");
  for (const board of loadBoards()) {
    // Each board's default model for its camera's format (the grey model for GRAY8 cameras when shipped).
    out.push(await renderMap(board, loadDefaultModel(board.camera.format), "default", board.name, repoPath("build", board.name)));
    if (taskModel) out.push(await renderMap(board, taskModel, "task", `${board.name}.task`, repoPath("build", `${board.name}-task`)));
    if (fast) {
      const path = modelPathForFormat(fast.model, board.camera.format);
      out.push(await renderMap(board, readModel(readFileSync(path), path), "fast", `${board.name}.fast`, repoPath("build", `${board.name}-fast`)));
    }
  }
  return out;
}

async function renderMap(board: Board, model: Model, modelName: string, file: string, outDir: string): Promise<BoardMapFiles> {
  const r = await buildEncoder({ board, model, outDir });
  const extra = { moduleBytes: r.moduleBytes, staticDataBytes: r.staticDataBytes, memoryPages: r.memoryPages };
  return {
    board: board.name,
    file,
    modelName,
    text: renderMapText(r.map, extra),
    json: JSON.stringify({ model: model.meta.name ?? "unnamed", ...mapToJson(r.map, extra) }, null, 2) + "\n",
    arenaBytes: r.map.arenaBytes,
    budget: r.map.arenaBudgetBytes,
    moduleBytes: r.moduleBytes,
  };
}

export function writeBoardMaps(maps: BoardMapFiles[]) {
  for (const m of maps) {
    atomicWrite(join(MAPS_DIR, `${m.file}.map`), m.text);
    atomicWrite(join(MAPS_DIR, `${m.file}.map.json`), m.json);
  }
}

/** Names the maps ("k210", "k210.task") whose committed files differ from a fresh plan. */
export function staleBoardMaps(maps: BoardMapFiles[]): string[] {
  const read = (f: string) => {
    try {
      return readFileSync(join(MAPS_DIR, f), "utf8");
    } catch {
      return null;
    }
  };
  return maps.filter((m) => read(`${m.file}.map`) !== m.text || read(`${m.file}.map.json`) !== m.json).map((m) => m.file);
}
