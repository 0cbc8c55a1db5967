// Which camera frame a packet was coded for. The packet CRC covers a pseudo-header with the tables id
// and the latent width/height (docs/bitstream.md §5), so the gateway must know each device's model and
// frame. The model is the one the gateway runs (the shipped one by default); the frame is configured per
// device, or inferred: every board's camera frame (boards/*.json) is tried until the CRC matches, and the
// device keeps that frame. Only the header, the CRC and the slot range are checked here (microseconds, on
// the ingest path); the symbols are decoded with the rest of the image, which rejects a bad payload then.
import { loadBoards } from "../../core/boards.ts";
import { PacketDecoder } from "../packet-decoder.ts";
import { PacketDecodeError, parsePacket, type PacketHeader } from "../../wire/bitstream/packet-format.ts";
import type { LatentShape } from "../../wire/bitstream/symbol-order.ts";
import type { EntropyTables } from "../../wire/bitstream/tables.ts";
import { latentShape } from "../../model/geometry.ts";
import type { Model } from "../../core/model-types.ts";

export interface Frame {
  width: number;
  height: number;
}
export interface FrameMatch {
  frame: Frame;
  latent: LatentShape;
  header: PacketHeader;
}

export const frameName = (f: Frame) => `${f.width}x${f.height}`;

export class FrameCatalog {
  /** Candidate frames in the order tried, one per distinct latent size. */
  readonly candidates: Frame[];
  private readonly decoders = new Map<string, PacketDecoder>();

  constructor(
    readonly model: Model,
    readonly tables: EntropyTables,
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

  latentOf(frame: Frame): LatentShape {
    return latentShape(this.model, frame.width, frame.height);
  }

  decoderFor(frame: Frame): PacketDecoder {
    const latent = this.latentOf(frame),
      key = frameName(latent);
    let d = this.decoders.get(key);
    if (!d) {
      d = new PacketDecoder(this.tables, latent);
      this.decoders.set(key, d);
    }
    return d;
  }

  /**
   * Checks one packet for the device's frame (`known`), or, when the device's frame is not known yet,
   * for each candidate until the CRC matches. Throws PacketDecodeError (the packet is rejected) otherwise.
   */
  identify(bytes: Uint8Array, known: Frame | null): FrameMatch {
    const tries = known ? [known] : this.candidates;
    for (const frame of tries) {
      try {
        const latent = this.latentOf(frame);
        const header = parsePacket(bytes, this.tables.id, latent.width, latent.height);
        const order = this.decoderFor(frame).order,
          total = order.g.totalSlots;
        if (header.first >= total) throw new PacketDecodeError("header", `first index ${header.first} is past the last slot ${total - 1}`);
        if (order.locate(header.first, { channel: 0, x: 0, y: 0, dx: 0, dy: 0 }).x < 0)
          throw new PacketDecodeError("header", `first index ${header.first} is a padding slot, not a coded position`);
        if (header.count > total - header.first)
          throw new PacketDecodeError("header", `count ${header.count} runs past the end of the latent (first ${header.first}, ${total} slots)`);
        return { frame, latent, header };
      } catch (e) {
        if (!(e instanceof PacketDecodeError)) throw e;
        if (e.kind !== "crc") throw e; // not frame-dependent, or the CRC matched and the content is bad
      }
    }
    const sizes = tries.map((f) => `${frameName(f)} (latent ${frameName(this.latentOf(f))})`).join(", ");
    throw new PacketDecodeError(
      "crc",
      `CRC matches no frame tried (${sizes}) with entropy tables 0x${this.tables.id.toString(16).padStart(8, "0")}: corrupted, or coded with another model or frame`,
    );
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
