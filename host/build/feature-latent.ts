// The compressed split head's output as the bitstream's latent (docs/split-computing.md §Feature
// compression): the device keeps the compressor's output whole, pixel-interleaved [y][x][c] as every
// head tensor; the packetizer and the tables read channel-major symbols (host/core/types.ts Latent).
import type { HeadModel } from "../core/head-types.ts";
import type { Latent, RgbImage } from "../core/types.ts";
import type { PixelFormat } from "../core/pixel-format.ts";
import { TidepoolError } from "../core/errors.ts";
import { headShapes } from "../model/head-geometry.ts";
import { toFrame } from "../image/load.ts";
import { referenceHead } from "./reference/head.ts";
import { fitEntropyTables } from "../wire/bitstream/fit-tables.ts";
import { buildHead } from "./head-build.ts";
import { HeadInstance } from "./runtime/head-instance.ts";

/** [y][x][c] symbols → channel-major Latent. */
export function latentFromHeadOutput(t: { width: number; height: number; channels: number; data: Uint8Array }): Latent {
  const { width, height, channels } = t,
    plane = width * height,
    data = new Uint8Array(t.data.length);
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) data[c * plane + p] = t.data[p * channels + c];
  return { width, height, channels, data };
}

/** The latent's shape for a frame (the compressor's output tensor). */
export function latentShape(head: HeadModel, width: number, height: number): { width: number; height: number; channels: number } {
  if (!head.compressor) throw new TidepoolError("feature-compressor", "this split head has no feature compressor");
  return headShapes(head, width, height).at(-1)!;
}

/** The latent the device computes for a picture, by the TypeScript reference (the test oracle). */
export function referenceLatent(head: HeadModel, img: RgbImage, format: PixelFormat = "rgb888"): Latent {
  const out = referenceHead(head, toFrame(img, format), img.width, img.height, format).at(-1)!;
  return latentFromHeadOutput(out);
}

/**
 * Entropy tables for the compressor's latent, fitted on the device's latents of training views (the
 * head built for the largest board and run as WASM: bit-exact with the reference, and ~30x faster).
 */
export async function fitCompressorTables(head: HeadModel, views: Iterable<RgbImage>, log?: (s: string) => void): Promise<Uint8Array> {
  const fc = head.compressor;
  if (!fc) throw new TidepoolError("feature-compressor", "this split head has no feature compressor");
  const latents: Latent[] = [];
  let device: HeadInstance | null = null;
  for (const v of views) {
    if (!device) {
      const built = await buildHead({ board: "k210", head, width: v.width, height: v.height, format: "rgb888", streamOutput: false });
      device = await HeadInstance.load(built.wasm);
    }
    latents.push(latentFromHeadOutput(device.run(toFrame(v, "rgb888"), v.width, v.height, "rgb888")));
    if (log && latents.length % 50 === 0) log(`${latents.length} latents`);
  }
  const C = latents[0]?.channels ?? 0;
  return fitEntropyTables(latents, new Array(C).fill(fc.levels)).bytes;
}

/** The head with its compressor's entropy tables set (the ENTR section of the model file). */
export function withCompressorTables(head: HeadModel, entropy: Uint8Array): HeadModel {
  if (!head.compressor) throw new TidepoolError("feature-compressor", "this split head has no feature compressor");
  return { ...head, compressor: { ...head.compressor, entropy } };
}
