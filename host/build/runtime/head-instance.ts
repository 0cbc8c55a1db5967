// Loads a built split-head module in Node under the board's memory limit and drives its row ABI.
import type { Board } from "../../core/boards.ts";
import { BYTES_PER_PIXEL, FORMAT_CODE, type PixelFormat } from "../../core/pixel-format.ts";
import { memoryLimits } from "../../core/wasm-binary.ts";
import { describeDeviceStatus } from "../../core/device-status.ts";
import { EncoderRuntimeError } from "./encoder-instance.ts";

export interface HeadExports {
  memory: WebAssembly.Memory;
  tp_abi_version(): number;
  tp_init(w: number, h: number, f: number): number;
  tp_row_ptr(): number;
  tp_push_row(): number;
  tp_ready(): number;
  tp_output_ptr(): number;
  tp_output_len(): number;
  tp_output_width(): number;
  tp_output_height(): number;
  tp_output_channels(): number;
  tp_output_rows(): number;
  tp_output_row_ptr(r: number): number;
}

/** The split tensor: uint8, pixel-interleaved [y][x][c]. */
export interface SplitTensor {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export class HeadInstance {
  private constructor(readonly exports: HeadExports) {}

  static async load(wasm: Uint8Array, board?: Board): Promise<HeadInstance> {
    const limits = memoryLimits(wasm);
    if (!limits || limits.maximum === null) throw new EncoderRuntimeError("split head module has no fixed memory");
    if (board && limits.maximum * 65536 > Math.max(1, Math.ceil(board.memory.arenaBudgetBytes / 65536)) * 65536)
      throw new EncoderRuntimeError(
        `split head module needs ${limits.maximum * 65536} bytes of linear memory; board ${board.name} allows ${board.memory.arenaBudgetBytes}`,
      );
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>), {
      env: {
        abort: () => {
          throw new EncoderRuntimeError("split head aborted");
        },
      },
    });
    return new HeadInstance(instance.exports as unknown as HeadExports);
  }

  private check(code: number, what: string) {
    if (code < 0) throw new EncoderRuntimeError(`${what} failed: ${describeDeviceStatus(code)}`);
    return code;
  }

  /**
   * Streams a packed frame row by row and returns the split tensor, collecting its rows as they are
   * released after each camera row (so it works whether the build kept the tensor whole or streamed).
   */
  run(frame: Uint8Array, width: number, height: number, format: PixelFormat): SplitTensor {
    const e = this.exports,
      rowBytes = width * BYTES_PER_PIXEL[format];
    if (frame.length !== rowBytes * height)
      throw new EncoderRuntimeError(`frame has ${frame.length} bytes, expected ${width}x${height} ${format} = ${rowBytes * height}`);
    this.check(e.tp_init(width, height, FORMAT_CODE[format]), `tp_init(${width}, ${height}, ${format})`);
    const out = { width: e.tp_output_width(), height: e.tp_output_height(), channels: e.tp_output_channels() };
    const stride = out.width * out.channels,
      data = new Uint8Array(stride * out.height);
    let read = 0;
    for (let y = 0; y < height; y++) {
      new Uint8Array(e.memory.buffer, e.tp_row_ptr(), rowBytes).set(frame.subarray(y * rowBytes, (y + 1) * rowBytes));
      this.check(e.tp_push_row(), "tp_push_row");
      for (const done = e.tp_output_rows(); read < done; read++) data.set(new Uint8Array(e.memory.buffer, e.tp_output_row_ptr(read), stride), read * stride);
    }
    if (!e.tp_ready()) throw new EncoderRuntimeError("split tensor not complete after the last row");
    return { ...out, data };
  }
}
