// The Tidepool encoder as a profiling workload: frames pushed row by row through its ABI.
import type { BuildResult } from "../build.ts";
import { pushFrame, type LayerWork, type Workload } from "./profile.ts";
import { layerShapes } from "../../model/geometry.ts";
import { LAYER_FUNCTION } from "../kernels/generate.ts";
import { layerNativePerMac } from "../kernels/choice.ts";
import { policyInit } from "../policy/layout.ts";

/**
 * The conv work to report per layer: with specialised kernels each layer has its own functions
 * (conv_layerN, edge_layerN); the generic kernel serves every layer from one function (convRow), so
 * it is reported as one entry over all layers.
 */
export function encoderLayers(built: BuildResult): LayerWork[] {
  const { model, map } = built;
  const macs = layerShapes(model, map.width, map.height).map((s, i) => {
    const l = model.layers[i];
    return s.outWidth * s.outHeight * l.outChannels * l.kernel * l.kernel * l.inChannels;
  });
  if (built.kernels.mode === "generic")
    return [
      {
        name: `all ${model.layers.length} layers (generic convRow)`,
        functions: (fn) => /(^|\/)convRow$/.test(fn),
        macsPerFrame: macs.reduce((a, b) => a + b, 0),
      },
    ];
  const native = layerNativePerMac(
    built.board,
    model,
    built.kernels.layers.map((l) => l.variant),
    model.layers.map((_, i) => built.simd?.layers[i]?.kernel === "simd"),
  );
  return model.layers.map((l, i) => ({
    name: `layer ${i}: ${l.kernel}x${l.kernel}/${l.stride} ${l.inChannels}->${l.outChannels}`,
    functions: (fn) => LAYER_FUNCTION.exec(fn)?.[1] === String(i),
    macsPerFrame: macs[i],
    ...(native[i] ? { nativePerMac: native[i] } : {}),
  }));
}

export function encoderWorkload(built: BuildResult, frames: Uint8Array[]): Workload {
  const { width, height, format } = built.map;
  return {
    name: "tidepool",
    wasm: built.wasm,
    initEnd: built.map.initOffset + built.map.init.length,
    arenaEnd: built.map.arenaBytes,
    pixels: width * height,
    frames: frames.length,
    layers: encoderLayers(built),
    // The policy's descriptor, costs and section sit above the canary line; keep them.
    restore: [policyInit(built.model, built.map)].filter((x) => x !== null),
    run(ex, i) {
      pushFrame(ex, frames[i], width, height, format);
      // A module with an adaptive policy runs it after each frame, as the board does (docs/adaptive.md).
      if (typeof ex.tp_policy_check === "function" && ex.tp_policy_check() === 0 && ex.tp_policy_choose() < 0) throw new Error("tp_policy_choose failed");
      return ex.tp_latent_len();
    },
  };
}
