// Classical codecs Tidepool is measured against, with the exact settings of
// shared/references/baselines-kodak.md §Settings (sharp 0.35 / libvips with mozjpeg, libwebp):
//   jpeg-turbo        jpeg({quality, chromaSubsampling:'4:2:0', optimiseCoding:true})  (= libjpeg-turbo cjpeg -optimize -baseline)
//   jpeg-mozjpeg      jpeg({quality, mozjpeg:true})                                    (trellis, progressive scans)
//   jpeg-progressive  the jpeg-turbo settings plus progressive:true
//   webp              webp({quality, effort:6}); quality < 1 through Debian `cwebp -q Q -m 6` when installed
// Each can also be applied to the image downscaled 2× or 4× (lanczos3), decoded and upscaled back on the
// server (lanczos3): a camera does the downscale for free, so "best of 1×/2×/4×" is the honest bar.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import type { RgbImage } from "../core/types.ts";

const run = promisify(execFile);

export interface BaselineCodec {
  name: string;
  /** Settings in words, for reports. */
  settings: string;
  /** Ascending quality settings the budget search walks (file size grows with quality). */
  qualities: number[];
  encode(img: RgbImage, quality: number): Promise<Uint8Array>;
}

const INT_QUALITIES = Array.from({ length: 100 }, (_, i) => i + 1);
/** libwebp qualities below sharp's floor of 1, as in baselines-kodak.md (cwebp only). */
export const WEBP_SUB1_QUALITIES = [0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75];

const raw = (img: RgbImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
const bytesOf = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** Decodes any file sharp reads to 8-bit RGB (JPEG: ISLOW IDCT, fancy upsampling, like djpeg). */
export async function decodeRgb(file: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: bytesOf(data) };
}

export function jpegTurbo(): BaselineCodec {
  return {
    name: "jpeg-turbo",
    settings: "sharp jpeg({quality, chromaSubsampling:'4:2:0', optimiseCoding:true}) = libjpeg-turbo -optimize -baseline, 4:2:0",
    qualities: INT_QUALITIES,
    encode: async (img, q) => bytesOf(await raw(img).jpeg({ quality: q, chromaSubsampling: "4:2:0", optimiseCoding: true }).toBuffer()),
  };
}

export function jpegMozjpeg(): BaselineCodec {
  return {
    name: "jpeg-mozjpeg",
    settings: "sharp jpeg({quality, mozjpeg:true}): trellis, overshoot deringing, progressive scans, 4:2:0",
    qualities: INT_QUALITIES,
    encode: async (img, q) => bytesOf(await raw(img).jpeg({ quality: q, mozjpeg: true }).toBuffer()),
  };
}

export function jpegProgressive(): BaselineCodec {
  return {
    name: "jpeg-progressive",
    settings: "sharp jpeg({quality, chromaSubsampling:'4:2:0', optimiseCoding:true, progressive:true})",
    qualities: INT_QUALITIES,
    encode: async (img, q) => bytesOf(await raw(img).jpeg({ quality: q, chromaSubsampling: "4:2:0", optimiseCoding: true, progressive: true }).toBuffer()),
  };
}

let cwebpPath: string | null | undefined;
/** Path of Debian's `cwebp` (package `webp`), or null when it is not installed. */
export async function findCwebp(): Promise<string | null> {
  if (cwebpPath !== undefined) return cwebpPath;
  try {
    await run("cwebp", ["-version"]);
    cwebpPath = "cwebp";
  } catch {
    cwebpPath = null;
  }
  return cwebpPath;
}

async function cwebp(img: RgbImage, q: number): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "tidepool-cwebp-"));
  try {
    writeFileSync(join(dir, "in.png"), await raw(img).png({ compressionLevel: 1 }).toBuffer());
    await run("cwebp", ["-quiet", "-q", String(q), "-m", "6", join(dir, "in.png"), "-o", join(dir, "out.webp")]);
    return new Uint8Array(readFileSync(join(dir, "out.webp")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** WebP method 6; with `sub1` (cwebp installed) the sweep starts at quality 0 instead of 1. */
export function webp(sub1: boolean): BaselineCodec {
  return {
    name: "webp",
    settings: `sharp webp({quality, effort:6})${sub1 ? "; quality < 1 via cwebp -q Q -m 6" : " (quality >= 1 only: cwebp not installed)"}`,
    qualities: sub1 ? [...WEBP_SUB1_QUALITIES, ...INT_QUALITIES] : INT_QUALITIES,
    encode: async (img, q) => (q < 1 ? cwebp(img, q) : bytesOf(await raw(img).webp({ quality: q, effort: 6 }).toBuffer())),
  };
}

/** The four baselines of issue 3; WebP below quality 1 only when `cwebp` is installed. */
export async function defaultBaselines(): Promise<BaselineCodec[]> {
  return [jpegTurbo(), jpegMozjpeg(), webp((await findCwebp()) !== null), jpegProgressive()];
}

/** Lanczos3 resize to exactly width×height (no aspect-ratio fitting). */
export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await raw(img).resize(width, height, { fit: "fill", kernel: "lanczos3" }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: bytesOf(data) };
}

export const SCALES = [1, 2, 4] as const;

/** The file one codec makes of an image at one scale (the camera's side). */
export function encodeAtScale(codec: BaselineCodec, img: RgbImage, small: RgbImage, scale: number, quality: number): Promise<Uint8Array> {
  return codec.encode(scale === 1 ? img : small, quality);
}

/** The server's reconstruction of such a file at the original's full size. */
export async function reconstructAtScale(file: Uint8Array, img: RgbImage, scale: number): Promise<RgbImage> {
  const decoded = await decodeRgb(file);
  return scale === 1 ? decoded : resizeRgb(decoded, img.width, img.height);
}

/** One image through one codec at one scale: bytes of the file and the server's reconstruction at full size. */
export async function codeAtScale(
  codec: BaselineCodec,
  img: RgbImage,
  small: RgbImage,
  scale: number,
  quality: number,
): Promise<{ bytes: number; decoded: RgbImage }> {
  const file = await encodeAtScale(codec, img, small, scale, quality);
  return { bytes: file.length, decoded: await reconstructAtScale(file, img, scale) };
}

/** The camera-side downscale for a scale factor (sides rounded, at least 1 px). */
export function downscale(img: RgbImage, scale: number): Promise<RgbImage> {
  return scale === 1 ? Promise.resolve(img) : resizeRgb(img, Math.max(1, Math.round(img.width / scale)), Math.max(1, Math.round(img.height / scale)));
}
