// Builds every board with its default model and camera frame, and writes memory-maps/<board>.map
// (human-readable) and memory-maps/<board>.map.json, the committed record of each board's arena.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadBoards } from "../../core/boards.ts";
import { buildEncoder, loadDefaultModel } from "../build.ts";
import { repoPath } from "../../core/paths.ts";
import { mapToJson, renderMapText } from "./render.ts";
import { atomicWrite } from "../../core/atomic-write.ts";

export const MAPS_DIR = repoPath("memory-maps");

export interface BoardMapFiles {
  board: string;
  text: string;
  json: string;
  arenaBytes: number;
  budget: number;
  moduleBytes: number;
}

export async function renderBoardMaps(): Promise<BoardMapFiles[]> {
  const out: BoardMapFiles[] = [];
  for (const board of loadBoards()) {
    // Each board's default model for its camera's format (the grey model for GRAY8 cameras when shipped).
    const model = loadDefaultModel(board.camera.format);
    const r = await buildEncoder({ board, model, outDir: repoPath("build", board.name) });
    const extra = { moduleBytes: r.moduleBytes, staticDataBytes: r.staticDataBytes, memoryPages: r.memoryPages };
    out.push({
      board: board.name,
      text: renderMapText(r.map, extra),
      json: JSON.stringify({ model: model.meta.name ?? "unnamed", ...mapToJson(r.map, extra) }, null, 2) + "\n",
      arenaBytes: r.map.arenaBytes,
      budget: r.map.arenaBudgetBytes,
      moduleBytes: r.moduleBytes,
    });
  }
  return out;
}

export function writeBoardMaps(maps: BoardMapFiles[]) {
  for (const m of maps) {
    atomicWrite(join(MAPS_DIR, `${m.board}.map`), m.text);
    atomicWrite(join(MAPS_DIR, `${m.board}.map.json`), m.json);
  }
}

/** Names the boards whose committed map differs from a fresh plan. */
export function staleBoardMaps(maps: BoardMapFiles[]): string[] {
  const read = (f: string) => {
    try {
      return readFileSync(join(MAPS_DIR, f), "utf8");
    } catch {
      return null;
    }
  };
  return maps.filter((m) => read(`${m.board}.map`) !== m.text || read(`${m.board}.map.json`) !== m.json).map((m) => m.board);
}
