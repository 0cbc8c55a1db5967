// Real bytes for `tidepool eval`: a RateSource (host/eval/ideal-rate.ts) that packetizes the latent
// and counts every byte sent, headers and CRCs included.
import type { RateSource } from "../eval/ideal-rate.ts";
import type { Latent } from "../reference/encoder.ts";
import { packetize } from "./packetizer.ts";
import type { EntropyTables } from "./tables.ts";

export class PacketRate implements RateSource {
  readonly name: string;
  readonly describe: string;
  constructor(readonly tables: EntropyTables, readonly packetBytes = 222) {
    this.name = `packets-${packetBytes}`;
    this.describe = `real bytes of ${packetBytes}-byte Tidepool packets (range-coded with the model's ENTR context tables, headers and CRC included)`;
  }
  bytes(latent: Latent, channels: number): number {
    return packetize(latent, this.tables, { imageId: 0, packetBytes: this.packetBytes, channels }).bytes;
  }
}
