// The split head as a profiling workload: frames pushed row by row, split-tensor rows read as released.
import type { HeadBuildResult } from "../head-build.ts";
import { pushFrame, type Workload } from "./profile.ts";

export function headWorkload(built: HeadBuildResult, frames: Uint8Array[]): Workload {
  const { width, height, format } = built.map;
  return {
    name: "split-head",
    wasm: built.wasm,
    initEnd: built.map.initOffset + built.map.init.length,
    arenaEnd: built.map.arenaBytes,
    pixels: width * height,
    frames: frames.length,
    run(ex, i) {
      pushFrame(ex, frames[i], width, height, format);
      return ex.tp_output_width() * ex.tp_output_height() * ex.tp_output_channels();
    },
  };
}
