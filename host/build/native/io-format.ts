// The two files the bare-metal harness (native/harness/main.c) reads and writes through semihosting:
// tp-in.bin (settings + frames) and tp-out.bin (latents, packets or JPEG files). docs/native.md.
import { FailureError } from "../../core/errors.ts";

export const IN_MAGIC = 0x314e5054; // "TPN1"
export const OUT_MAGIC = 0x314f5054; // "TPO1"
export const END_MAGIC = 0x31444e45; // "END1"
const HEADER_WORDS = 16;

export type NativeWorkload = "encoder" | "jpeg";

export interface NativeInput {
  workload: NativeWorkload;
  width: number;
  height: number;
  /** Pixel format code (docs/device-abi.md): 0 GRAY8, 1 RGB565, 2 RGB888. */
  format: number;
  frames: Uint8Array[];
  /** Encoder: packetize each latent into packets of this size (0: no packets). */
  packetBytes?: number;
  budgetBytes?: number;
  /** Leading latent channels to send (0: all). */
  channels?: number;
  /** Image id of the first frame (the next frames count up). */
  imageId?: number;
  /** JPEG quality 1..100. */
  quality?: number;
}

export function encodeInput(inp: NativeInput): Uint8Array {
  const frameBytes = inp.frames.reduce((n, f) => n + f.length, 0);
  const buf = new Uint8Array(HEADER_WORDS * 4 + frameBytes);
  const v = new DataView(buf.buffer);
  const words = [
    IN_MAGIC,
    inp.workload === "jpeg" ? 1 : 0,
    inp.width,
    inp.height,
    inp.format,
    inp.frames.length,
    inp.packetBytes ?? 0,
    inp.budgetBytes ?? 0x7fffffff,
    inp.channels ?? 0,
    inp.quality ?? 0,
    inp.imageId ?? 0,
  ];
  words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  let at = HEADER_WORDS * 4;
  for (const f of inp.frames) {
    buf.set(f, at);
    at += f.length;
  }
  return buf;
}

export interface NativeFrameResult {
  /** tp_push_row's last return (0) or a negative error code from tp_init / tp_push_row. */
  status: number;
  latent?: { width: number; height: number; channels: number; data: Uint8Array };
  /** tp_pk_begin's return, the packets, and tp_pk_next's final return (0, or a negative error). */
  packets?: { begin: number; packets: Uint8Array[]; end: number };
  /** JPEG file (JPEG harness). */
  jpeg?: Uint8Array;
}

class Reader {
  at = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
  ) {}
  u32(): number {
    if (this.at + 4 > this.b.length) throw new FailureError("native-output", `${this.what}: truncated at byte ${this.at} (the firmware stopped early)`);
    const v = this.b[this.at] | (this.b[this.at + 1] << 8) | (this.b[this.at + 2] << 16) | (this.b[this.at + 3] << 24);
    this.at += 4;
    return v >>> 0;
  }
  i32(): number {
    return this.u32() | 0;
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new FailureError("native-output", `${this.what}: truncated at byte ${this.at} (the firmware stopped early)`);
    const s = this.b.slice(this.at, this.at + n);
    this.at += n;
    return s;
  }
}

export function decodeOutput(bytes: Uint8Array, workload: NativeWorkload, withPackets: boolean, what = "tp-out.bin"): NativeFrameResult[] {
  const r = new Reader(bytes, what);
  if (r.u32() !== OUT_MAGIC) throw new FailureError("native-output", `${what}: not a Tidepool native output (magic)`);
  const version = r.u32();
  if (version !== 1) throw new FailureError("native-output", `${what}: version ${version}, expected 1`);
  const frames = r.u32();
  const out: NativeFrameResult[] = [];
  for (let f = 0; f < frames; f++) {
    const status = r.i32();
    if (status < 0) {
      out.push({ status });
      break;
    }
    if (workload === "jpeg") {
      out.push({ status, jpeg: r.bytes(r.u32()) });
      continue;
    }
    const width = r.u32(),
      height = r.u32(),
      channels = r.u32();
    const latent = { width, height, channels, data: r.bytes(r.u32()) };
    let packets: NativeFrameResult["packets"];
    if (withPackets) {
      const begin = r.i32();
      const list: Uint8Array[] = [];
      for (;;) {
        const n = r.u32();
        if (n === 0xffffffff) break;
        list.push(r.bytes(n));
      }
      packets = { begin, packets: list, end: r.i32() };
    }
    out.push({ status, latent, packets });
  }
  if (r.u32() !== END_MAGIC) throw new FailureError("native-output", `${what}: missing end marker`);
  return out;
}
