// The split head as a profiling workload: frames pushed row by row, split-tensor rows read as released.
import type { HeadBuildResult } from "../head-build.ts";
import { BYTES_PER_PIXEL, FORMAT_CODE } from "../../core/pixel-format.ts";
import type { Workload } from "./profile.ts";

export function headWorkload(built: HeadBuildResult, frames: Uint8Array[]): Workload {
  const { width, height, format } = built.map;
  const rowBytes = width * BYTES_PER_PIXEL[format];
  return {
    name: "split-head",
    wasm: built.wasm,
    initEnd: built.map.initOffset + built.map.init.length,
    arenaEnd: built.map.arenaBytes,
    pixels: width * height,
    frames: frames.length,
    run(ex, i) {
      if (ex.tp_init(width, height, FORMAT_CODE[format]) < 0) throw new Error("tp_init failed");
      const mem = new Uint8Array(ex.memory.buffer);
      const ptr = ex.tp_row_ptr();
      for (let y = 0; y < height; y++) {
        mem.set(frames[i].subarray(y * rowBytes, (y + 1) * rowBytes), ptr);
        if (ex.tp_push_row() < 0) throw new Error("tp_push_row failed");
      }
      return ex.tp_output_width() * ex.tp_output_height() * ex.tp_output_channels();
    },
  };
}
