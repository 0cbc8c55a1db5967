// Over the air on the virtual board: what one camera frame costs when the board returns the raw latent
// (the baseline, same run), its link packets, or sends them as LoRaWAN uplinks through the virtual
// LoRa-E5 at SF7 / SF9 / SF12 (the modem's clock is simulated: airtime and duty-cycle waits are
// radio time, round trip is this machine's time).
import { performance } from "node:perf_hooks";
import { getBoard } from "../host/core/boards.ts";
import { buildEncoder } from "../host/build/build.ts";
import { samplePhotos } from "../host/image/samples.ts";
import { VirtualBoard } from "../flash-tools/virtual-board/virtual-board.ts";
import { SerialLink } from "../flash-tools/serial-link.ts";
import { RawRepl } from "../flash-tools/raw-repl.ts";
import { bridgeSource, installTidepool } from "../flash-tools/install.ts";

const TTN_FAIR_USE_S = 30;

export default async function airBench() {
  const board = getBoard("k210");
  const built = await buildEncoder({ board });
  if (!built.model.entropy) {
    console.log("the model has no entropy tables: no packets to send");
    return;
  }
  const { width, height, format } = built.map;
  const photo = samplePhotos()[0];
  console.log(
    `virtual k210 (MicroPython 1.27 WebAssembly port, 921600 baud), camera ${width}x${height} ${format}: ${photo.split("/").slice(-3, -2)[0]}; model ${built.model.meta.name ?? "unnamed"}`,
  );
  console.log(
    "output            packet B  packets  bytes  round trip ms  board encode ms  board packetize ms  airtime s  duty wait s  images/day (TTN 30 s)  images/day (1 % duty)",
  );
  for (const run of [
    { label: "latent (baseline)", output: "latent" as const, dr: 5, packetBytes: 222 },
    { label: "packets", output: "packets" as const, dr: 5, packetBytes: 222 },
    { label: "uplink SF7", output: "uplink" as const, dr: 5, packetBytes: 222 },
    { label: "uplink SF9", output: "uplink" as const, dr: 3, packetBytes: 115 },
    { label: "uplink SF12", output: "uplink" as const, dr: 0, packetBytes: 51 },
  ]) {
    const vb = await VirtualBoard.start({ board, baud: 921_600, cameraImages: [photo], modem: { dataRate: run.dr } });
    const link = await SerialLink.open(vb.path, 921_600);
    try {
      const repl = new RawRepl(link, { enterMs: 20_000, execMs: 60_000, interCharMs: 20_000 });
      await repl.enter(true);
      const { bridge } = await installTidepool(repl, board.name, bridgeSource(), built.wasm);
      if (run.output === "uplink") await bridge.modem();
      const air0 = vb.modem!.airtimeMs;
      const t = performance.now();
      const r = await bridge.encode(width, height, format, null, { output: run.output, packetBytes: run.packetBytes, timeoutMs: 300_000 });
      const ms = performance.now() - t;
      const airS = (vb.modem!.airtimeMs - air0) / 1000;
      const bytes = run.output === "latent" ? r.latent!.data.length : r.bytes;
      const perDay = (budget: number) => (airS > 0 ? (budget / airS).toFixed(1) : "–");
      console.log(
        `${run.label.padEnd(17)} ${String(run.output === "latent" ? "–" : run.packetBytes).padStart(8)}  ${String(r.packets.length).padStart(7)}  ${String(bytes).padStart(5)}  ${ms.toFixed(0).padStart(13)}  ${(r.encodeUs / 1000).toFixed(0).padStart(15)}  ${(r.packetizeUs / 1000).toFixed(0).padStart(18)}  ${airS ? airS.toFixed(1).padStart(9) : "        –"}  ${r.uplinkWaitMs ? (r.uplinkWaitMs / 1000).toFixed(0).padStart(11) : "          –"}  ${perDay(TTN_FAIR_USE_S).padStart(21)}  ${perDay(86_400 * 0.01).padStart(21)}`,
      );
      await bridge.exit(repl);
    } finally {
      await link.close();
      await vb.stop();
    }
  }
  console.log(
    "bytes: latent = raw symbols read over the bridge; packets = every byte of the link packets (headers, CRCs); airtime: Semtech formula with the 13-byte LoRaWAN overhead, EU868 125 kHz CR 4/5; images/day = daily airtime allowance / airtime per image (whole images, no budget)",
  );
}
