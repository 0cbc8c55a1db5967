// MQTT ingest against a real mosquitto: ChirpStack and The Things Stack topics through a shared
// subscription with credentials, wrong credentials refused, and a broker restart survived.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../host/receiver/gateway/gateway.ts";
import { chirpstackUp, photoPackets, ttsUp } from "./packets.ts";
import { MOSQUITTO_MISSING, startMosquitto, waitFor, type Broker } from "./services.ts";

const USERS = { gateway: "gw-pass", chirpstack: "ns-pass" };

describe.skipIf(MOSQUITTO_MISSING)(MOSQUITTO_MISSING ? `mqtt ingest (skipped: ${MOSQUITTO_MISSING})` : "mqtt ingest", () => {
  let dir: string, broker: Broker, gw: Gateway, pub: MqttClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tidepool-gw-mqtt-"));
    broker = await startMosquitto(USERS);
    gw = await startGateway({
      port: 0,
      db: join(dir, "gw.db"),
      labels: false,
      minRenderIntervalMs: 0,
      log: () => {},
      mqtt: { url: broker.url, username: "gateway", password: USERS.gateway },
    });
    pub = await mqtt.connectAsync(broker.url, { username: "chirpstack", password: USERS.chirpstack, protocolVersion: 5, reconnectPeriod: 200 });
  });
  afterAll(async () => {
    await pub?.endAsync();
    await gw?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const imageOf = async (device: string) => (await gw.storage.listImages({ deviceId: device, limit: 1 }))[0];

  it("refuses to start with wrong broker credentials, saying why", async () => {
    await expect(
      startGateway({ port: 0, db: join(dir, "bad.db"), decoderPath: null, log: () => {}, mqtt: { url: broker.url, username: "gateway", password: "wrong" } }),
    ).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
  });

  it("ingests ChirpStack and The Things Stack uplinks from their topics", async () => {
    const a = await photoPackets({ imageId: 5 });
    for (const [i, p] of a.entries())
      await pub.publishAsync(
        "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/70b3d57ed0000011/event/up",
        JSON.stringify(chirpstackUp(p, { devEui: "70b3d57ed0000011", fCnt: i + 1 })),
        { qos: 1 },
      );
    const b = await photoPackets({ imageId: 6, packetBytes: 115, photo: 2 });
    for (const [i, p] of b.entries())
      await pub.publishAsync("v3/tidepool@ttn/devices/cam-9/up", JSON.stringify(ttsUp(p, { deviceId: "cam-9", devEui: "70b3d57ed0000012", fCnt: i + 1 })), {
        qos: 0,
      });
    await pub.publishAsync("application/1/device/70b3d57ed0000011/event/up", "{ not json", { qos: 1 }); // dropped with a log line, not fatal
    const ia = await waitFor("the ChirpStack image", async () => {
      const i = await imageOf("70b3d57ed0000011");
      return i?.received.length === a.length && i;
    });
    const ib = await waitFor("the TTS image", async () => {
      const i = await imageOf("70b3d57ed0000012");
      return i?.received.length === b.length && i;
    });
    await gw.idle();
    expect((await gw.storage.getImage(ia.id))!.symbols).toBe(ia.totalSymbols);
    expect(ib.imageId).toBe(6);
    const ups = await gw.storage.listUplinks({ deviceId: "70b3d57ed0000011", limit: 100 });
    expect(ups.every((u) => u.transport === "mqtt" && u.network === "chirpstack")).toBe(true);
    await waitFor("the bad message to be dropped", async () => gw.mqtt!.stats.errors === 1);
  });

  it("reconnects after the broker restarts and goes on ingesting", async () => {
    const packets = await photoPackets({ imageId: 9, photo: 3 });
    const topic = "application/x/device/70b3d57ed0000013/event/up";
    const half = Math.floor(packets.length / 2);
    for (let i = 0; i < half; i++)
      await pub.publishAsync(topic, JSON.stringify(chirpstackUp(packets[i], { devEui: "70b3d57ed0000013", fCnt: i + 1 })), { qos: 1 });
    await waitFor("the first half", async () => (await imageOf("70b3d57ed0000013"))?.received.length === half);
    await broker.stop();
    await waitFor("the gateway to notice", async () => gw.mqtt!.clients.every((c) => !c.connected));
    await broker.start();
    await waitFor("the gateway to reconnect", async () => gw.mqtt!.connected() && gw.mqtt!.stats.reconnects >= gw.mqtt!.clients.length);
    await waitFor("the publisher to reconnect", async () => pub.connected);
    await new Promise((r) => setTimeout(r, 200)); // the resubscription follows the CONNACK
    for (let i = half; i < packets.length; i++)
      await pub.publishAsync(topic, JSON.stringify(chirpstackUp(packets[i], { devEui: "70b3d57ed0000013", fCnt: i + 1 })), { qos: 1 });
    const img = await waitFor("the second half", async () => {
      const i = await imageOf("70b3d57ed0000013");
      return i?.received.length === packets.length && i;
    });
    await gw.idle();
    const done = (await gw.storage.getImage(img.id))!;
    expect(done.symbols).toBe(done.totalSymbols);
  });
});
