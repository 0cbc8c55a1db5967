// The crop rule of the receiver (docs/evaluation.md §Any size): a decoded image covers the latent's
// whole grid; the frame it came from is its top-left corner.
import type { RgbImage } from "../core/types.ts";

export function cropTopLeft(img: RgbImage, width: number, height: number): RgbImage {
  if (width === img.width && height === img.height) return img;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(img.data.subarray(y * img.width * 3, (y * img.width + width) * 3), y * width * 3);
  return { width, height, data: out };
}
