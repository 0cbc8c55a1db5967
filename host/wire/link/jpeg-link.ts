// A JPEG file sent over the same link as a baseline: cut into packets with a minimal 5-byte header
// (image id u8, chunk index u16, CRC-16), lost chunks leave zero-filled holes, and the receiver hands
// whatever it reassembled (holes included, cut after the last chunk received) to a real decoder:
// libvips/libjpeg via sharp with failOn:'none', which decodes damaged and truncated files as far as it can.
import sharp from "sharp";
import type { RgbImage } from "../../core/types.ts";

export const JPEG_CHUNK_OVERHEAD = 5;

/** Packet sizes (overhead included) for a file of `fileBytes` on a link with `payloadBytes` packets. */
export function jpegPacketSizes(fileBytes: number, payloadBytes: number): number[] {
  const per = payloadBytes - JPEG_CHUNK_OVERHEAD;
  const n = Math.ceil(fileBytes / per);
  return Array.from({ length: n }, (_, i) => Math.min(per, fileBytes - i * per) + JPEG_CHUNK_OVERHEAD);
}

/** The file the receiver reassembles from the delivered chunk indices. */
export function reassemble(file: Uint8Array, payloadBytes: number, delivered: readonly number[]): Uint8Array {
  const per = payloadBytes - JPEG_CHUNK_OVERHEAD;
  if (!delivered.length) return new Uint8Array(0);
  const last = Math.max(...delivered);
  const out = new Uint8Array(Math.min(file.length, (last + 1) * per));
  for (const i of delivered) out.set(file.subarray(i * per, Math.min(file.length, (i + 1) * per)), i * per);
  return out;
}

/** What a real decoder shows for a damaged file; null when it cannot produce an image at all. */
export async function decodeDamaged(file: Uint8Array, width: number, height: number): Promise<RgbImage | null> {
  if (file.length < 4) return null;
  try {
    const { data, info } = await sharp(file, { failOn: "none" }).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== 3) return null;
    return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch {
    return null;
  }
}

/** The receiver's picture when nothing decodes: mid-grey. */
export function greyImage(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(128) };
}
