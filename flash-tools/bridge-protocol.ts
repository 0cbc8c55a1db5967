// The bridge's frame format, host side (docs/bridge-protocol.md). The board side is
// flash-tools/bridge/tidepool_bridge.py; both must agree byte for byte.
// Frame = COBS(b"TB" | version u8 | type u8 | seq u16 | length u16 | body | crc32 u32) + 0x00.
import { crc32 } from "../host/core/crc32.ts";
import { TidepoolError } from "../host/core/errors.ts";

export const BRIDGE_MAGIC = [0x54, 0x42]; // "TB"
export const BRIDGE_VERSION = 3;
export const MAX_BODY = 1024;

export const T = { INFO: 1, PUT_OPEN: 2, PUT_DATA: 3, PUT_CLOSE: 4, ENCODE: 5, ROW: 6, READ: 7, STATS: 8, EXIT: 9, PACKET: 10, MODEM: 11, POLICY: 12 } as const;
/** ENCODE's channels byte: 0 every channel, 1..C that many, this value: the module's adaptive policy chooses. */
export const CHANNELS_POLICY = 255;
export const R = { ACK: 0x80, INFO: 0x81, RESULT: 0x82, DATA: 0x84, STATS: 0x85, PACKET: 0x86, MODEM: 0x87, POLICY: 0x88, ERR: 0xee } as const;
/** What ENCODE returns: the raw latent (READ), the link packets (PACKET), or the packets also sent as LoRaWAN uplinks. */
export const ENCODE_OUTPUT = { latent: 0, packets: 1, uplink: 2 } as const;
export type EncodeOutput = keyof typeof ENCODE_OUTPUT;

export interface Frame {
  type: number;
  seq: number;
  body: Uint8Array;
}

export class FrameError extends TidepoolError {
  constructor(m: string) {
    super("bridge-frame", m);
  }
}

export function cobsEncode(data: Uint8Array): Uint8Array {
  const out: number[] = [0];
  let codeAt = 0,
    code = 1;
  for (const b of data) {
    if (b === 0) {
      out[codeAt] = code;
      codeAt = out.length;
      out.push(0);
      code = 1;
    } else {
      out.push(b);
      code++;
      if (code === 0xff) {
        out[codeAt] = code;
        codeAt = out.length;
        out.push(0);
        code = 1;
      }
    }
  }
  out[codeAt] = code;
  return Uint8Array.from(out);
}

export function cobsDecode(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < data.length) {
    const code = data[i];
    if (code === 0 || i + code > data.length) throw new FrameError(`bad COBS block at byte ${i}`);
    for (let k = i + 1; k < i + code; k++) out.push(data[k]);
    i += code;
    if (code < 0xff && i < data.length) out.push(0);
  }
  return Uint8Array.from(out);
}

export function encodeFrame(type: number, seq: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (body.length > MAX_BODY) throw new FrameError(`frame body of ${body.length} bytes exceeds ${MAX_BODY}`);
  const raw = new Uint8Array(12 + body.length);
  const dv = new DataView(raw.buffer);
  raw.set(BRIDGE_MAGIC, 0);
  dv.setUint8(2, BRIDGE_VERSION);
  dv.setUint8(3, type);
  dv.setUint16(4, seq & 0xffff, true);
  dv.setUint16(6, body.length, true);
  raw.set(body, 8);
  dv.setUint32(8 + body.length, crc32(raw, 0, 8 + body.length), true);
  const enc = cobsEncode(raw);
  const wire = new Uint8Array(enc.length + 1);
  wire.set(enc);
  return wire;
}

/** Parses one frame (without its 0x00 delimiter). Throws FrameError naming what is wrong. */
export function decodeFrame(wire: Uint8Array): Frame {
  const raw = cobsDecode(wire);
  if (raw.length < 12) throw new FrameError(`frame of ${raw.length} bytes is shorter than the 12-byte minimum`);
  if (raw[0] !== BRIDGE_MAGIC[0] || raw[1] !== BRIDGE_MAGIC[1]) throw new FrameError(`bad magic 0x${raw[0].toString(16)}${raw[1].toString(16)}`);
  const dv = new DataView(raw.buffer);
  if (raw[2] !== BRIDGE_VERSION) throw new FrameError(`unsupported bridge version ${raw[2]}`);
  const len = dv.getUint16(6, true);
  if (len !== raw.length - 12) throw new FrameError(`length field ${len} disagrees with frame size ${raw.length - 12}`);
  const crc = dv.getUint32(raw.length - 4, true);
  if (crc !== crc32(raw, 0, raw.length - 4)) throw new FrameError("CRC mismatch");
  return { type: raw[3], seq: dv.getUint16(4, true), body: raw.slice(8, 8 + len) };
}

/** Splits a byte stream at 0x00 delimiters; text before the first delimiter (REPL noise) is skipped. */
export class FrameSplitter {
  private buf: number[] = [];
  constructor(
    private onFrame: (f: Frame) => void,
    private onBad: (e: Error) => void = () => {},
  ) {}
  push(data: Uint8Array) {
    for (const b of data) {
      if (b !== 0) {
        if (this.buf.length < 4 * MAX_BODY) this.buf.push(b);
        continue;
      }
      if (this.buf.length === 0) continue;
      const wire = Uint8Array.from(this.buf);
      this.buf = [];
      try {
        this.onFrame(decodeFrame(wire));
      } catch (e) {
        this.onBad(e as Error);
      }
    }
  }
}
