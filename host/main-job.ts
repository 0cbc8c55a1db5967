// `npm start`: the whole loop on one machine, over the air. Build the encoder for the default board
// (k210); start the Tidepool gateway (SQLite under out/npm-start/); start a virtual board whose camera
// serves the sample photos and whose UART has a virtual LoRa-E5 modem delivering to the gateway as
// ChirpStack's HTTP integration would; flash it; join; the board captures, encodes and packetizes each
// photo and sends every packet as an uplink (EU868 duty cycle and loss on the modem's simulated clock);
// the gateway stores, reassembles and decodes them; the page's URL is printed and the decoded images
// are written beside the camera frames as out/npm-start/index.html.
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import sharp from "sharp";
import { buildEncoder } from "./build/build.ts";
import { loadRgb, toFrame } from "./image/load.ts";
import { samplePhotos } from "./image/samples.ts";
import { EncoderInstance } from "./build/runtime/encoder-instance.ts";
import { devicePacketize } from "./build/runtime/device-packetizer.ts";
import { repoPath } from "./core/paths.ts";
import { atomicWrite } from "./core/atomic-write.ts";
import { unpackRow, BYTES_PER_PIXEL } from "./core/pixel-format.ts";
import type { RgbImage } from "./core/types.ts";
import { VirtualBoard } from "../flash-tools/virtual-board/virtual-board.ts";
import { EU868_DATA_RATES } from "../flash-tools/virtual-board/virtual-modem.ts";
import { SerialLink } from "../flash-tools/serial-link.ts";
import { RawRepl } from "../flash-tools/raw-repl.ts";
import { bridgeSource, installTidepool } from "../flash-tools/install.ts";
import { getLink } from "./wire/link/presets.ts";
import { lossLabel, parseLoss } from "./wire/link/loss.ts";
import { startGateway } from "./receiver/gateway/gateway.ts";
import { msssim, psnr } from "./eval/metrics.ts";
import { loopPage, type LoopRow } from "./eval/loop-page.ts";

const BOARD = process.env.TIDEPOOL_BOARD_NAME ?? "k210";
const BAUD = Number(process.env.TIDEPOOL_BAUD ?? 921_600);
const LINK = process.env.TIDEPOOL_LINK ?? "lora-sf7";
const LOSS = process.env.TIDEPOOL_LOSS ?? "iid:0.05";
const BUDGET = process.env.TIDEPOOL_BUDGET ? Number(process.env.TIDEPOOL_BUDGET) : undefined;
const PHOTOS = Number(process.env.TIDEPOOL_PHOTOS ?? 7);
/** Keep the gateway's page up this long after the run (0: stop at once; the HTML page stays). */
const SERVE_SECONDS = Number(process.env.TIDEPOOL_SERVE_SECONDS ?? 0);
const OUT = process.env.TIDEPOOL_OUT ?? repoPath("out", "npm-start");
const DEV_EUI = "2cf7f1203230a001";

const stage = (n: number, text: string) => console.log(`${n}. ${text}`);

function cameraImage(frame: Uint8Array, width: number, height: number, format: "gray8" | "rgb565" | "rgb888"): RgbImage {
  // What the camera delivered, expanded to 8-bit RGB: the reference the decoded image is compared with.
  const data = new Uint8Array(width * height * 3),
    bpp = BYTES_PER_PIXEL[format];
  for (let y = 0; y < height; y++) data.set(unpackRow(frame.subarray(y * width * bpp, (y + 1) * width * bpp), width, format, 3), y * width * 3);
  return { width, height, data };
}

const png = (img: RgbImage) =>
  sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();

async function main() {
  const t0 = performance.now();
  const link = getLink(LINK);
  const dr = EU868_DATA_RATES.find((d) => d.maxPayload === link.payloadBytes && `lora-sf${d.sf}` === link.name);
  if (!dr) throw new Error(`TIDEPOOL_LINK=${LINK}: npm start sends over LoRaWAN; use lora-sf7, lora-sf9 or lora-sf12`);
  const loss = parseLoss(LOSS);
  const photos = samplePhotos().slice(0, Math.max(1, PHOTOS));

  const built = await buildEncoder({ board: BOARD, outDir: repoPath("build", BOARD) });
  const { width, height, format } = built.map;
  stage(
    1,
    `built ${built.files!.wasm}: ${built.moduleBytes} B module, arena ${built.map.arenaBytes} / ${built.map.arenaBudgetBytes} B, model ${built.model.meta.name ?? "unnamed"}`,
  );
  if (!built.model.entropy) throw new Error("the model has no entropy tables (ENTR): the board cannot make packets; run `tidepool fit-tables`");

  mkdirSync(OUT, { recursive: true });
  const db = join(OUT, "gateway.db");
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  const token = randomBytes(12).toString("hex");
  const gatewayLog: string[] = [];
  // The modem's clock runs faster than real time (a duty-cycle wait advances it), so its uplinks reach
  // the gateway faster than a real device's could: lift the gateway's per-device rate limit for the run.
  const gw = await startGateway({
    port: 0,
    db,
    token,
    mqtt: null,
    fPort: 8,
    frames: { [DEV_EUI]: `${width}x${height}` },
    deviceRate: { rate: 100_000, burst: 100_000 },
    sourceRate: { rate: 100_000, burst: 100_000 },
    log: (line: string) => gatewayLog.push(line),
  });
  stage(2, `gateway ${gw.url} (SQLite ${db})${gw.notes.length ? `; ${gw.notes.join("; ")}` : ""}`);

  const vb = await VirtualBoard.start({
    board: built.board,
    baud: BAUD,
    cameraImages: photos,
    modem: {
      uplinkUrl: `${gw.url.replace(/\/$/, "")}/ingest/chirpstack`,
      token,
      devEui: DEV_EUI,
      dataRate: dr.dr,
      loss,
      seed: 7,
      deviceName: `virtual-${BOARD}`,
    },
  });
  const serial = await SerialLink.open(vb.path, BAUD);
  const rows: LoopRow[] = [];
  try {
    stage(
      3,
      `virtual ${built.board.name} (MicroPython, ${built.board.camera.sensor} camera with ${photos.length} sample photos, LoRa-E5 on its UART) on ${vb.path} at ${BAUD} baud`,
    );
    const repl = new RawRepl(serial);
    await repl.enter(true);
    const { result, bridge } = await installTidepool(repl, built.board.name, bridgeSource(), built.wasm);
    stage(4, `flashed ${result.bytes} B in ${result.seconds.toFixed(2)} s, sha256 verified on the board`);
    const modem = await bridge.modem();
    stage(
      5,
      `modem joined (OTAA): DevEUI ${modem.dev_eui}, EU868 DR${dr.dr} (SF${dr.sf}), ${modem.max_payload}-byte payloads; ${link.description}; loss ${lossLabel(loss)}${BUDGET ? `; ${BUDGET} B per image` : ""}`,
    );

    const host = await EncoderInstance.load(built.wasm, built.board);
    stage(6, "the board captures, encodes, packetizes and sends each photo:");
    console.log("   image                  packets  bytes  airtime s  duty-cycle wait s  board encode ms  check");
    const sent: Array<{ name: string; imageId: number; packets: number; bytes: number; camera: RgbImage; airtimeS: number; lost: number[] }> = [];
    let mismatches = 0;
    for (const [i, path] of photos.entries()) {
      const before = vb.modem!.airtimeMs,
        firstUplink = vb.modem!.uplinks.length;
      const got = await bridge.encode(width, height, format, null, {
        output: "uplink",
        imageId: i,
        packetBytes: link.payloadBytes,
        budgetBytes: BUDGET,
        timeoutMs: 120_000,
      });
      const frame = toFrame(await loadRgb(path, { width, height }), format);
      host.encode(frame, width, height, format);
      const want = devicePacketize(host, { imageId: i, packetBytes: link.payloadBytes, budgetBytes: BUDGET });
      const same = want.packets.length === got.packets.length && want.packets.every((p, k) => Buffer.from(p).equals(Buffer.from(got.packets[k])));
      if (!same) mismatches++;
      const name = basename(dirname(dirname(path))).replace("datasets-img-", "");
      const airtimeS = (vb.modem!.airtimeMs - before) / 1000;
      // Which of this image's packets the air lost (the modem knows; the gateway sees only gaps).
      const lost = vb.modem!.uplinks.slice(firstUplink).flatMap((u, k) => (u.lost ? [k] : []));
      sent.push({ name, imageId: i, packets: got.packets.length, bytes: got.bytes, camera: cameraImage(frame, width, height, format), airtimeS, lost });
      console.log(
        `   ${name.padEnd(22)} ${String(got.packets.length).padStart(7)}  ${String(got.bytes).padStart(5)}  ${airtimeS.toFixed(2).padStart(9)}  ${(got.uplinkWaitMs / 1000).toFixed(1).padStart(17)}  ${(got.encodeUs / 1000).toFixed(1).padStart(15)}  ${same ? "packets = host WASM" : "MISMATCH"}`,
      );
    }
    await bridge.exit(repl);
    await vb.modem!.flush();
    const m = vb.modem!.stats();
    stage(
      7,
      `radio: ${m.uplinks} uplinks, ${m.lost} lost on the air, ${m.delivered} delivered to the gateway${m.failed ? `, ${m.failed} refused (${vb.modem!.failures[0].status}: ${vb.modem!.failures[0].message})` : ""}; ${m.airtimeS.toFixed(1)} s on air in ${(m.clockS / 3600).toFixed(2)} h of simulated time`,
    );

    await gw.idle();
    const images = (await (await fetch(`${gw.url.replace(/\/$/, "")}/api/images?device=${DEV_EUI}&limit=100`)).json()) as Array<{
      id: number;
      imageId: number;
      received: number[];
      missing: number[];
      symbols: number;
      totalSymbols: number;
      png: string | null;
      labels: { top5: { name: string }[] } | null;
    }>;
    for (const s of sent) {
      const img = images.find((x) => x.imageId === s.imageId);
      const cameraFile = `${s.name}-camera.png`;
      atomicWrite(join(OUT, cameraFile), await png(s.camera));
      let decodedFile: string | null = null,
        q: { p: number; m: number } | null = null;
      if (img?.png) {
        const res = await fetch(`${gw.url.replace(/\/$/, "")}${img.png}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        decodedFile = `${s.name}-decoded.png`;
        atomicWrite(join(OUT, decodedFile), bytes);
        const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        const decoded = { width: info.width, height: info.height, data: new Uint8Array(data) };
        if (decoded.width === width && decoded.height === height) q = { p: psnr(s.camera, decoded), m: msssim(s.camera, decoded) };
      }
      rows.push({
        name: s.name,
        camera: cameraFile,
        decoded: decodedFile,
        packets: s.packets,
        received: img?.received.length ?? 0,
        bytes: s.bytes,
        airtimeS: s.airtimeS,
        psnr: q?.p ?? null,
        msssim: q?.m ?? null,
        labels: img?.labels?.top5.map((l) => l.name) ?? [],
        note: img
          ? `${img.symbols} of ${img.totalSymbols} symbols${s.lost.length ? `; lost on the air: packet${s.lost.length > 1 ? "s" : ""} ${s.lost.join(", ")}` : ""}`
          : "nothing arrived",
      });
    }
    stage(8, "the gateway decoded (progressively, from the stored uplinks):");
    console.log("   image                  received  PSNR dB  MS-SSIM  top-1");
    for (const r of rows)
      console.log(
        `   ${r.name.padEnd(22)} ${`${r.received}/${r.packets}`.padStart(8)}  ${r.psnr === null ? "      –" : r.psnr.toFixed(2).padStart(7)}  ${r.msssim === null ? "      –" : r.msssim.toFixed(4).padStart(7)}  ${r.labels[0] ?? "–"}`,
      );
    const page = join(OUT, "index.html");
    atomicWrite(
      page,
      loopPage(rows, {
        board: built.board.name,
        link: link.description,
        loss: lossLabel(loss),
        gatewayUrl: gw.url,
        devEui: DEV_EUI,
        airtimeS: m.airtimeS,
        clockS: m.clockS,
        seconds: (performance.now() - t0) / 1000,
      }),
    );
    stage(9, `page: ${gw.url} (live, while the gateway runs); decoded images beside the originals: ${page}`);
    console.log(`   reopen the live page later: tidepool gateway --db ${db} --frame ${DEV_EUI}=${width}x${height}`);
    if (mismatches) throw new Error(`${mismatches} image(s): the board's packets differ from the host-run WASM's`);
    if (SERVE_SECONDS > 0) {
      console.log(`   serving ${gw.url} for ${SERVE_SECONDS} s (TIDEPOOL_SERVE_SECONDS)`);
      await new Promise((r) => setTimeout(r, SERVE_SECONDS * 1000));
    }
  } finally {
    await serial.close();
    await vb.stop();
    await gw.close();
  }
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(`npm start: ${(e as Error).message}`);
  process.exit(1);
});
