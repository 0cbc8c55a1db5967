// Several instances behind one PostgreSQL: two gateways share a real cluster and split one MQTT stream
// through a shared subscription; the image they each see half of is assembled and decoded from the
// database, and duplicates across instances are dropped once.
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../host/receiver/gateway/gateway.ts";
import { chirpstackUp, photoPackets } from "./packets.ts";
import { MOSQUITTO_MISSING, POSTGRES_MISSING, startMosquitto, startPostgres, waitFor, type Broker, type Postgres } from "./services.ts";

const missing = POSTGRES_MISSING ?? MOSQUITTO_MISSING;

describe.skipIf(missing)(missing ? `two instances on PostgreSQL (skipped: ${missing})` : "two instances on PostgreSQL", () => {
  let pg: Postgres, broker: Broker, a: Gateway, b: Gateway;
  beforeAll(async () => {
    [pg, broker] = await Promise.all([startPostgres(), startMosquitto({ gw: "pw", ns: "pw" })]);
    const opts = {
      port: 0,
      db: pg.url,
      labels: false,
      minRenderIntervalMs: 0,
      sharedPollMs: 200,
      log: () => {},
      mqtt: { url: broker.url, username: "gw", password: "pw" },
    };
    a = await startGateway(opts);
    b = await startGateway(opts);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await broker?.close();
    await pg?.close();
  });

  it("splits the stream between the instances and completes the image from the shared database", async () => {
    const packets = await photoPackets({ imageId: 21, packetBytes: 115 });
    const dev = "70b3d57ed0000031";
    const pub = await mqtt.connectAsync(broker.url, { username: "ns", password: "pw", protocolVersion: 5 });
    try {
      for (const [i, p] of packets.entries())
        await pub.publishAsync(`application/a/device/${dev}/event/up`, JSON.stringify(chirpstackUp(p, { devEui: dev, fCnt: i + 1 })), { qos: 1 });
    } finally {
      await pub.endAsync();
    }
    // Counted once each instance has its commit back (a row can be visible to the test a moment earlier).
    await waitFor("every packet stored", async () => a.mqtt!.stats.stored + b.mqtt!.stats.stored === packets.length);
    expect(await a.storage.listUplinks({ deviceId: dev, limit: 500 })).toHaveLength(packets.length);
    // Both instances took part: the broker shares the subscription among them.
    expect(a.mqtt!.stats.stored).toBeGreaterThan(0);
    expect(b.mqtt!.stats.stored).toBeGreaterThan(0);
    await a.idle();
    await b.idle();
    const images = await b.storage.listImages({ deviceId: dev, limit: 10 });
    expect(images).toHaveLength(1); // one image row, whichever instance saw a packet first
    const img = await waitFor("the complete preview", async () => {
      const i = await a.storage.getImage(images[0].id);
      return i?.preview?.packets === packets.length && i;
    });
    expect(img.symbols).toBe(img.totalSymbols);
    expect((await b.storage.getPng(img.id))!.length).toBeGreaterThan(1000);
  });

  it("decodes images whose packets an ingest-only instance stored", async () => {
    const ingestOnly = await startGateway({ port: 0, db: pg.url, decoderPath: null, log: () => {} });
    try {
      const packets = await photoPackets({ imageId: 22, packetBytes: 222, photo: 6 });
      const dev = "70b3d57ed0000032";
      for (const [i, p] of packets.entries()) {
        const r = await fetch(new URL("/ingest/chirpstack?event=up", ingestOnly.url), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chirpstackUp(p, { devEui: dev, fCnt: i + 1 })),
        });
        expect(r.status).toBe(200);
      }
      const [image] = await ingestOnly.storage.listImages({ deviceId: dev, limit: 1 });
      const done = await waitFor("a decoding instance to find and decode the image", async () => {
        const i = await a.storage.getImage(image.id);
        return i?.preview?.packets === packets.length && i;
      });
      expect(done.symbols).toBe(done.totalSymbols);
    } finally {
      await ingestOnly.close();
    }
  });

  it("drops a duplicate that reaches the other instance over HTTP", async () => {
    const [p] = await photoPackets({ imageId: 21, packetBytes: 115 });
    const dev = "70b3d57ed0000031";
    const r1 = await fetch(new URL("/ingest/chirpstack?event=up", a.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chirpstackUp(p, { devEui: dev, fCnt: 1, snr: 12, rssi: -40, gatewayId: "gw-b" })),
    });
    expect(await r1.json()).toMatchObject({ status: "duplicate" });
    const [u] = await b.storage.listUplinks({ deviceId: dev, limit: 500 }).then((us) => us.filter((x) => x.fCnt === 1));
    expect(u).toMatchObject({ copies: 2, gatewayId: "gw-b", snr: 12 });
    const d = (await b.storage.listDevices(0)).find((x) => x.id === dev)!;
    expect(d).toMatchObject({ id: dev, uplinks: (await photoPackets({ imageId: 21, packetBytes: 115 })).length, duplicates: 1 });
  });
});
