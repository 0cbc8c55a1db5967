// End to end over the air: a virtual board with a virtual LoRa-E5 on its UART encodes frames, runs its
// packetizer, hands each packet to the modem with AT commands (joining first, waiting out the duty
// cycle), and the modem delivers ChirpStack v4 `?event=up` uplinks to a real HTTP server. The received
// payloads are the host-run WASM's packets, and they decode to the host's latent.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeClient } from "../../flash-tools/bridge-client.ts";
import { bridgeSource, installTidepool } from "../../flash-tools/install.ts";
import { RawRepl } from "../../flash-tools/raw-repl.ts";
import { SerialLink } from "../../flash-tools/serial-link.ts";
import { VirtualBoard } from "../../flash-tools/virtual-board/virtual-board.ts";
import { buildEncoder, loadDefaultModel } from "../../host/build/build.ts";
import { devicePacketize } from "../../host/build/runtime/device-packetizer.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { getBoard } from "../../host/core/boards.ts";
import { decodePacketSet } from "../../host/receiver/packet-decoder.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";

const W = 64,
  H = 48;
const board = getBoard("k210");
const model = loadDefaultModel();
let server: Server;
const events: any[] = [];
let vb: VirtualBoard;
let link: SerialLink;
let repl: RawRepl;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.headers.authorization !== "Bearer tok") {
        res.writeHead(401).end();
        return;
      }
      if (req.url!.endsWith("?event=up")) events.push(JSON.parse(body));
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ingest/chirpstack`;
  vb = await VirtualBoard.start({ board, baud: 921_600, modem: { uplinkUrl: url, token: "tok", devEui: "2cf7f12032300001", dataRate: 3 } });
  link = await SerialLink.open(vb.path, 921_600);
  repl = new RawRepl(link, { enterMs: 30_000, execMs: 30_000, interCharMs: 30_000 });
  await repl.enter(true);
});

afterAll(async () => {
  await link?.close();
  await vb?.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("uplink over the virtual radio", () => {
  it("the board's packets arrive as ChirpStack uplinks, byte for byte the host-run WASM's, and decode to the host's latent", async () => {
    if (!model.entropy) return; // a model without ENTR tables has no packetizer
    const built = await buildEncoder({ board, model, width: W, height: H, format: "rgb565" });
    const { bridge } = await installTidepool(repl, board.name, bridgeSource(), built.wasm);
    const info = await bridge.modem();
    expect(info).toMatchObject({ type: "lora-e5", dev_eui: "2cf7f12032300001", joined: true, max_payload: 115 });

    const frame = packFrame(randomRgb(31, W, H), W, H, "rgb565");
    const got = await bridge.encode(W, H, "rgb565", frame, { output: "uplink", packetBytes: 115, imageId: 4 });
    expect(got.uplinks).toBe(got.packets.length);
    expect(got.packets.length).toBeGreaterThan(1);
    expect(got.uplinkWaitMs).toBeGreaterThan(0); // the 1 % duty cycle held every packet after the first

    const host = await EncoderInstance.load(built.wasm, board);
    const latent = host.encode(frame, W, H, "rgb565");
    const want = devicePacketize(host, { imageId: 4, packetBytes: 115 });
    await vb.modem!.flush();
    events.sort((a, b) => a.fCnt - b.fCnt);
    const received = events.map((e) => new Uint8Array(Buffer.from(e.data, "base64")));
    expect(received.map((p) => Buffer.from(p).toString("hex"))).toEqual(want.packets.map((p) => Buffer.from(p).toString("hex")));
    expect(events.every((e) => e.deviceInfo.devEui === "2cf7f12032300001" && e.fPort === 8 && e.dr === 3)).toBe(true);
    expect(events[0].txInfo.modulation.lora.spreadingFactor).toBe(9);

    const set = decodePacketSet(received, modelTables(model), { width: latent.width, height: latent.height, channels: latent.channels });
    expect(set.rejected).toEqual([]);
    expect(Buffer.from(set.latent.data).equals(Buffer.from(latent.data))).toBe(true);

    const stats = await bridge.stats();
    expect(stats.uplinks).toBe(got.packets.length);
    expect(vb.modem!.stats()).toMatchObject({ uplinks: got.packets.length, lost: 0, delivered: got.packets.length, failed: 0 });
    await bridge.exit(repl);
  });

  it("a packet larger than the data rate allows is refused by the board before it reaches the air", async () => {
    const bridge = await BridgeClient.start(repl, board.name);
    const frame = packFrame(randomRgb(32, W, H), W, H, "rgb565");
    const before = vb.modem!.uplinks.length;
    await expect(bridge.encode(W, H, "rgb565", frame, { output: "uplink", packetBytes: 222 })).rejects.toThrow(/exceeds the modem's 115-byte payload/);
    expect(vb.modem!.uplinks.length).toBe(before);
    await bridge.exit(repl);
  });
});
