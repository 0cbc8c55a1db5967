// The pipeline's own types, declared once: what the encoder makes, what the receiver rebuilds.
import type { Model } from "./model-types.ts";

/** Latent symbols of one frame, channel-major [c][y][x]. */
export interface Latent {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface FrameSize {
  width: number;
  height: number;
}

/** An 8-bit RGB image, row-major, 3 bytes a pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The server decoder's contract: latent symbols + which were received → an image. */
export interface ServerDecoder {
  /** `present`: 1 = received, one byte per latent symbol, same channel-major layout. */
  /**
   * `size`: the frame the latent was encoded from. The decoder's output covers the latent's whole
   * grid (each latent cell is a 2^L-pixel square), so it is cropped to the frame's top-left
   * width×height (docs/evaluation.md §Any size); without `size`, the whole grid is returned.
   */
  decode(latent: Latent, present: Uint8Array, model: Model, size?: FrameSize): Promise<RgbImage>;
  close?(): Promise<void>;
}
