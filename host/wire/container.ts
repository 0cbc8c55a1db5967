// The Tidepool packet container (docs/bitstream.md §Container): the link packets of one image in a
// file, with what a receiver needs to decode them and nothing it could get wrong: which model and
// tables coded them, the frame size to crop to, and each packet with its length. `tidepool encode -o`
// writes it, `tidepool decode` reads it. The header has its own CRC-32; each packet keeps its CRC,
// so a damaged packet is dropped and reported by the packet decoder while the rest still decode.
import { createHash } from "node:crypto";
import { crc32 } from "../core/crc32.ts";
import { TidepoolError } from "../core/errors.ts";
import { PIXEL_FORMATS, type PixelFormat } from "../core/pixel-format.ts";
import type { Model } from "../core/model-types.ts";
import { writeModel } from "../model/format.ts";
import { MAX_PACKET_BYTES, SHORTEST_ANY_PACKET_BYTES } from "./bitstream/packet-format.ts";

export const CONTAINER_MAGIC = "TPIC";
export const CONTAINER_VERSION = 1;
/** Fixed header bytes before the board name. */
export const CONTAINER_FIXED_BYTES = 27;
export const MAX_BOARD_NAME = 32;
/** A Tidepool packet is 3..255 bytes (docs/bitstream.md §5: 3 for the shortest compact packet, 7 in version 1). */
export const MIN_PACKET_BYTES = SHORTEST_ANY_PACKET_BYTES;
export const MAX_PACKETS = 0xffff;

export interface Container {
  /** The board the image was coded for ("host" when coded at the image's own size on a host). */
  board: string;
  format: PixelFormat;
  /** The frame the encoder saw: the receiver crops the decoded image to it. */
  width: number;
  height: number;
  /** CRC-32 id of the model's entropy tables (the packets' CRC pseudo-header uses it too). */
  tablesId: number;
  /** First 8 bytes of the SHA-256 of the model file, hex: which encoder weights made the latent. */
  modelId: string;
  imageId: number;
  /** The packet size limit the packetizer ran with (12..255). */
  packetBytes: number;
  packets: Uint8Array[];
}

export class ContainerError extends TidepoolError {
  constructor(
    readonly reason: "truncated" | "magic" | "version" | "header" | "crc" | "packet" | "trailing" | "model",
    message: string,
  ) {
    super("container", message);
  }
}

/** Which encoder weights made a latent: 16 hex digits of the SHA-256 of the model file. */
export function modelId(model: Model): string {
  return createHash("sha256").update(writeModel(model)).digest("hex").slice(0, 16);
}

export function writeContainer(c: Container): Uint8Array {
  const name = new TextEncoder().encode(c.board);
  const bad = (m: string) => {
    throw new ContainerError("header", `cannot write container: ${m}`);
  };
  if (name.length > MAX_BOARD_NAME) bad(`board name "${c.board}" is longer than ${MAX_BOARD_NAME} bytes`);
  if (!Number.isInteger(c.width) || !Number.isInteger(c.height) || c.width < 1 || c.height < 1 || c.width > 0xffff || c.height > 0xffff)
    bad(`frame ${c.width}x${c.height} is outside 1..65535`);
  if (!/^[0-9a-f]{16}$/.test(c.modelId)) bad(`model id "${c.modelId}" is not 16 hex digits`);
  if (c.packets.length > MAX_PACKETS) bad(`${c.packets.length} packets, at most ${MAX_PACKETS}`);
  const head = CONTAINER_FIXED_BYTES + name.length;
  const size = head + 4 + c.packets.reduce((s, p) => s + 1 + p.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(CONTAINER_MAGIC), 0);
  out[4] = CONTAINER_VERSION;
  out[5] = PIXEL_FORMATS.indexOf(c.format);
  dv.setUint16(6, c.width, true);
  dv.setUint16(8, c.height, true);
  dv.setUint32(10, c.tablesId >>> 0, true);
  out.set(Buffer.from(c.modelId, "hex"), 14);
  out[22] = c.imageId & 0xff;
  out[23] = c.packetBytes;
  dv.setUint16(24, c.packets.length, true);
  out[26] = name.length;
  out.set(name, CONTAINER_FIXED_BYTES);
  dv.setUint32(head, crc32(out, 0, head), true);
  let at = head + 4;
  c.packets.forEach((p, i) => {
    if (p.length < MIN_PACKET_BYTES || p.length > MAX_PACKET_BYTES) bad(`packet ${i} is ${p.length} bytes, outside ${MIN_PACKET_BYTES}..${MAX_PACKET_BYTES}`);
    out[at++] = p.length;
    out.set(p, at);
    at += p.length;
  });
  return out;
}

/** Parses a container; `source` (a file name) starts every error message. Throws ContainerError only. */
export function readContainer(bytes: Uint8Array, source = "container"): Container {
  const fail = (reason: ContainerError["reason"], m: string): never => {
    throw new ContainerError(reason, `${source}: ${m}`);
  };
  if (bytes.length < 4 || new TextDecoder().decode(bytes.subarray(0, 4)) !== CONTAINER_MAGIC)
    fail(
      "magic",
      `not a Tidepool container (expected magic "${CONTAINER_MAGIC}", got ${JSON.stringify(Buffer.from(bytes.subarray(0, 4)).toString("latin1"))})`,
    );
  if (bytes.length < CONTAINER_FIXED_BYTES) fail("truncated", `truncated: ${bytes.length} bytes, the header alone is ${CONTAINER_FIXED_BYTES}`);
  if (bytes[4] !== CONTAINER_VERSION) fail("version", `container version ${bytes[4]}, this Tidepool reads version ${CONTAINER_VERSION}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nameLength = bytes[26];
  const head = CONTAINER_FIXED_BYTES + nameLength;
  if (nameLength > MAX_BOARD_NAME) fail("header", `board name of ${nameLength} bytes at offset 26, at most ${MAX_BOARD_NAME}`);
  if (bytes.length < head + 4) fail("truncated", `truncated in the header: ${bytes.length} bytes, the header needs ${head + 4}`);
  const crc = dv.getUint32(head, true);
  if (crc !== crc32(bytes, 0, head)) fail("crc", `header CRC-32 mismatch at offset ${head} (the header is damaged)`);
  const format = PIXEL_FORMATS[bytes[5]];
  if (!format) fail("header", `unknown pixel format code ${bytes[5]} at offset 5`);
  const width = dv.getUint16(6, true),
    height = dv.getUint16(8, true);
  if (width < 1 || height < 1) fail("header", `frame ${width}x${height} at offset 6 is empty`);
  const packetBytes = bytes[23];
  if (packetBytes < 12) fail("header", `packet size ${packetBytes} at offset 23 is below the 12-byte minimum`);
  const count = dv.getUint16(24, true);
  const packets: Uint8Array[] = [];
  let at = head + 4;
  for (let i = 0; i < count; i++) {
    if (at >= bytes.length) fail("truncated", `truncated: packet ${i} of ${count} would start at offset ${at}, the file has ${bytes.length} bytes`);
    const n = bytes[at];
    if (n < MIN_PACKET_BYTES) fail("packet", `packet ${i} at offset ${at} claims ${n} bytes, a packet has at least ${MIN_PACKET_BYTES}`);
    if (at + 1 + n > bytes.length) fail("truncated", `truncated: packet ${i} at offset ${at} needs ${n} bytes, ${bytes.length - at - 1} remain`);
    packets.push(bytes.slice(at + 1, at + 1 + n));
    at += 1 + n;
  }
  if (at !== bytes.length) fail("trailing", `${bytes.length - at} bytes after the last of ${count} packets (offset ${at})`);
  return {
    board: new TextDecoder().decode(bytes.subarray(CONTAINER_FIXED_BYTES, head)),
    format: format!,
    width,
    height,
    tablesId: dv.getUint32(10, true),
    modelId: Buffer.from(bytes.subarray(14, 22)).toString("hex"),
    imageId: bytes[22],
    packetBytes,
    packets,
  };
}

/** Checks a container was coded by `model`: same entropy tables and the same weights. */
export function checkContainerModel(c: Container, model: Model, tablesId: number, source: string, modelSource: string): void {
  if (c.tablesId !== tablesId >>> 0)
    throw new ContainerError(
      "model",
      `${source}: coded with entropy tables ${hex8(c.tablesId)}, ${modelSource} has tables ${hex8(tablesId)}: decode with the model that encoded it`,
    );
  const id = modelId(model);
  if (c.modelId !== id)
    throw new ContainerError(
      "model",
      `${source}: coded by model ${c.modelId}, ${modelSource} is model ${id} (same tables, other weights): decode with the model that encoded it`,
    );
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
