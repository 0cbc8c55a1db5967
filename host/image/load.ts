// Reads photos (PNG, JPEG, WebP, ... via sharp/libvips) into 8-bit RGB and packs them as camera frames.
import sharp from "sharp";
import { packRow, BYTES_PER_PIXEL, type PixelFormat } from "./pixel-format.ts";

export interface RgbImage { width: number; height: number; /** 8-bit RGB, row-major */ data: Uint8Array }

export class ImageError extends Error { constructor(m: string) { super(m); this.name = "ImageError"; } }

/** Decodes an image file; with `size`, resizes like a camera crop (lanczos3, cover, centre). */
export async function loadRgb(path: string, size?: { width: number; height: number }): Promise<RgbImage> {
  try {
    let img = sharp(path, { failOn: "error" }).removeAlpha().toColourspace("srgb");
    if (size) img = img.resize(size.width, size.height, { fit: "cover", kernel: "lanczos3" });
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    const msg = (e as Error).message;
    if (/no such file|ENOENT|missing/i.test(msg)) throw new ImageError(`${path}: file not found`);
    throw new ImageError(`${path}: cannot decode image (${msg})`);
  }
}

/** Packs an RGB image into a frame of camera rows in `format`. */
export function toFrame(img: RgbImage, format: PixelFormat): Uint8Array {
  const rowBytes = img.width * BYTES_PER_PIXEL[format];
  const frame = new Uint8Array(rowBytes * img.height);
  for (let y = 0; y < img.height; y++)
    packRow(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), img.width, format, frame.subarray(y * rowBytes, (y + 1) * rowBytes));
  return frame;
}
