// Host side of the bridge: starts it over the raw REPL, then speaks frames (bridge-protocol.ts).
import { createHash } from "node:crypto";
import type { SerialLink } from "./serial-link.ts";
import type { RawRepl } from "./raw-repl.ts";
import { crc32 } from "../host/core/crc32.ts";
import { CHANNELS_POLICY, encodeFrame, ENCODE_OUTPUT, FrameSplitter, MAX_BODY, R, T, type EncodeOutput, type Frame } from "./bridge-protocol.ts";
import { FORMAT_CODE, BYTES_PER_PIXEL, type PixelFormat } from "../host/core/pixel-format.ts";
import type { Latent } from "../host/core/types.ts";
import { TidepoolError, EXIT_FAILURE } from "../host/core/errors.ts";

export class BridgeError extends TidepoolError {
  constructor(m: string) {
    super("bridge", m, EXIT_FAILURE);
  }
}

export interface BoardEncodeOptions {
  /** "packets" (default): the link packets; "latent": the raw latent symbols; "uplink": packets, each also sent by the board's LoRaWAN modem. */
  output?: EncodeOutput;
  module?: string;
  imageId?: number;
  /** Packet size limit, 12..255 (default 222: LoRaWAN EU868 SF7). */
  packetBytes?: number;
  /** Total bytes of packets for this image (default: unlimited). */
  budgetBytes?: number;
  /** Leading channels to send (default: all); "policy": the module's adaptive policy chooses, and with the
   *  board's reference probability the image goes as a reference upload (every channel) instead. */
  channels?: number | "policy";
  /** Reply timeout for the encode itself (an uplink run waits out the duty cycle on a real board). */
  timeoutMs?: number;
}

export interface BoardEncodeResult {
  latentShape: { width: number; height: number; channels: number };
  /** Present with output "latent". */
  latent?: Latent;
  /** The link packets the board made (output "packets" or "uplink"). */
  packets: Uint8Array[];
  bytes: number;
  symbols: number;
  complete: boolean;
  encodeUs: number;
  packetizeUs: number;
  uplinks: number;
  uplinkWaitMs: number;
  /** The level the module's policy chose (channels "policy"), else 0. */
  level: number;
  /** Sent as a reference upload: every channel, on the modem's reference port. */
  reference: boolean;
}

/** The adaptive policy as it sits in the board's loaded module (the POLICY reply). */
export interface BoardPolicy {
  /** The section's policy id (CRC-32 of its body), as written in its header. */
  policyId: number;
  /** CRC-32 (IEEE) of the section's bytes as they are in the module's memory: equal to crc32(payload) when installed. */
  crc: number;
  bytes: number;
  /** Reference uploads per policy-chosen image, 0..1 (the board keeps it in 1/65535). */
  referenceProbability: number;
  /** tp_policy_check of the installed section (0: accepted). */
  check: number;
}

export interface ModemInfo {
  type: string;
  dev_eui: string;
  joined: boolean;
  max_payload: number;
  port: number;
  reference_port: number;
}

export class BridgeClient {
  private seq = 1;
  private pending: { seq: number; resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  private unsubscribe: () => void;
  badFrames = 0;

  private constructor(
    readonly link: SerialLink,
    readonly timeoutMs: number,
  ) {
    const splitter = new FrameSplitter(
      (f) => this.onFrame(f),
      () => {
        this.badFrames++;
      },
    );
    this.unsubscribe = link.onData((d) => splitter.push(d));
    link.port.once("close", () => {
      const p = this.pending;
      this.pending = null;
      p?.reject(new BridgeError(`serial port ${link.path} closed`));
    });
  }

  /** Imports and starts the bridge on a board whose raw REPL is entered. */
  static async start(repl: RawRepl, board: string, timeoutMs = 30_000): Promise<BridgeClient> {
    await repl.execNoFollow(`import sys\nsys.path.insert(0, 'tidepool')\nimport tidepool_bridge\ntidepool_bridge.serve(${JSON.stringify(board)})\n`);
    repl.link.drain();
    const client = new BridgeClient(repl.link, timeoutMs);
    await client.info(); // proves the bridge answers
    return client;
  }

  private onFrame(f: Frame) {
    const p = this.pending;
    if (!p || f.seq !== p.seq) return; // stale reply (e.g. after a timeout): ignored
    this.pending = null;
    if (f.type === R.ERR) p.reject(new BridgeError(`board: ${new TextDecoder().decode(f.body)}`));
    else p.resolve(f);
  }

  request(type: number, body: Uint8Array = new Uint8Array(0), what = `request ${type}`, timeoutMs = this.timeoutMs): Promise<Frame> {
    const seq = (this.seq = (this.seq + 1) & 0xffff || 1);
    this.link.discardThroughLast(0); // frames already handled by the splitter
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(new BridgeError(`${what}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        seq,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.link.write(encodeFrame(type, seq, body)).catch((e) => {
        clearTimeout(timer);
        this.pending = null;
        reject(e);
      });
    });
  }

  async info(): Promise<Record<string, unknown>> {
    const f = await this.request(T.INFO, undefined, "bridge INFO");
    return JSON.parse(new TextDecoder().decode(f.body));
  }

  async stats(): Promise<Record<string, number>> {
    const f = await this.request(T.STATS, undefined, "bridge STATS");
    return JSON.parse(new TextDecoder().decode(f.body));
  }

  /**
   * Uploads to a temporary name, the board verifies size and sha256, then renames over `name`:
   * an interrupted upload never replaces a good file. Returns false when already up to date.
   */
  async putFile(name: string, data: Uint8Array, onProgress?: (sent: number) => void): Promise<boolean> {
    const digest = createHash("sha256").update(data).digest();
    const nameBytes = new TextEncoder().encode(name);
    const open = new Uint8Array(36 + nameBytes.length);
    new DataView(open.buffer).setUint32(0, data.length, true);
    open.set(digest, 4);
    open.set(nameBytes, 36);
    const r = await this.request(T.PUT_OPEN, open, `PUT_OPEN ${name}`);
    if (r.body[0] === 1) return false;
    const chunk = MAX_BODY - 4;
    for (let off = 0; off < data.length; off += chunk) {
      const part = data.subarray(off, off + chunk);
      const body = new Uint8Array(4 + part.length);
      new DataView(body.buffer).setUint32(0, off, true);
      body.set(part, 4);
      await this.request(T.PUT_DATA, body, `PUT_DATA ${name} @${off}`);
      onProgress?.(off + part.length);
    }
    await this.request(T.PUT_CLOSE, undefined, `PUT_CLOSE ${name}`);
    return true;
  }

  /**
   * Encodes a frame on the board: rows sent from the host, or (frame = null) captured by its camera.
   * The board runs its packetizer and returns the link packets; the raw latent only with output "latent".
   */
  async encode(
    width: number,
    height: number,
    format: PixelFormat,
    frame: Uint8Array | null,
    opts: BoardEncodeOptions | string = {},
  ): Promise<BoardEncodeResult> {
    const o = typeof opts === "string" ? { module: opts } : opts;
    const output = o.output ?? "packets";
    const name = new TextEncoder().encode(o.module ?? "encoder.wasm");
    const head = new Uint8Array(14 + name.length);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, width, true);
    dv.setUint16(2, height, true);
    head[4] = FORMAT_CODE[format];
    head[5] = frame ? 0 : 1;
    head[6] = ENCODE_OUTPUT[output];
    head[7] = (o.imageId ?? 0) & 0xff;
    head[8] = o.packetBytes ?? 222;
    head[9] = o.channels === "policy" ? CHANNELS_POLICY : (o.channels ?? 0);
    dv.setUint32(10, o.budgetBytes ?? 0, true);
    head.set(name, 14);
    const timeout = o.timeoutMs ?? this.timeoutMs;
    let result = await this.request(T.ENCODE, head, "ENCODE", frame ? this.timeoutMs : timeout);
    if (frame) {
      const rowBytes = width * BYTES_PER_PIXEL[format];
      if (rowBytes > MAX_BODY) throw new BridgeError(`rows of ${rowBytes} bytes exceed the ${MAX_BODY}-byte frame body`);
      if (frame.length !== rowBytes * height) throw new BridgeError(`frame has ${frame.length} bytes, expected ${rowBytes * height}`);
      for (let y = 0; y < height; y++)
        result = await this.request(T.ROW, frame.subarray(y * rowBytes, (y + 1) * rowBytes), `ROW ${y}`, y === height - 1 ? timeout : this.timeoutMs);
    }
    if (result.type !== R.RESULT) throw new BridgeError(`expected RESULT after the last row, got frame type 0x${result.type.toString(16)}`);
    if (result.body.length < 37) throw new BridgeError(`RESULT of ${result.body.length} bytes, expected 37 (a bridge of another version?)`);
    const rv = new DataView(result.body.buffer, result.body.byteOffset);
    const latentShape = { width: rv.getUint16(0, true), height: rv.getUint16(2, true), channels: rv.getUint16(4, true) };
    const len = rv.getUint32(6, true);
    const r: BoardEncodeResult = {
      latentShape,
      packets: [],
      encodeUs: rv.getUint32(10, true),
      bytes: rv.getUint32(16, true),
      symbols: rv.getUint32(20, true),
      complete: rv.getUint8(24) === 1,
      packetizeUs: rv.getUint32(25, true),
      uplinks: rv.getUint16(29, true),
      uplinkWaitMs: rv.getUint32(31, true),
      level: rv.getUint8(35),
      reference: rv.getUint8(36) === 1,
    };
    const count = rv.getUint16(14, true);
    for (let i = 0; i < count; i++) {
      const req = new Uint8Array(2);
      new DataView(req.buffer).setUint16(0, i, true);
      r.packets.push((await this.request(T.PACKET, req, `PACKET ${i}`)).body);
    }
    if (output === "latent") {
      const data = new Uint8Array(len);
      for (let off = 0; off < len; off += MAX_BODY) {
        const req = new Uint8Array(6);
        new DataView(req.buffer).setUint32(0, off, true);
        new DataView(req.buffer).setUint16(4, Math.min(MAX_BODY, len - off), true);
        const d = await this.request(T.READ, req, `READ latent @${off}`);
        data.set(d.body, off);
      }
      r.latent = { ...latentShape, data };
    }
    return r;
  }

  /** Sets up and joins the board's LoRaWAN modem (OTAA); its DevEUI and payload limit. */
  async modem(timeoutMs = 120_000): Promise<ModemInfo> {
    const f = await this.request(T.MODEM, undefined, "MODEM", timeoutMs);
    return JSON.parse(new TextDecoder().decode(f.body));
  }

  /**
   * Sets the board's reference probability and, with `install`, installs a new PLCY section: uploaded
   * (sha256-checked) as a file, written into the loaded module, checked by it (length, CRC, tables id,
   * shape; refused: the old one stays), then kept as tidepool/policy.plcy and applied to every later load
   * of a module. Returns the policy the module now runs.
   */
  async policy(o: { referenceProbability: number; install?: Uint8Array; module?: string }): Promise<BoardPolicy> {
    if (!(o.referenceProbability >= 0 && o.referenceProbability <= 1)) throw new BridgeError(`reference probability ${o.referenceProbability} is outside 0..1`);
    const staged = "policy-new.plcy";
    if (o.install) await this.putFile(staged, o.install);
    const module = new TextEncoder().encode(o.module ?? "encoder.wasm"),
      file = new TextEncoder().encode(o.install ? staged : "");
    const body = new Uint8Array(3 + module.length + file.length);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, Math.round(o.referenceProbability * 0xffff), true);
    body[2] = module.length;
    body.set(module, 3);
    body.set(file, 3 + module.length);
    const f = await this.request(T.POLICY, body, "POLICY");
    if (f.type !== R.POLICY || f.body.length < 16)
      throw new BridgeError(`expected a 16-byte POLICY reply, got type 0x${f.type.toString(16)} of ${f.body.length} bytes`);
    const rv = new DataView(f.body.buffer, f.body.byteOffset);
    const r: BoardPolicy = {
      policyId: rv.getUint32(0, true),
      crc: rv.getUint32(4, true),
      bytes: rv.getUint32(8, true),
      referenceProbability: rv.getUint16(12, true) / 0xffff,
      check: rv.getInt16(14, true),
    };
    if (o.install && r.crc !== crc32(o.install)) throw new BridgeError(`the board runs policy ${r.policyId.toString(16)}, not the one installed`);
    return r;
  }

  /** Leaves the bridge; the board returns to its raw REPL prompt. */
  async exit(repl: RawRepl) {
    await this.request(T.EXIT, undefined, "EXIT");
    this.unsubscribe();
    this.link.discardThroughLast(0);
    await repl.follow(); // the end of the serve() exec: \x04 \x04 then the prompt
  }

  detach() {
    this.unsubscribe();
  }
}
