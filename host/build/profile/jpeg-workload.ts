// The on-device baseline JPEG as a profiling workload, on the same row interface as the encoder.
import type { JpegBuild, JpegExports } from "../jpeg/device-jpeg.ts";
import { runJpeg } from "../jpeg/device-jpeg.ts";
import type { PixelFormat } from "../../core/pixel-format.ts";
import type { Workload } from "./profile.ts";

export function jpegWorkload(build: JpegBuild, frames: Uint8Array[], width: number, height: number, format: PixelFormat, quality: number): Workload {
  // Nothing in the arena is initialised; the constant tables are static data after it.
  return {
    name: `jpeg-q${quality}`,
    wasm: build.wasm,
    initEnd: 16,
    arenaEnd: build.arenaEnd,
    pixels: width * height,
    frames: frames.length,
    run: (ex, i) => runJpeg(ex as unknown as JpegExports, frames[i], width, height, format, quality).length,
  };
}
