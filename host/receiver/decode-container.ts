// Decoding a packet container (host/wire/container.ts), as `tidepool decode` does: any subset of its
// packets (some dropped on purpose to see what a lossy link leaves) → latent + missing mask → the server
// decoder → an image cropped to the frame the encoder saw, and a report of what was missing.
import type { Model } from "../core/model-types.ts";
import type { RgbImage, ServerDecoder } from "../core/types.ts";
import { latentShape } from "../model/geometry.ts";
import { modelTables } from "../wire/bitstream/tables.ts";
import { checkContainerModel, type Container } from "../wire/container.ts";
import { decodePacketSet, type RejectedPacket } from "./packet-decoder.ts";

export interface ContainerDecodeReport {
  packets: number;
  dropped: number[];
  used: number[];
  duplicates: number[];
  rejected: RejectedPacket[];
  /** Symbols received of the latent's total, and per channel. */
  symbols: number;
  totalSymbols: number;
  channelSymbols: number[];
  /** Channels with every symbol, none, or some. */
  completeChannels: number;
  missingChannels: number;
  complete: boolean;
  latent: { width: number; height: number; channels: number };
}

export interface ContainerDecodeResult {
  report: ContainerDecodeReport;
  image: RgbImage | null;
}

/**
 * Decodes the container's packets except those at the `drop` indices. Packets are never trusted:
 * damaged ones land in `rejected`. `decoder` null: the report only (no image).
 */
export async function decodeContainer(
  c: Container,
  model: Model,
  decoder: ServerDecoder | null,
  opts: { drop?: Iterable<number>; source?: string; modelSource?: string } = {},
): Promise<ContainerDecodeResult> {
  const tables = modelTables(model, opts.modelSource ?? "the model");
  checkContainerModel(c, model, tables.id, opts.source ?? "container", opts.modelSource ?? "the model");
  const drop = new Set(opts.drop ?? []);
  const kept = c.packets.map((p, i) => ({ p, i })).filter(({ i }) => !drop.has(i));
  const shape = latentShape(model, c.width, c.height);
  const set = decodePacketSet(
    kept.map((k) => k.p),
    tables,
    shape,
    { imageId: c.imageId },
  );
  const plane = shape.width * shape.height;
  const at = (inputs: number[]) => inputs.map((n) => kept[n].i);
  const report: ContainerDecodeReport = {
    packets: c.packets.length,
    dropped: [...drop].filter((i) => i < c.packets.length).sort((a, b) => a - b),
    used: at(set.accepted),
    duplicates: at(set.duplicates),
    rejected: set.rejected.map((r) => ({ ...r, input: kept[r.input].i })),
    symbols: set.symbols,
    totalSymbols: plane * shape.channels,
    channelSymbols: set.channelSymbols,
    completeChannels: set.channelSymbols.filter((n) => n === plane).length,
    missingChannels: set.channelSymbols.filter((n) => n === 0).length,
    complete: set.symbols === plane * shape.channels,
    latent: shape,
  };
  const image = decoder ? await decoder.decode(set.latent, set.present, model, { width: c.width, height: c.height }) : null;
  return { report, image };
}
