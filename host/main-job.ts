// `npm start`: build the encoder for the default board (k210) and encode the sample photos,
// printing board, arena bytes / budget, module size and host encode time per image.
import { performance } from "node:perf_hooks";
import { basename, dirname } from "node:path";
import { buildEncoder } from "./build/build.ts";
import { loadRgb, toFrame } from "./image/load.ts";
import { samplePhotos } from "./image/samples.ts";
import { EncoderInstance } from "./runtime/encoder-instance.ts";
import { repoPath } from "./paths.ts";

const BOARD = process.env.TIDEPOOL_BOARD_NAME ?? "k210";

async function main() {
  const built = await buildEncoder({ board: BOARD, outDir: repoPath("build", BOARD) });
  const enc = await EncoderInstance.load(built.wasm, built.board);
  const { width, height, format } = built.map;
  console.log(`Tidepool encoder for ${built.board.name}: ${built.files!.wasm}`);
  console.log(`model: ${built.model.meta.name ?? "unnamed"}; frame ${width}x${height} ${format}\n`);
  console.log("board   image                    arena B / budget B   module B   latent     encode ms (host WASM)");
  for (const path of samplePhotos()) {
    const frame = toFrame(await loadRgb(path, { width, height }), format);
    enc.encode(frame, width, height, format); // warm-up
    const t0 = performance.now();
    const latent = enc.encode(frame, width, height, format);
    const ms = performance.now() - t0;
    const name = basename(dirname(dirname(path))).replace("datasets-img-", "");
    console.log(`${built.board.name.padEnd(7)} ${name.padEnd(24)} ${`${built.map.arenaBytes} / ${built.map.arenaBudgetBytes}`.padEnd(20)} ${String(built.moduleBytes).padEnd(10)} ${`${latent.channels}x${latent.height}x${latent.width}`.padEnd(10)} ${ms.toFixed(2)}`);
  }
}

main().catch((e) => { console.error(`npm start: ${(e as Error).message}`); process.exit(1); });
