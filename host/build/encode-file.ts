// Encoding one photo into the packet container (host/wire/container.ts), as `tidepool encode -o` does:
// the built WASM encoder (the bytes a board runs) makes the latent and its packetizer makes the link
// packets, so the file holds exactly what a board would have sent for that frame.
import { getBoard, type Board } from "../core/boards.ts";
import { TidepoolError } from "../core/errors.ts";
import type { PixelFormat } from "../core/pixel-format.ts";
import type { Model } from "../core/model-types.ts";
import { loadRgb, toFrame } from "../image/load.ts";
import { modelTables } from "../wire/bitstream/tables.ts";
import { modelId, type Container } from "../wire/container.ts";
import { buildEncoder } from "./build.ts";
import { devicePacketize } from "./runtime/device-packetizer.ts";
import { EncoderInstance } from "./runtime/encoder-instance.ts";

export const HOST_BOARD = "host";
export const DEFAULT_PACKET_BYTES = 222; // LoRaWAN EU868 DR5 (SF7), the PacketRate default

export interface EncodeFileOptions {
  /** A board: the photo is resized to its camera frame and packed in its pixel format. Else the host: own size, RGB888. */
  board?: string;
  model?: Model;
  modelPath?: string;
  /** Frame to resize to (default: the board's camera frame, or the photo's own size). */
  frame?: { width: number; height: number };
  format?: PixelFormat;
  packetBytes?: number;
  budgetBytes?: number;
  imageId?: number;
}

export interface EncodeFileResult {
  container: Container;
  bytes: number;
  symbols: number;
  complete: boolean;
  latent: { width: number; height: number; channels: number };
  model: Model;
}

/**
 * The host "board": k210's build target and kernels with the arena limit lifted, so a photo of any size
 * up to 100 MP encodes at its own size. The latent does not depend on the budget (as `tidepool eval`).
 */
export function hostBoard(): Board {
  const k = getBoard("k210");
  return { ...k, name: HOST_BOARD, memory: { ...k.memory, totalBytes: 1 << 30, arenaBudgetBytes: 1 << 30 } };
}

export async function encodeFile(path: string, o: EncodeFileOptions = {}): Promise<EncodeFileResult> {
  const board = o.board ? getBoard(o.board) : hostBoard();
  const format = o.format ?? (o.board ? board.camera.format : "rgb888");
  const size = o.frame ?? (o.board ? { width: board.camera.width, height: board.camera.height } : undefined);
  const img = await loadRgb(path, size);
  const built = await buildEncoder({ board, model: o.model, modelPath: o.modelPath, width: img.width, height: img.height, format });
  if (!built.model.entropy)
    throw new TidepoolError(
      "model",
      `model ${o.modelPath ?? built.model.meta.name ?? "(default)"} has no entropy tables (ENTR section): packets cannot be made; run \`tidepool fit-tables\``,
    );
  const tables = modelTables(built.model, o.modelPath ?? "the model");
  const enc = await EncoderInstance.load(built.wasm, built.board);
  const latent = enc.encode(toFrame(img, format), img.width, img.height, format);
  const packetBytes = o.packetBytes ?? DEFAULT_PACKET_BYTES;
  const imageId = o.imageId ?? 0;
  const run = devicePacketize(enc, { imageId, packetBytes, budgetBytes: o.budgetBytes });
  return {
    container: {
      board: board.name,
      format,
      width: img.width,
      height: img.height,
      tablesId: tables.id,
      modelId: modelId(built.model),
      imageId,
      packetBytes,
      packets: run.packets,
    },
    bytes: run.bytes,
    symbols: run.symbols,
    complete: run.complete,
    latent: { width: latent.width, height: latent.height, channels: latent.channels },
    model: built.model,
  };
}
