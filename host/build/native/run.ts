// Runs the encoder (or the device JPEG) natively under QEMU on frames given at run time, and checks
// it bit for bit against the same module run by Node's WebAssembly engine.
import { FailureError } from "../../core/errors.ts";
import { BYTES_PER_PIXEL, FORMAT_CODE, type PixelFormat } from "../../core/pixel-format.ts";
import { devicePacketize } from "../runtime/device-packetizer.ts";
import { describeDeviceStatus } from "../../core/device-status.ts";
import { EncoderInstance } from "../runtime/encoder-instance.ts";
import { loadDeviceJpeg, runJpeg, type JpegBuild } from "../jpeg/device-jpeg.ts";
import { buildNative, type NativeBuild } from "./compile.ts";
import { decodeOutput, encodeInput, type NativeFrameResult } from "./io-format.ts";
import { runUnderQemu } from "./qemu.ts";
import { NATIVE_TARGETS, type BoundsChecks, type NativeTargetName } from "./targets.ts";
import type { SimdKernels } from "../kernels/simd-m7.ts";

export interface FrameSpec {
  width: number;
  height: number;
  format: PixelFormat;
}
export interface PacketSpec {
  packetBytes: number;
  budgetBytes?: number;
  channels?: number;
  imageId?: number;
}

export interface NativeRun {
  build: NativeBuild;
  frames: NativeFrameResult[];
  /** Instructions the module executed per frame: tp_init + every tp_push_row (JPEG: its whole encode). */
  encodeInstructions: number[];
  /** Instructions of tp_pk_begin + every tp_pk_next per frame (encoder with packets only). */
  packetInstructions: number[];
  /** Encoder built with names: instructions per frame in each layer's generated kernel (index = layer). */
  layerInstructions?: number[];
  totalInstructions: number;
  qemu: string;
  wallMs: number;
}

function checkFrames(frames: Uint8Array[], spec: FrameSpec) {
  const bytes = spec.width * spec.height * BYTES_PER_PIXEL[spec.format];
  frames.forEach((f, i) => {
    if (f.length !== bytes)
      throw new FailureError("native-input", `frame ${i} has ${f.length} bytes, expected ${spec.width}x${spec.height} ${spec.format} = ${bytes}`);
  });
}

export function runNativeEncoder(
  wasm: Uint8Array,
  frames: Uint8Array[],
  spec: FrameSpec,
  opts: { target: NativeTargetName; boundsChecks: BoundsChecks; packets?: PacketSpec; simd?: SimdKernels },
): NativeRun {
  checkFrames(frames, spec);
  const build = buildNative({ wasm, target: NATIVE_TARGETS[opts.target], boundsChecks: opts.boundsChecks, workload: "encoder", simd: opts.simd });
  const packets = opts.packets && build.hasPacketizer ? opts.packets : undefined;
  const input = encodeInput({ workload: "encoder", ...spec, format: FORMAT_CODE[spec.format], frames, ...packets });
  const q = runUnderQemu(build, input);
  const results = decodeOutput(q.output, "encoder", !!packets);
  results.forEach((r, i) => {
    if (r.status < 0) throw new FailureError("native-encoder", `frame ${i} on ${opts.target}: ${describeDeviceStatus(r.status)}`);
  });
  const per = packets ? 2 : 1;
  if (q.counts.length !== frames.length * per)
    throw new FailureError("native-count", `expected ${frames.length * per} instruction counts, the plugin recorded ${q.counts.length}`);
  return {
    build,
    frames: results,
    encodeInstructions: frames.map((_, i) => q.counts[i * per]),
    packetInstructions: packets ? frames.map((_, i) => q.counts[i * per + 1]) : [],
    ...(build.layerFunctions.length ? { layerInstructions: perLayer(build, q.functionCounts, frames.length) } : {}),
    totalInstructions: q.totalInstructions,
    qemu: q.qemu,
    wallMs: q.wallMs,
  };
}

function perLayer(build: NativeBuild, counts: number[], frames: number): number[] {
  const out: number[] = [];
  build.layerFunctions.forEach((f, i) => {
    out[f.layer] = (out[f.layer] ?? 0) + (counts[i] ?? 0) / frames;
  });
  return Array.from(out, (v) => v ?? 0);
}

export function runNativeJpeg(
  wasm: Uint8Array,
  frames: Uint8Array[],
  spec: FrameSpec & { quality: number },
  opts: { target: NativeTargetName; boundsChecks: BoundsChecks },
): NativeRun {
  checkFrames(frames, spec);
  const build = buildNative({ wasm, target: NATIVE_TARGETS[opts.target], boundsChecks: opts.boundsChecks, workload: "jpeg" });
  const q = runUnderQemu(build, encodeInput({ workload: "jpeg", ...spec, format: FORMAT_CODE[spec.format], frames }));
  const results = decodeOutput(q.output, "jpeg", false);
  results.forEach((r, i) => {
    if (r.status < 0) throw new FailureError("native-jpeg", `frame ${i} on ${opts.target}: device JPEG error ${r.status}`);
  });
  return {
    build,
    frames: results,
    encodeInstructions: q.counts,
    packetInstructions: [],
    totalInstructions: q.totalInstructions,
    qemu: q.qemu,
    wallMs: q.wallMs,
  };
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

export interface BitExactReport {
  bitExact: boolean;
  latentBytes: number;
  packets: number;
  mismatches: string[];
}

/** Runs the same module in Node and compares latents (and packets) byte for byte. */
export async function compareEncoderWithHost(
  wasm: Uint8Array,
  frames: Uint8Array[],
  spec: FrameSpec,
  native: NativeRun,
  packets?: PacketSpec,
): Promise<BitExactReport> {
  const enc = await EncoderInstance.load(wasm);
  const mismatches: string[] = [];
  let latentBytes = 0,
    packetCount = 0;
  frames.forEach((frame, i) => {
    const host = enc.encode(frame, spec.width, spec.height, spec.format);
    const n = native.frames[i].latent!;
    latentBytes += host.data.length;
    if (n.width !== host.width || n.height !== host.height || n.channels !== host.channels)
      mismatches.push(`frame ${i}: latent shape ${n.channels}x${n.height}x${n.width} vs host ${host.channels}x${host.height}x${host.width}`);
    else if (!equal(n.data, host.data)) mismatches.push(`frame ${i}: latent differs at byte ${n.data.findIndex((v, k) => v !== host.data[k])}`);
    const np = native.frames[i].packets;
    if (packets && np) {
      if (np.begin < 0 || np.end < 0) {
        mismatches.push(`frame ${i}: native packetizer ${describeDeviceStatus(Math.min(np.begin, np.end))}`);
        return;
      }
      const hp = devicePacketize(enc, {
        imageId: (packets.imageId ?? 0) + i,
        packetBytes: packets.packetBytes,
        budgetBytes: packets.budgetBytes,
        channels: packets.channels,
      });
      packetCount += hp.packets.length;
      if (hp.packets.length !== np.packets.length) mismatches.push(`frame ${i}: ${np.packets.length} packets vs host ${hp.packets.length}`);
      else
        hp.packets.forEach((p, k) => {
          if (!equal(p, np.packets[k])) mismatches.push(`frame ${i}: packet ${k} differs`);
        });
    }
  });
  return { bitExact: mismatches.length === 0, latentBytes, packets: packetCount, mismatches };
}

export async function compareJpegWithHost(
  jpeg: JpegBuild,
  frames: Uint8Array[],
  spec: FrameSpec & { quality: number },
  native: NativeRun,
): Promise<BitExactReport> {
  const mismatches: string[] = [];
  let bytes = 0;
  for (let i = 0; i < frames.length; i++) {
    const ex = await loadDeviceJpeg(jpeg);
    const host = runJpeg(ex, frames[i], spec.width, spec.height, spec.format, spec.quality);
    bytes += host.length;
    if (!equal(host, native.frames[i].jpeg!)) mismatches.push(`frame ${i}: JPEG file differs (${native.frames[i].jpeg!.length} vs host ${host.length} bytes)`);
  }
  return { bitExact: mismatches.length === 0, latentBytes: bytes, packets: 0, mismatches };
}
