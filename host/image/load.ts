// Reads photos (PNG, JPEG, WebP, ... via sharp/libvips) into 8-bit RGB and packs them as camera frames.
import sharp, { type Metadata } from "sharp";
import { packRow, BYTES_PER_PIXEL, type PixelFormat } from "../core/pixel-format.ts";
import type { RgbImage } from "../core/types.ts";
import { TidepoolError } from "../core/errors.ts";

export class ImageError extends TidepoolError {
  constructor(m: string) {
    super("image", m);
  }
}

/**
 * The largest image read: 100 MP (a 30000×30000 image would need 2.7 GB as RGB). Cameras Tidepool
 * serves are under 1 MP; large photos are fine up to this.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;

/**
 * Decodes an image file to 8-bit sRGB: greyscale is expanded to RGB, alpha is dropped (a camera has
 * none), 16-bit samples are scaled to 8, CMYK is converted through libvips' default profile. With
 * `size`, resizes like a camera crop (lanczos3, cover, centre).
 */
export async function loadRgb(path: string, size?: { width: number; height: number }): Promise<RgbImage> {
  let header: Metadata;
  try {
    header = await sharp(path, { limitInputPixels: false }).metadata(); // the header only: the size check is ours
  } catch (e) {
    const msg = (e as Error).message;
    if (/no such file|ENOENT|missing/i.test(msg)) throw new ImageError(`${path}: file not found`);
    throw new ImageError(`${path}: cannot decode image (${msg})`);
  }
  const { width = 0, height = 0 } = header;
  if (width < 1 || height < 1) throw new ImageError(`${path}: cannot decode image (no size in its header)`);
  if (width * height > MAX_IMAGE_PIXELS)
    throw new ImageError(`${path}: ${width}x${height} is ${Math.round((width * height) / 1e6)} MP, more than the ${MAX_IMAGE_PIXELS / 1e6} MP Tidepool reads`);
  try {
    let img = sharp(path, { failOn: "error", limitInputPixels: MAX_IMAGE_PIXELS }).removeAlpha().toColourspace("srgb");
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
