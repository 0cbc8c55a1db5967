// The virtual LoRa-E5 modem: its AT answers, the EU868 link model (payload per data rate, time on air,
// 1 % duty cycle, loss) on its simulated clock, and its ChirpStack v4 `?event=up` deliveries to a real
// HTTP server.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualModem } from "../../flash-tools/virtual-board/virtual-modem.ts";
import { LORAWAN_OVERHEAD, loraAirtime } from "../../host/wire/link/presets.ts";

interface Posted {
  url: string;
  auth: string | undefined;
  body: any;
}
let server: Server;
let url = "";
const posted: Posted[] = [];
let failNext = 0;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let data = "";
    req.on("data", (d) => (data += d));
    req.on("end", () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end("busy");
        return;
      }
      posted.push({ url: req.url!, auth: req.headers.authorization, body: JSON.parse(data) });
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"stored"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ingest/chirpstack`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const lines = (s: string) => s.split("\r\n").filter(Boolean);

describe("virtual LoRa-E5 modem", () => {
  it("answers the AT commands the bridge uses, as the E5 does", () => {
    const m = new VirtualModem({ devEui: "2CF7F1203230A0B1" });
    expect(lines(m.input("AT\r\n"))).toEqual(["+AT: OK"]);
    expect(lines(m.input("AT+MODE=LWOTAA"))).toEqual(["+MODE: LWOTAA"]);
    expect(lines(m.input("AT+ID=DevEui"))).toEqual(["+ID: DevEui, 2C:F7:F1:20:32:30:A0:B1"]);
    expect(lines(m.input('AT+ID=AppEui,"70B3D57ED0000001"'))).toEqual(["+ID: AppEui, 70:B3:D5:7E:D0:00:00:01"]);
    expect(lines(m.input('AT+KEY=APPKEY,"00112233445566778899AABBCCDDEEFF"'))).toEqual(["+KEY: APPKEY 00112233445566778899AABBCCDDEEFF"]);
    expect(lines(m.input("AT+DR=3"))).toEqual(["+DR: DR3", "+DR: EU868 DR3  SF9  BW125K"]);
    expect(lines(m.input("AT+LW=LEN"))).toEqual(["+LW: LEN, 115"]);
    expect(lines(m.input("AT+PORT=9"))).toEqual(["+PORT: 9"]);
    expect(lines(m.input("AT+DR=9"))).toEqual(["+DR: ERROR(-1)"]);
    expect(lines(m.input("AT+FROB"))).toEqual(["+FROB: ERROR(-10)"]);
    expect(lines(m.input('AT+MSGHEX="D100"'))).toEqual(["+MSGHEX: Please join network first"]);
    const join = lines(m.input("AT+JOIN"));
    expect(join[0]).toBe("+JOIN: Start");
    expect(join).toContain("+JOIN: Network joined");
    expect(join.at(-1)).toBe("+JOIN: Done");
    expect(lines(m.input("AT+JOIN"))).toEqual(["+JOIN: Joined already"]);
    expect(lines(m.input('AT+MSGHEX="D1 0"'))).toEqual(["+MSGHEX: ERROR(-1)"]);
  });

  it("enforces the payload size of each data rate", () => {
    const m = new VirtualModem({ dataRate: 0 });
    m.input("AT+JOIN");
    m.sleep(3_600_000);
    expect(lines(m.input(`AT+MSGHEX="${"ab".repeat(52)}"`))).toEqual(["+MSGHEX: Length error 52"]);
    expect(lines(m.input(`AT+MSGHEX="${"ab".repeat(51)}"`))).toEqual(["+MSGHEX: Start", "+MSGHEX: Done"]);
    m.input("AT+DR=5");
    m.sleep(3_600_000);
    expect(lines(m.input(`AT+MSGHEX="${"ab".repeat(222)}"`))).toEqual(["+MSGHEX: Start", "+MSGHEX: Done"]);
    m.sleep(3_600_000);
    expect(lines(m.input(`AT+MSGHEX="${"ab".repeat(223)}"`))).toEqual(["+MSGHEX: Length error 223"]);
  });

  it("keeps the 1 % duty cycle: the next uplink waits airtime / 0.01 from the last start, on the simulated clock", () => {
    const m = new VirtualModem({ dataRate: 5 });
    m.input("AT+JOIN");
    m.sleep(60_000);
    const air = loraAirtime(100 + LORAWAN_OVERHEAD, 7) * 1000;
    expect(m.airtime(100)).toBeCloseTo(air, 6);
    const t0 = m.clockMs;
    expect(lines(m.input(`AT+MSGHEX="${"11".repeat(100)}"`))).toEqual(["+MSGHEX: Start", "+MSGHEX: Done"]);
    const busy = lines(m.input(`AT+MSGHEX="${"11".repeat(100)}"`));
    expect(busy).toHaveLength(1);
    const wait = Number(/^\+MSGHEX: No band in (\d+)ms$/.exec(busy[0])![1]);
    expect(m.clockMs + wait).toBeCloseTo(t0 + air / 0.01, -1);
    m.sleep(wait);
    expect(lines(m.input(`AT+MSGHEX="${"11".repeat(100)}"`))).toEqual(["+MSGHEX: Start", "+MSGHEX: Done"]);
    expect(m.uplinks.map((u) => u.fCnt)).toEqual([0, 1]);
    expect(m.stats().airtimeS).toBeGreaterThan((2 * air) / 1000);
  });

  it("delivers each uplink that survives the air as a ChirpStack v4 up event, with its token; lost ones never arrive", async () => {
    posted.length = 0;
    const m = new VirtualModem({ uplinkUrl: url, token: "s3cret", devEui: "2cf7f1203230a0b2", loss: { kind: "iid", rate: 0.4 }, seed: 5 });
    m.input("AT+JOIN");
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      m.sleep(60_000);
      const hex = Buffer.from(`packet-${i}`).toString("hex");
      expect(lines(m.input(`AT+MSGHEX="${hex}"`))).toEqual(["+MSGHEX: Start", "+MSGHEX: Done"]);
      sent.push(hex);
    }
    await m.flush();
    const ups = posted.filter((p) => p.url.endsWith("?event=up"));
    const lost = m.uplinks.filter((u) => u.lost).length;
    expect(lost).toBeGreaterThan(0);
    expect(ups).toHaveLength(20 - lost);
    expect(m.stats()).toMatchObject({ uplinks: 20, lost, delivered: 20 - lost, failed: 0 });
    expect(posted.some((p) => p.url.endsWith("?event=join"))).toBe(true);
    for (const p of ups) {
      expect(p.auth).toBe("Bearer s3cret");
      const e = p.body;
      expect(e.deviceInfo.devEui).toBe("2cf7f1203230a0b2");
      expect(e.fPort).toBe(8);
      expect(Buffer.from(e.data, "base64").toString("hex")).toBe(sent[e.fCnt]);
      expect(m.uplinks[e.fCnt].lost).toBe(false);
      expect(e.rxInfo[0]).toMatchObject({ gatewayId: expect.stringMatching(/^[0-9a-f]{16}$/), crcStatus: "CRC_OK" });
      expect(typeof e.rxInfo[0].rssi).toBe("number");
      expect(e.txInfo.modulation.lora).toEqual({ bandwidth: 125000, spreadingFactor: 7, codeRate: "CR_4_5" });
      expect(Date.parse(e.time)).toBeGreaterThan(0);
    }
  });

  it("retries a delivery the receiver refuses with 503, and records one it never accepts", async () => {
    posted.length = 0;
    const m = new VirtualModem({ uplinkUrl: url });
    m.input("AT+JOIN");
    m.sleep(60_000);
    failNext = 2;
    m.input('AT+MSGHEX="d1"');
    await m.flush();
    expect(m.delivered).toBe(1);
    const dead = new VirtualModem({ uplinkUrl: "http://127.0.0.1:9/ingest/chirpstack" });
    dead.input("AT+JOIN");
    dead.sleep(60_000);
    dead.input('AT+MSGHEX="d1"');
    await dead.flush();
    expect(dead.failures.filter((f) => f.fCnt === 0)).toHaveLength(1);
  });
});
