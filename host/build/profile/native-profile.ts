// `tidepool profile --runtime qemu-m7|qemu-rv32|qemu-rv64`: the modelled profile (the board's AOT
// cost model on the instrumented WASM) next to the same module compiled natively (wasm2c + GCC) and
// run under QEMU, with its executed instructions counted and its output checked against the host.
import type { BuildResult } from "../build.ts";
import { macs } from "../../model/geometry.ts";
import type { JpegBuild } from "../jpeg/device-jpeg.ts";
import { compareEncoderWithHost, compareJpegWithHost, runNativeEncoder, runNativeJpeg, type FrameSpec, type PacketSpec } from "../native/run.ts";
import { SIMD_VARIANT } from "../kernels/simd-m7.ts";
import { NATIVE_TARGETS, type BoundsChecks, type NativeTargetName } from "../native/targets.ts";
import type { ProfileResult } from "./profile.ts";

export const COUNTED_NOTE = "instructions counted under QEMU (TCG plugin): executed instructions, not cycles (no pipeline, cache or wait-state model)";

export interface NativeProfile {
  target: NativeTargetName;
  isa: string;
  qemu: string;
  compiler: string;
  boundsChecks: BoundsChecks;
  note: string;
  bitExact: boolean;
  mismatches: string[];
  /** Mean per frame: tp_init + tp_push_row (JPEG: the whole encode). */
  instructionsPerFrame: number;
  instructionsPerPixel: number;
  /** Encoder only: native instructions per multiply-accumulate of the model. */
  instructionsPerMac?: number;
  macsPerFrame?: number;
  /** Encoder with the specialised kernels: per conv layer, WebAssembly (host, instrumented) and native (counted) instructions per MAC. */
  layers?: Array<{ name: string; variant?: string; macsPerFrame: number; wasmPerMac: number; nativePerFrame: number; nativePerMac: number }>;
  /** Encoder with packets: tp_pk_begin + tp_pk_next per frame. */
  packetInstructionsPerFrame?: number;
  /** Executed WebAssembly instructions per native instruction (the compiler's fold factor). */
  wasmPerNativeInstruction: number;
  /** The AOT model's cycles per frame divided by the counted instructions: the CPI the model implies. */
  modelCyclesPerInstruction: number;
  sizes: {
    moduleCode: number;
    /** Cortex-M7 DSP kernels (docs/kernels.md): their code and their int16 weights; 0 without them. */
    simdCode: number;
    simdConstants: number;
    moduleConstants: number;
    moduleText: number;
    runtimeText: number;
    linearMemoryBytes: number;
    runtimeBss: number;
    firmwareText: number;
    firmwareData: number;
    firmwareBss: number;
  };
  qemuWallMs: number;
}

export interface NativeProfileInput {
  target: NativeTargetName;
  boundsChecks: BoundsChecks;
  frames: Uint8Array[];
  spec: FrameSpec;
  modelled: ProfileResult;
  encoder?: BuildResult;
  packets?: PacketSpec;
  jpeg?: { build: JpegBuild; quality: number };
}

export async function nativeProfile(p: NativeProfileInput): Promise<NativeProfile> {
  const t = NATIVE_TARGETS[p.target];
  const opts = { target: p.target, boundsChecks: p.boundsChecks };
  let run: ReturnType<typeof runNativeEncoder> | ReturnType<typeof runNativeJpeg>,
    check: Awaited<ReturnType<typeof compareEncoderWithHost>>,
    macsPerFrame: number | undefined;
  if (p.encoder) {
    run = runNativeEncoder(p.encoder.wasm, p.frames, p.spec, { ...opts, packets: p.packets, simd: p.encoder.simd });
    check = await compareEncoderWithHost(p.encoder.wasm, p.frames, p.spec, run, p.packets);
    macsPerFrame = macs(p.encoder.model, p.spec.width, p.spec.height);
  } else if (p.jpeg) {
    const spec = { ...p.spec, quality: p.jpeg.quality };
    run = runNativeJpeg(p.jpeg.build.wasm, p.frames, spec, opts);
    check = await compareJpegWithHost(p.jpeg.build, p.frames, spec, run);
  } else throw new Error("nativeProfile needs an encoder or a JPEG build");
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const perFrame = mean(run.encodeInstructions);
  const b = run.build;
  return {
    target: p.target,
    isa: t.isa,
    qemu: run.qemu,
    compiler: b.cc,
    boundsChecks: p.boundsChecks,
    note: COUNTED_NOTE,
    bitExact: check.bitExact,
    mismatches: check.mismatches,
    instructionsPerFrame: perFrame,
    instructionsPerPixel: perFrame / (p.spec.width * p.spec.height),
    instructionsPerMac: macsPerFrame ? perFrame / macsPerFrame : undefined,
    macsPerFrame,
    packetInstructionsPerFrame: run.packetInstructions.length ? mean(run.packetInstructions) : undefined,
    ...(run.layerInstructions && p.modelled.layers?.length === run.layerInstructions.length
      ? {
          layers: p.modelled.layers.map((l, i) => ({
            name: l.name,
            variant: run.build.simdLayers.includes(i) ? SIMD_VARIANT : p.encoder?.kernels.layers[i]?.variant,
            macsPerFrame: l.macsPerFrame,
            wasmPerMac: l.instructionsPerMac,
            nativePerFrame: run.layerInstructions![i],
            nativePerMac: run.layerInstructions![i] / l.macsPerFrame,
          })),
        }
      : {}),
    wasmPerNativeInstruction: p.modelled.instructions / p.modelled.frames / perFrame,
    modelCyclesPerInstruction: p.modelled.cyclesPerFrame / perFrame,
    sizes: {
      moduleCode: b.moduleSplit.code,
      simdCode: b.simdSplit?.code ?? 0,
      simdConstants: b.simdSplit?.constants ?? 0,
      moduleConstants: b.moduleSplit.constants,
      moduleText: b.moduleSizes.text,
      runtimeText: b.runtimeSizes.text,
      linearMemoryBytes: b.linearMemoryBytes,
      runtimeBss: b.runtimeSizes.bss,
      firmwareText: b.firmwareSizes.text,
      firmwareData: b.firmwareSizes.data,
      firmwareBss: b.firmwareSizes.bss,
    },
    qemuWallMs: run.wallMs,
  };
}
