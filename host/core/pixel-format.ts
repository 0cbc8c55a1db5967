// Camera pixel formats accepted by the encoder's row interface (docs/device-abi.md).
import { TidepoolError } from "./errors.ts";

export const PIXEL_FORMATS = ["gray8", "rgb565", "rgb888"] as const;
export type PixelFormat = (typeof PIXEL_FORMATS)[number];

/** Numeric codes passed to tp_init on the device. */
export const FORMAT_CODE: Record<PixelFormat, number> = { gray8: 0, rgb565: 1, rgb888: 2 };
export const BYTES_PER_PIXEL: Record<PixelFormat, number> = { gray8: 1, rgb565: 2, rgb888: 3 };

export function parsePixelFormat(name: string): PixelFormat {
  const f = name.toLowerCase();
  if ((PIXEL_FORMATS as readonly string[]).includes(f)) return f as PixelFormat;
  throw new TidepoolError("pixel-format", `unknown pixel format "${name}": expected one of ${PIXEL_FORMATS.join(", ")}`);
}

/** Integer BT.601 luma, the same formula the device uses. */
export function luma(r: number, g: number, b: number): number {
  return (77 * r + 150 * g + 29 * b + 128) >> 8;
}

/** Packs 8-bit RGB into one camera row of the given format (RGB565 is a little-endian u16: R 15..11, G 10..5, B 4..0). */
export function packRow(rgb: Uint8Array, width: number, format: PixelFormat, out = new Uint8Array(width * BYTES_PER_PIXEL[format])): Uint8Array {
  for (let x = 0; x < width; x++) {
    const r = rgb[3 * x],
      g = rgb[3 * x + 1],
      b = rgb[3 * x + 2];
    if (format === "rgb888") {
      out[3 * x] = r;
      out[3 * x + 1] = g;
      out[3 * x + 2] = b;
    } else if (format === "gray8") out[x] = luma(r, g, b);
    else {
      const v = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
      out[2 * x] = v & 0xff;
      out[2 * x + 1] = v >> 8;
    }
  }
  return out;
}

/** Expands one packed row back to 8-bit channels as the device sees them (RGB565 by bit replication). */
export function unpackRow(row: Uint8Array, width: number, format: PixelFormat, channels: 1 | 3): Uint8Array {
  const out = new Uint8Array(width * channels);
  for (let x = 0; x < width; x++) {
    let r: number, g: number, b: number;
    if (format === "rgb888") {
      r = row[3 * x];
      g = row[3 * x + 1];
      b = row[3 * x + 2];
    } else if (format === "gray8") {
      r = g = b = row[x];
    } else {
      const v = row[2 * x] | (row[2 * x + 1] << 8);
      const r5 = v >> 11,
        g6 = (v >> 5) & 63,
        b5 = v & 31;
      r = (r5 << 3) | (r5 >> 2);
      g = (g6 << 2) | (g6 >> 4);
      b = (b5 << 3) | (b5 >> 2);
    }
    if (channels === 3) {
      out[3 * x] = r;
      out[3 * x + 1] = g;
      out[3 * x + 2] = b;
    } else out[x] = format === "gray8" ? r : luma(r, g, b);
  }
  return out;
}
