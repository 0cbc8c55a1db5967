// `tidepool flash` then `tidepool capture --uplink` against a virtual board with a camera and a
// LoRa-E5: the board's packets land in a packet file that `tidepool decode` reads whole, and the same
// packets reach an HTTP receiver as ChirpStack uplinks.
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualBoard } from "../../flash-tools/virtual-board/virtual-board.ts";
import { getBoard } from "../../host/core/boards.ts";
import { loadDefaultModel } from "../../host/build/build.ts";
import { samplePhotos } from "../../host/image/samples.ts";
import { readContainer } from "../../host/wire/container.ts";
import { readFileSync } from "node:fs";
import { runCliInProcess } from "../helpers/cli.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-capture-"));
const payloads: Array<{ fCnt: number; data: string }> = [];
let server: Server;
let vb: VirtualBoard;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.url!.endsWith("?event=up")) {
        const e = JSON.parse(body);
        payloads.push({ fCnt: e.fCnt ?? 0, data: e.data });
      }
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ingest/chirpstack`;
  vb = await VirtualBoard.start({ board: getBoard("k210"), baud: 921_600, cameraImages: samplePhotos().slice(0, 1), modem: { uplinkUrl: url } });
});

afterAll(async () => {
  await vb?.stop();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

describe("tidepool capture", () => {
  it("the board captures, packetizes and uplinks; the packet file decodes whole and matches what went on air", async () => {
    if (!loadDefaultModel().entropy) return;
    const port = ["--board", "k210", "--port", vb.path, "--baud", "921600"];
    const flash = await runCliInProcess(["flash", ...port]);
    expect(flash.code, flash.stderr).toBe(0);
    const cap = await runCliInProcess(["capture", ...port, "--uplink", "--link", "lora-sf7", "-o", tmp, "--json"]);
    expect(cap.code, cap.stderr).toBe(0);
    const report = JSON.parse(cap.stdout);
    expect(report.images).toHaveLength(1);
    const file = readContainer(new Uint8Array(readFileSync(report.images[0].file)));
    expect([file.board, file.width, file.height, file.format]).toEqual(["k210", 320, 240, "rgb565"]);
    await vb.modem!.flush();
    // Deliveries run concurrently: order them by frame counter, as the network server numbers them.
    expect(payloads.sort((a, b) => a.fCnt - b.fCnt).map((p) => p.data)).toEqual(file.packets.map((p) => Buffer.from(p).toString("base64")));
    const dec = await runCliInProcess(["decode", report.images[0].file, "--json"]);
    expect(dec.code, dec.stderr).toBe(0);
    expect(JSON.parse(dec.stdout)).toMatchObject({ complete: true, rejected: [] });
  });

  it("refuses packets larger than the modem's payload at its data rate", async () => {
    const slow = await VirtualBoard.start({ board: getBoard("k210"), baud: 921_600, cameraImages: samplePhotos().slice(0, 1), modem: { dataRate: 0 } });
    try {
      const port = ["--board", "k210", "--port", slow.path, "--baud", "921600"];
      expect((await runCliInProcess(["flash", ...port])).code).toBe(0);
      const cap = await runCliInProcess(["capture", ...port, "--uplink", "--link", "lora-sf7", "-o", tmp]);
      expect(cap.code, cap.stderr).toBe(2);
      expect(cap.stderr).toMatch(/222 bytes do not fit the modem's 51-byte payload/);
    } finally {
      await slow.stop();
    }
  });
});
