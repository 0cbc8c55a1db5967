// Test frames: seeded noise with some structure, and Kodak photos from ../shared when present.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { packRow, BYTES_PER_PIXEL, type PixelFormat } from "../../host/core/pixel-format.ts";
import { SHARED_DIR } from "../../host/core/paths.ts";
import { seededRandom } from "../../host/core/seeded-random.ts";

export function randomRgb(seed: number, width: number, height: number): Uint8Array {
  const rand = seededRandom(seed);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) {
        // Smooth gradient plus noise, so activations span their range without saturating everywhere.
        const v = 128 + 90 * Math.sin((x + 7 * c) / 13) * Math.cos(y / 17) + (rand() - 0.5) * 120;
        rgb[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return rgb;
}

export function packFrame(rgb: Uint8Array, width: number, height: number, format: PixelFormat): Uint8Array {
  const rowBytes = width * BYTES_PER_PIXEL[format];
  const frame = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) packRow(rgb.subarray(y * width * 3, (y + 1) * width * 3), width, format, frame.subarray(y * rowBytes));
  return frame;
}

export const KODAK_DIR = join(SHARED_DIR, "datasets", "kodak");
export function kodakImages(): string[] {
  if (!existsSync(KODAK_DIR)) return [];
  return readdirSync(KODAK_DIR)
    .filter((f) => f.endsWith(".png"))
    .sort()
    .map((f) => join(KODAK_DIR, f));
}
