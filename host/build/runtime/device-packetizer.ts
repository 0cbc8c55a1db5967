// Drives the packetizer inside a built encoder module (assembly/bitstream/packets.ts) from Node, with the
// tp_pk_* calls a board makes after tp_push_row has completed the latent (docs/device-abi.md).
import type { EncoderInstance } from "./encoder-instance.ts";
import { describeDeviceStatus } from "../../core/device-status.ts";
import { TidepoolError, EXIT_FAILURE } from "../../core/errors.ts";

export interface PacketExports {
  memory: WebAssembly.Memory;
  tp_pk_begin(imageId: number, packetBytes: number, budgetBytes: number, channels: number): number;
  tp_pk_next(): number;
  tp_pk_ptr(): number;
  tp_pk_sent(): number;
  tp_pk_symbols(): number;
  tp_pk_complete(): number;
  tp_latent_channels(): number;
}

export class DevicePacketError extends TidepoolError {
  constructor(m: string) {
    super("device-packetizer", m, EXIT_FAILURE);
  }
}

/** Runs tp_pk_begin / tp_pk_next to the end; returns copies of the packets. */
export function devicePacketize(
  enc: EncoderInstance,
  opts: { imageId: number; packetBytes: number; budgetBytes?: number; channels?: number },
): { packets: Uint8Array[]; bytes: number; symbols: number; complete: boolean } {
  const e = enc.exports as unknown as PacketExports;
  if (typeof e.tp_pk_begin !== "function") throw new DevicePacketError("module exports no packetizer (tp_pk_begin)");
  const budget = opts.budgetBytes === undefined || !Number.isFinite(opts.budgetBytes) ? 0x7fffffff : opts.budgetBytes;
  const check = (code: number, what: string) => {
    if (code < 0) throw new DevicePacketError(`${what} failed: ${describeDeviceStatus(code)}`);
    return code;
  };
  check(e.tp_pk_begin(opts.imageId, opts.packetBytes, budget, opts.channels ?? e.tp_latent_channels()), "tp_pk_begin");
  const packets: Uint8Array[] = [];
  for (;;) {
    const n = check(e.tp_pk_next(), "tp_pk_next");
    if (n === 0) break;
    packets.push(new Uint8Array(e.memory.buffer, e.tp_pk_ptr(), n).slice());
  }
  return { packets, bytes: e.tp_pk_sent(), symbols: e.tp_pk_symbols(), complete: e.tp_pk_complete() === 1 };
}
