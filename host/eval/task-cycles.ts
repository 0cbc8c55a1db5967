// Device cycles per image of each task route on each board: the route's module built for the board at
// the classifier's 224² view (RGB565 rows: a colour picture, since the server classifies colour), run
// on one frame through `tidepool profile`'s instrumented module and priced with the board's cost model
// for its default runtime (modelled). Where host/build/native can run the module (the picture encoder
// and the device JPEG on Cortex-M7, RV32, RV64), its executed instructions are also counted under QEMU
// (counted; instructions, not cycles). Both are cached: a frame's figures do not change between runs.
import { createHash } from "node:crypto";
import { getBoard, loadBoards, type Board } from "../core/boards.ts";
import type { RgbImage } from "../core/types.ts";
import { toFrame } from "../image/load.ts";
import { profileWorkload } from "../build/profile/profile.ts";
import type { RuntimeMode } from "../build/profile/cost-models.ts";
import { nativeProfile } from "../build/profile/native-profile.ts";
import { NATIVE_TARGETS, type NativeTargetName } from "../build/native/targets.ts";
import { encoderWorkload } from "../build/profile/encoder-workload.ts";
import { jpegWorkload } from "../build/profile/jpeg-workload.ts";
import type { TaskRoute } from "./task-route.ts";
import type { TaskCache } from "./task-cache.ts";

export interface RouteCycles {
  board: string;
  runtime: RuntimeMode;
  /** Modelled cycles for one 224² image under the board's default runtime; null: the route has no device implementation. */
  cycles: number | null;
  ms: number | null;
  /** Executed native instructions counted under QEMU for this board's ISA, where counted. */
  counted?: { target: NativeTargetName; instructions: number; bitExact: boolean };
}

function nativeTargetOf(board: string): NativeTargetName | null {
  for (const t of Object.values(NATIVE_TARGETS)) if (t.boards.includes(board)) return t.name;
  return null;
}

/** Cycles of one route on each board (all boards by default). `count`: also count under QEMU where possible. */
const shortHash = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex").slice(0, 16);

export async function routeCycles(
  route: TaskRoute,
  frameImage: RgbImage,
  o: { boards?: Board[]; cache?: TaskCache; count?: boolean; log?: (s: string) => void } = {},
): Promise<RouteCycles[]> {
  const boards = o.boards ?? loadBoards();
  const frame = toFrame(frameImage, "rgb565");
  const frameHash = createHash("sha256").update(frame).digest("hex").slice(0, 16);
  const out: RouteCycles[] = [];
  for (const b of boards) {
    // The arena budget is lifted: cycles do not depend on it, and whether a route fits a board's
    // memory is the build's question (`npm run bench -- split`, `tidepool build`), not this table's.
    const real = getBoard(b.name);
    const board: Board = { ...real, memory: { ...real.memory, totalBytes: 1 << 28, arenaBudgetBytes: 1 << 28 } };
    const runtime = board.runtime.default as RuntimeMode;
    if (!route.device) {
      out.push({ board: board.name, runtime, cycles: null, ms: null });
      continue;
    }
    // Keyed by the built module too: a kernel or compiler change gives new figures, never stale ones.
    const workload = await route.device.workload(board, frame);
    const base = { cycles: route.name, settings: route.settings, device: route.device.describe, board: board.name, runtime, frameHash, v: 2 };
    const key = JSON.stringify({ ...base, module: shortHash(workload.wasm) });
    let row = o.cache?.get<RouteCycles>(key, "modelled");
    if (!row) {
      o.log?.(`cycles: ${route.name} on ${board.name} (${runtime}, modelled)`);
      const p = await profileWorkload(workload, board, runtime);
      row = { board: board.name, runtime, cycles: p.cyclesPerFrame, ms: p.msPerFrame };
      o.cache?.put(key, "modelled", row);
    }
    const target = nativeTargetOf(board.name);
    if (o.count && target && route.device.native) {
      const input = await route.device.native(board);
      const nativeKey = JSON.stringify({ ...base, native: shortHash(input.encoder ? input.encoder.wasm : input.jpeg!.build.wasm) });
      let counted = o.cache?.get<RouteCycles["counted"]>(nativeKey, "counted");
      if (!counted) {
        o.log?.(`cycles: ${route.name} on ${board.name} (QEMU ${target}, counted)`);
        const aot = input.encoder ? encoderWorkload(input.encoder, [frame]) : jpegWorkload(input.jpeg!.build, [frame], 224, 224, "rgb565", input.jpeg!.quality);
        const modelled = await profileWorkload(aot, board, "aot");
        const np = await nativeProfile({
          ...input,
          target,
          boundsChecks: "off",
          frames: [frame],
          spec: { width: 224, height: 224, format: "rgb565" },
          modelled,
        });
        counted = { target, instructions: np.instructionsPerFrame, bitExact: np.bitExact };
        o.cache?.put(nativeKey, "counted", counted);
      }
      row = { ...row, counted };
    }
    out.push(row);
  }
  return out;
}
