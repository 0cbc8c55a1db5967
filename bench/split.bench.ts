// Split computing per board: for each split point of the int8 MobileNetV2 (after inverted-residual
// block N), the split tensor, MACs and the planned arena (split tensor streamed out, and kept whole)
// at each board's camera frame; the split `--split auto` picks; predicted cycles of that head on the
// board (one sample photo, instrumented module x cost model, the board's default runtime).
// Settings: SPLIT_BENCH_PROFILE=0 skips the cycle counts (they take ~20 s of CPU per board).
import { loadBoards } from "../host/core/boards.ts";
import { importAllSplits, splitPoints, chooseSplit } from "../host/build/split-choice.ts";
import { planHeadArena } from "../host/build/memory-map/head-planner.ts";
import { buildHead } from "../host/build/head-build.ts";
import { headWorkload } from "../host/build/profile/head-workload.ts";
import { profileWorkload } from "../host/build/profile/profile.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { samplePhotos } from "../host/image/samples.ts";
import type { RuntimeMode } from "../host/build/profile/cost-models.ts";

const K = (b: number) => `${(b / 1024).toFixed(0)} K`;

export default async function splitBench() {
  const all = importAllSplits();
  const boards = loadBoards();
  console.log(
    "split points of mobilenetv2-12-int8 (block N = torchvision features[N]); arena = planned bytes at the board's camera frame, split tensor streamed (whole)",
  );
  console.log(
    `board budgets: ${boards.map((b) => `${b.name} ${K(b.memory.arenaBudgetBytes)} @ ${b.camera.width}x${b.camera.height} ${b.camera.format}`).join("; ")}`,
  );
  const perBoard = boards.map((b) => splitPoints(all, b, b.camera.width, b.camera.height, b.camera.format));
  console.log(`\n| split | tensor @320x240 | M MAC @320x240 | ${boards.map((b) => b.name).join(" | ")} |`);
  console.log(`|---|---|---|${boards.map(() => "---").join("|")}|`);
  for (let s = 0; s < all.splitPoints.length; s++) {
    const p = perBoard[boards.findIndex((b) => b.name === "k210")][s];
    const cells = boards.map((b, i) => {
      const q = perBoard[i][s];
      const unlimited = { ...b, memory: { ...b.memory, arenaBudgetBytes: Number.MAX_SAFE_INTEGER } };
      const whole = planHeadArena({ head: q.head, board: unlimited, width: b.camera.width, height: b.camera.height, format: b.camera.format }).arenaBytes;
      return `${q.fits ? "**" : ""}${K(q.arenaBytes)}${q.fits ? "**" : ""} (${K(whole)})`;
    });
    console.log(`| ${s} | ${p.shape.width}x${p.shape.height}x${p.shape.channels} | ${(p.macs / 1e6).toFixed(1)} | ${cells.join(" | ")} |`);
  }
  const profile = process.env.SPLIT_BENCH_PROFILE !== "0";
  console.log(`\n| board | --split auto | arena | M MAC | ${profile ? "M cycles/frame (runtime) | ms/frame |" : ""}`);
  console.log(`|---|---|---|---|${profile ? "---|---|" : ""}`);
  const photo = samplePhotos()[0];
  for (const [i, b] of boards.entries()) {
    const chosen = chooseSplit(perBoard[i], b, b.camera.width, b.camera.height);
    let cyc = "";
    if (profile) {
      const built = await buildHead({ board: b, head: chosen.head, streamOutput: true, withNames: true });
      const frame = toFrame(await loadRgb(photo, { width: b.camera.width, height: b.camera.height }), b.camera.format);
      const runtime = b.runtime.default as RuntimeMode;
      const r = await profileWorkload(headWorkload(built, [frame]), b, runtime);
      cyc = ` ${(r.cyclesPerFrame / 1e6).toFixed(0)} (${runtime}) | ${r.msPerFrame.toFixed(0)} |`;
    }
    console.log(`| ${b.name} | ${chosen.split} | ${chosen.arenaBytes} of ${b.memory.arenaBudgetBytes} | ${(chosen.macs / 1e6).toFixed(1)} |${cyc}`);
  }
}
