// Core figures: module size and arena bytes per board; host encode time per frame, WASM encoder
// against the TypeScript reference (the baseline) in the same run.
import { performance } from "node:perf_hooks";
import { loadBoards } from "../host/core/boards.ts";
import { buildEncoder, loadDefaultModel } from "../host/build/build.ts";
import { EncoderInstance } from "../host/build/runtime/encoder-instance.ts";
import { referenceEncode } from "../host/build/reference/encoder.ts";
import { macs, parameterCount } from "../host/model/geometry.ts";
import { packFrame, randomRgb } from "../tests/helpers/frames.ts";

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeIt(fn: () => void, minMs = 300, minRuns = 5): number {
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export default async function coreBench() {
  const model = loadDefaultModel();
  console.log(`model: ${model.meta.name ?? "unnamed"}, ${parameterCount(model)} parameters, ${(macs(model, 224, 224) / 1e6).toFixed(2)} M MAC per 224x224`);
  console.log(`settings: asc 0.28 per-board asconfig targets (-O3, runtime stub, noAssert); Node ${process.version}; median of >= 5 runs\n`);
  console.log("board        frame          format  arena B   budget B  headroom B  module B");
  for (const board of loadBoards()) {
    const r = await buildEncoder({ board, model });
    console.log(
      `${board.name.padEnd(12)} ${`${r.map.width}x${r.map.height}`.padEnd(14)} ${r.map.format.padEnd(7)} ${String(r.map.arenaBytes).padEnd(9)} ${String(r.map.arenaBudgetBytes).padEnd(9)} ${String(r.map.headroomBytes).padEnd(11)} ${r.moduleBytes}`,
    );
  }
  console.log("\nhost encode time per frame (k210 build), WASM vs TypeScript reference (baseline)");
  console.log("frame     format  WASM ms   reference ms  speed-up");
  for (const [w, h] of [
    [224, 224],
    [320, 240],
  ] as const)
    for (const format of ["rgb565", "rgb888", "gray8"] as const) {
      const built = await buildEncoder({ board: "k210", model, width: w, height: h, format });
      const enc = await EncoderInstance.load(built.wasm, built.board);
      const frame = packFrame(randomRgb(1, w, h), w, h, format);
      const wasmMs = timeIt(() => enc.encode(frame, w, h, format));
      const refMs = timeIt(() => referenceEncode(model, frame, w, h, format));
      console.log(
        `${`${w}x${h}`.padEnd(9)} ${format.padEnd(7)} ${wasmMs.toFixed(2).padStart(7)}   ${refMs.toFixed(2).padStart(12)}  ${(refMs / wasmMs).toFixed(1)}x`,
      );
    }
}
