// Loads a built encoder module in Node under the board's memory limit and drives its row ABI.
import type { Board } from "../../core/boards.ts";
import { BYTES_PER_PIXEL, FORMAT_CODE, type PixelFormat } from "../../core/pixel-format.ts";
import { memoryLimits } from "../../core/wasm-binary.ts";
import type { Latent } from "../../core/types.ts";
import { describeDeviceStatus } from "../../core/device-status.ts";
import { TidepoolError, EXIT_FAILURE } from "../../core/errors.ts";

export interface EncoderExports {
  memory: WebAssembly.Memory;
  tp_abi_version(): number;
  tp_init(w: number, h: number, f: number): number;
  tp_row_ptr(): number;
  tp_push_row(): number;
  tp_ready(): number;
  tp_latent_ptr(): number;
  tp_latent_len(): number;
  tp_latent_width(): number;
  tp_latent_height(): number;
  tp_latent_channels(): number;
  tp_max_width(): number;
  tp_max_height(): number;
}

export class EncoderRuntimeError extends TidepoolError {
  constructor(m: string) {
    super("encoder-runtime", m, EXIT_FAILURE);
  }
}

export class EncoderInstance {
  private constructor(
    readonly exports: EncoderExports,
    readonly memoryBytes: number,
  ) {}

  /** Instantiates; refuses modules whose linear memory exceeds the board's arena budget (rounded up to pages). */
  static async load(wasm: Uint8Array, board?: Board): Promise<EncoderInstance> {
    const limits = memoryLimits(wasm);
    if (!limits) throw new EncoderRuntimeError("module defines no memory");
    if (limits.maximum === null) throw new EncoderRuntimeError("module memory has no maximum: it could grow past the board's RAM");
    const bytes = limits.maximum * 65536;
    if (board) {
      const allowed = Math.max(1, Math.ceil(board.memory.arenaBudgetBytes / 65536)) * 65536;
      if (bytes > allowed)
        throw new EncoderRuntimeError(
          `module needs ${bytes} bytes of linear memory; board ${board.name} allows ${board.memory.arenaBudgetBytes} (${allowed} in whole pages)`,
        );
    }
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>), {
      env: {
        abort: (_m: number, _f: number, line: number, col: number) => {
          throw new EncoderRuntimeError(`encoder aborted at ${line}:${col}`);
        },
      },
    });
    return new EncoderInstance(instance.exports as unknown as EncoderExports, bytes);
  }

  private check(code: number, what: string) {
    if (code < 0) throw new EncoderRuntimeError(`${what} failed: ${describeDeviceStatus(code)}`);
    return code;
  }

  init(width: number, height: number, format: PixelFormat) {
    this.check(this.exports.tp_init(width, height, FORMAT_CODE[format]), `tp_init(${width}, ${height}, ${format})`);
  }

  pushRow(row: Uint8Array): number {
    new Uint8Array(this.exports.memory.buffer, this.exports.tp_row_ptr(), row.length).set(row);
    return this.check(this.exports.tp_push_row(), "tp_push_row");
  }

  latent(): Latent {
    const e = this.exports;
    if (!e.tp_ready()) throw new EncoderRuntimeError("latent requested before the last row was pushed");
    const data = new Uint8Array(e.memory.buffer, e.tp_latent_ptr(), e.tp_latent_len()).slice();
    return { width: e.tp_latent_width(), height: e.tp_latent_height(), channels: e.tp_latent_channels(), data };
  }

  /** Streams a packed frame row by row and returns the latent. */
  encode(frame: Uint8Array, width: number, height: number, format: PixelFormat): Latent {
    const rowBytes = width * BYTES_PER_PIXEL[format];
    if (frame.length !== rowBytes * height)
      throw new EncoderRuntimeError(`frame has ${frame.length} bytes, expected ${width}x${height} ${format} = ${rowBytes * height}`);
    this.init(width, height, format);
    for (let y = 0; y < height; y++) this.pushRow(frame.subarray(y * rowBytes, (y + 1) * rowBytes));
    return this.latent();
  }
}
