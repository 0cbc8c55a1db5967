// The on-device baseline JPEG encoder (assembly/jpeg/encoder.ts): build and drive it in Node.
import { ascCompile } from "../build.ts";
import { BYTES_PER_PIXEL, FORMAT_CODE, type PixelFormat } from "../../core/pixel-format.ts";

export interface JpegBuild {
  wasm: Uint8Array;
  maxWidth: number;
  outBytes: number;
  arenaEnd: number;
  pages: number;
}

/** Mirrors the offsets in assembly/jpeg/encoder.ts (the module exports ARENA_END; a test checks they agree). */
export function jpegArenaEnd(maxWidth: number, outBytes: number): number {
  const pw = (maxWidth + 15) & ~15;
  const yStripe = 16 + ((maxWidth * 3 + 15) & ~15);
  return yStripe + 3 * 16 * pw + 256 + 512 + 4096 + outBytes;
}

export async function buildDeviceJpeg(maxWidth: number, outBytes = 32 * 1024, withNames = false): Promise<JpegBuild> {
  const arenaEnd = jpegArenaEnd(maxWidth, outBytes);
  const memoryBase = (arenaEnd + 15) & ~15;
  const pages = Math.ceil((memoryBase + 2048) / 65536);
  const wasm = await ascCompile([
    "assembly/jpeg/encoder.ts",
    "--config",
    "assembly/jpeg/asconfig.json",
    ...(withNames ? ["--debug"] : []),
    "--use",
    `JPEG_MAX_WIDTH=${maxWidth}`,
    "--use",
    `JPEG_OUT_BYTES=${outBytes}`,
    "--memoryBase",
    String(memoryBase),
    "--initialMemory",
    String(pages),
    "--maximumMemory",
    String(pages),
  ]);
  return { wasm, maxWidth, outBytes, arenaEnd, pages };
}

export interface JpegExports {
  memory: WebAssembly.Memory;
  ARENA_END: WebAssembly.Global;
  tp_init(w: number, h: number, f: number, q: number): number;
  tp_row_ptr(): number;
  tp_push_row(): number;
  tp_ready(): number;
  tp_output_ptr(): number;
  tp_output_len(): number;
}

const ERRORS: Record<number, string> = {
  [-2]: "unknown pixel format",
  [-3]: "frame wider than built for",
  [-5]: "push before init",
  [-6]: "more rows than the frame",
  [-7]: "output buffer full",
  [-8]: "quality outside 1..100",
};

/** Runs one frame through the module's exports; returns the JPEG file. */
export function runJpeg(ex: JpegExports, frame: Uint8Array, width: number, height: number, format: PixelFormat, quality: number): Uint8Array {
  const check = (rc: number, what: string) => {
    if (rc < 0) throw new Error(`device JPEG ${what}: ${ERRORS[rc] ?? rc}`);
  };
  check(ex.tp_init(width, height, FORMAT_CODE[format], quality), "init");
  const rowBytes = width * BYTES_PER_PIXEL[format];
  const ptr = ex.tp_row_ptr();
  for (let y = 0; y < height; y++) {
    new Uint8Array(ex.memory.buffer).set(frame.subarray(y * rowBytes, (y + 1) * rowBytes), ptr);
    check(ex.tp_push_row(), `row ${y}`);
  }
  return new Uint8Array(ex.memory.buffer, ex.tp_output_ptr(), ex.tp_output_len()).slice();
}

export async function loadDeviceJpeg(build: JpegBuild): Promise<JpegExports> {
  const inst = await WebAssembly.instantiate(await WebAssembly.compile(build.wasm as Uint8Array<ArrayBuffer>), {
    env: {
      abort: () => {
        throw new Error("device JPEG aborted");
      },
    },
  });
  return inst.exports as unknown as JpegExports;
}
