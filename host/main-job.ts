// `npm start`: the whole loop on a virtual board. Build the encoder for the default board (k210),
// start a virtual board whose camera serves the sample photos, flash it over the pseudo-terminal,
// encode every photo on the board, check each latent on the host against the host-run WASM, and
// print sizes and timings.
import { performance } from "node:perf_hooks";
import { basename, dirname } from "node:path";
import { buildEncoder } from "./build/build.ts";
import { loadRgb, toFrame } from "./image/load.ts";
import { samplePhotos } from "./image/samples.ts";
import { EncoderInstance } from "./build/runtime/encoder-instance.ts";
import { repoPath } from "./core/paths.ts";
import { VirtualBoard } from "../flash-tools/virtual-board/virtual-board.ts";
import { SerialLink } from "../flash-tools/serial-link.ts";
import { RawRepl } from "../flash-tools/raw-repl.ts";
import { installTidepool } from "../flash-tools/install.ts";
import { existsSync } from "node:fs";
import { DEFAULT_DECODER_PATH, loadDecoder } from "./receiver/decoder.ts";
import { PacketRate } from "./wire/bitstream/packet-rate.ts";
import { modelTables } from "./wire/bitstream/tables.ts";
import { msssim, psnr } from "./eval/metrics.ts";
import { unpackRow, BYTES_PER_PIXEL } from "./core/pixel-format.ts";
import type { Latent } from "./core/types.ts";
import type { ServerDecoder } from "./core/types.ts";
import { bridgeSource } from "../flash-tools/install.ts";

const BOARD = process.env.TIDEPOOL_BOARD_NAME ?? "k210";
const BAUD = Number(process.env.TIDEPOOL_BAUD ?? 921_600);

/** Host side of what the board sent. Today: the latent must match the host-run encoder bit for bit. */
function checkOnHost(received: Latent, expected: Latent): string {
  return Buffer.from(received.data).equals(Buffer.from(expected.data)) ? "bit-exact" : "MISMATCH";
}

async function main() {
  const photos = samplePhotos();
  const built = await buildEncoder({ board: BOARD, outDir: repoPath("build", BOARD) });
  const { width, height, format } = built.map;
  console.log(`1. built ${built.files!.wasm}: ${built.moduleBytes} B module, arena ${built.map.arenaBytes} / ${built.map.arenaBudgetBytes} B, model ${built.model.meta.name ?? "unnamed"}`);

  const vb = await VirtualBoard.start({ board: built.board, baud: BAUD, cameraImages: photos });
  const link = await SerialLink.open(vb.path, BAUD);
  try {
    console.log(`2. virtual ${built.board.name} (MicroPython, ${built.board.camera.sensor} camera with ${photos.length} sample photos) on ${vb.path} at ${BAUD} baud`);
    const repl = new RawRepl(link);
    await repl.enter(true);
    const { result, bridge } = await installTidepool(repl, built.board.name, bridgeSource(), built.wasm);
    console.log(`3. flashed ${result.bytes} B in ${result.seconds.toFixed(2)} s, sha256 verified on the board\n`);

    const host = await EncoderInstance.load(built.wasm, built.board);
    const decoder: ServerDecoder | null = existsSync(DEFAULT_DECODER_PATH) ? await loadDecoder() : null;
    const rate = built.model.entropy ? new PacketRate(modelTables(built.model, "the built model")) : null;
    console.log("board   image                  arena B / budget B  module B  latent      bytes  board encode ms  host encode ms  round trip ms  check      PSNR dB  MS-SSIM");
    let failures = 0;
    for (const path of photos) {
      const t0 = performance.now();
      const got = await bridge.encode(width, height, format, null);
      const roundTrip = performance.now() - t0;
      const frame = toFrame(await loadRgb(path, { width, height }), format);
      const t1 = performance.now();
      const want = host.encode(frame, width, height, format);
      const hostMs = performance.now() - t1;
      const check = checkOnHost(got.latent, want);
      if (check !== "bit-exact") failures++;
      const name = basename(dirname(dirname(path))).replace("datasets-img-", "");
      const bytes = rate ? String(rate.bytes(got.latent, got.latent.channels)) : "-";
      let quality = "(no decoder: models/decoder.onnx missing)";
      if (decoder) {
        // Decode on the host and compare with the frame the camera delivered (RGB565 expanded to 8 bits).
        const img = await decoder.decode(got.latent, new Uint8Array(got.latent.data.length).fill(1), built.model);
        const seen = new Uint8Array(width * height * 3), bpp = BYTES_PER_PIXEL[format];
        for (let y = 0; y < height; y++) seen.set(unpackRow(frame.subarray(y * width * bpp, (y + 1) * width * bpp), width, format, 3), y * width * 3);
        const ref = { width, height, data: seen };
        quality = `${psnr(ref, img).toFixed(2).padStart(7)}  ${msssim(ref, img).toFixed(4)}`;
      }
      console.log(`${built.board.name.padEnd(7)} ${name.padEnd(22)} ${`${built.map.arenaBytes} / ${built.map.arenaBudgetBytes}`.padEnd(19)} ${String(built.moduleBytes).padEnd(9)} ` +
        `${`${got.latent.channels}x${got.latent.height}x${got.latent.width}`.padEnd(11)} ${bytes.padStart(5)}  ${(got.encodeUs / 1000).toFixed(1).padStart(15)}  ${hostMs.toFixed(2).padStart(14)}  ${roundTrip.toFixed(0).padStart(13)}  ${check.padEnd(9)}  ${quality}`);
    }
    const stats = await bridge.stats();
    await bridge.exit(repl);
    console.log(`\nbridge: ${stats.frames_in} frames in, ${stats.frames_out} out, ${stats.bad_frames} bad; latent ${width / 8}x${height / 8}x12 symbols per image (${(width / 8) * (height / 8) * 12} B before entropy coding)`);
    console.log(rate ? `bytes: ${rate.describe}.` : "bytes: - (the model carries no entropy tables: run `tidepool fit-tables`)");
    console.log("board encode ms is the virtual board's own clock (MicroPython in WebAssembly on this host), not a prediction for the real board: see `tidepool profile`.");
    await decoder?.close?.();
    if (failures) throw new Error(`${failures} image(s) differ between board and host`);
  } finally {
    await link.close();
    await vb.stop();
  }
}

main().catch((e) => { console.error(`npm start: ${(e as Error).message}`); process.exit(1); });
