// Which model and camera frame a packet was coded for. The packet CRC covers a pseudo-header with the
// tables id and the latent width/height (docs/bitstream.md §5), so the gateway tries each model it runs
// (the shipped colour, grey and task models by default) and each frame until the CRC matches: the frame is
// configured per device, or inferred from every board's camera frame (boards/*.json), and the device
// // keeps that frame. The model is found again from the CRC wherever it is needed. Only the header, the
// CRC and the slot range are checked here (microseconds, on the ingest path); the symbols are decoded with the rest of the image, which rejects a bad payload then.
import { loadBoards } from "../../core/boards.ts";
import { PacketDecoder } from "../packet-decoder.ts";
import { COMPACT_TAG, PacketDecodeError, parsePacket, type PacketHeader } from "../../wire/bitstream/packet-format.ts";
import type { LatentShape } from "../../wire/bitstream/symbol-order.ts";
import type { EntropyTables } from "../../wire/bitstream/tables.ts";
import { latentShape } from "../../model/geometry.ts";
import type { Model } from "../../core/model-types.ts";
import type { ServerDecoder } from "../../core/types.ts";

export interface Frame {
  width: number;
  height: number;
}
/** A model the gateway decodes, with its entropy tables. */
export interface Codec {
  model: Model;
  tables: EntropyTables;
  source: string;
  /** The model's own decoder (the task encoder's, host/core/model-registry.ts): its images' previews and labels use it instead of the gateway's. */
  decoder?: ServerDecoder;
}
export interface FrameMatch {
  frame: Frame;
  latent: LatentShape;
  header: PacketHeader;
  codec: Codec;
}

export const frameName = (f: Frame) => `${f.width}x${f.height}`;

export class FrameCatalog {
  /** Candidate frames in the order tried, one per distinct latent size. */
  readonly candidates: Frame[];
  private readonly decoders = new Map<string, PacketDecoder>();

  constructor(
    readonly codecs: Codec[],
    candidates: Frame[] = boardFrames(),
  ) {
    const seen = new Set<string>();
    this.candidates = candidates.filter((f) => {
      const k = frameName(this.latentOf(f));
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /** The latent of a frame under a model (the first by default; the shipped models share their strides). */
  latentOf(frame: Frame, codec: Codec = this.codecs[0]): LatentShape {
    return latentShape(codec.model, frame.width, frame.height);
  }

  decoderFor(frame: Frame, codec: Codec = this.codecs[0]): PacketDecoder {
    const latent = this.latentOf(frame, codec),
      key = `${codec.tables.id}:${frameName(latent)}`;
    let d = this.decoders.get(key);
    if (!d) {
      d = new PacketDecoder(codec.tables, latent);
      this.decoders.set(key, d);
    }
    return d;
  }

  /**
   * Checks one packet for the device's frame (`known`), or, when the device's frame is not known yet,
   * for each candidate until the CRC matches. Throws PacketDecodeError (the packet is rejected) otherwise.
   * A compact packet's CRC-8 passes 1 in 256 foreign packets, so a compact match must also decode
   * (payload re-encoded, docs/bitstream.md §7), and a frame learned from one (`configured` false) is
   * only tried first: if it fails, the other candidates are tried, so a mislearned frame corrects itself.
   */
  identify(bytes: Uint8Array, known: Frame | null, configured = true): FrameMatch {
    const compact = bytes[0] === COMPACT_TAG;
    const tries = !known ? this.candidates : compact && !configured ? [known, ...this.candidates.filter((f) => frameName(f) !== frameName(known))] : [known];
    let bad: PacketDecodeError | null = null;
    for (const frame of tries) {
      for (const codec of this.codecs) {
        try {
          const match = this.tryFrame(bytes, frame, codec);
          if (match) return match;
        } catch (e) {
          if (!compact || !(e instanceof PacketDecodeError)) throw e;
          bad ??= e; // the CRC-8 matched but the packet does not decode here: try the other candidates
        }
      }
    }
    if (bad) throw bad;
    const sizes = tries.map((f) => `${frameName(f)} (latent ${frameName(this.latentOf(f))})`).join(", ");
    const ids = this.codecs.map((c) => `0x${c.tables.id.toString(16).padStart(8, "0")}`).join(", ");
    throw new PacketDecodeError("crc", `CRC matches no frame tried (${sizes}) with the entropy tables ${ids}: corrupted, or coded with another model or frame`);
  }

  /** The model a stored image's packets were coded with: the first packet whose CRC matches one. */
  codecOf(packets: readonly Uint8Array[], frame: Frame): Codec | null {
    for (const p of packets)
      for (const codec of this.codecs) {
        try {
          if (this.tryFrame(p, frame, codec)) return codec;
        } catch (e) {
          if (!(e instanceof PacketDecodeError)) throw e;
        }
      }
    return null;
  }

  /** The match for one frame and model; null when the CRC does not match (another frame or model). */
  private tryFrame(bytes: Uint8Array, frame: Frame, codec: Codec): FrameMatch | null {
    try {
      const latent = this.latentOf(frame, codec);
      const order = this.decoderFor(frame, codec).order,
        total = order.g.totalSlots;
      const header = parsePacket(bytes, codec.tables.id, latent.width, latent.height, total);
      if (header.first >= total) throw new PacketDecodeError("header", `first index ${header.first} is past the last slot ${total - 1}`);
      if (order.locate(header.first, { channel: 0, x: 0, y: 0, dx: 0, dy: 0 }).x < 0)
        throw new PacketDecodeError("header", `first index ${header.first} is a padding slot, not a coded position`);
      if (header.count > total - header.first)
        throw new PacketDecodeError("header", `count ${header.count} runs past the end of the latent (first ${header.first}, ${total} slots)`);
      if (header.version === 2) this.decoderFor(frame, codec).decode(bytes);
      return { frame, latent, header, codec };
    } catch (e) {
      if (!(e instanceof PacketDecodeError)) throw e;
      if (e.kind !== "crc") throw e; // not frame-dependent, or the CRC matched and the content is bad
      return null;
    }
  }
}

/** Camera frames of the known boards, in file order. */
export function boardFrames(): Frame[] {
  return loadBoards().map((b) => ({ width: b.camera.width, height: b.camera.height }));
}

export function parseFrameName(s: string): Frame | null {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(s);
  return m && +m[1] > 0 && +m[2] > 0 ? { width: +m[1], height: +m[2] } : null;
}
