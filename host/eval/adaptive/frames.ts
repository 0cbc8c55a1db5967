// A deterministic camera frame for profiling the policy (smooth gradient + noise, as the profile tests use).
import { packRow, BYTES_PER_PIXEL, type PixelFormat } from "../../core/pixel-format.ts";
import { seededRandom } from "../../core/seeded-random.ts";

export function randomRgbFrame(seed: number, width: number, height: number, format: PixelFormat): Uint8Array {
  const rand = seededRandom(seed);
  const rgb = new Uint8Array(width * 3);
  const rowBytes = width * BYTES_PER_PIXEL[format];
  const frame = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin((x + 7 * c) / 13) * Math.cos(y / 17) + (rand() - 0.5) * 120;
        rgb[x * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    packRow(rgb, width, format, frame.subarray(y * rowBytes, (y + 1) * rowBytes));
  }
  return frame;
}
