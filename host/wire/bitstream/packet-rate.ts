// How Tidepool counts bytes: a RateSource says how many bytes the first `channels` channels of a latent
// cost. PacketRate is the one real count (every byte of the link packets, headers and CRCs included),
// used by eval, simulate, encode and `npm start`; ideal-rate.ts is an estimate for models without tables.
import { packetize } from "./packetizer.ts";
import type { EntropyTables } from "./tables.ts";
import type { Latent } from "../../core/types.ts";

export interface RateSource {
  name: string;
  /** One line for reports: what the bytes are. */
  describe: string;
  /** Bytes to send the first `channels` channels of `latent` (tail-drop / progressive prefix). */
  bytes(latent: Latent, channels: number): number;
}

export class PacketRate implements RateSource {
  readonly name: string;
  readonly describe: string;
  constructor(
    readonly tables: EntropyTables,
    readonly packetBytes = 222,
  ) {
    this.name = `packets-${packetBytes}`;
    this.describe = `real bytes of ${packetBytes}-byte Tidepool packets (range-coded with the model's ENTR context tables, headers and CRC included)`;
  }
  bytes(latent: Latent, channels: number): number {
    return packetize(latent, this.tables, { imageId: 0, packetBytes: this.packetBytes, channels }).bytes;
  }
}
