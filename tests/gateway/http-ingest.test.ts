// The gateway in-process with a temporary SQLite file: webhook ingest from both network servers, its
// answers to bad input, and an image reassembled from reordered, duplicated and damaged uplinks.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../host/receiver/gateway/gateway.ts";
import { DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { chirpstackUp, photoPackets, ttsUp } from "./packets.ts";
import { COMPACT_TAG, parsePacket } from "../../host/wire/bitstream/packet-format.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { readModel } from "../../host/model/format.ts";
import { namedModel, shippedModel, shippedTaskModel } from "../../host/core/model-registry.ts";

const TOKEN = "s3cret-token";
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

let dir: string, gw: Gateway;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tidepool-gw-"));
  gw = await startGateway({ port: 0, db: join(dir, "gw.db"), token: TOKEN, minRenderIntervalMs: 0, log: () => {} });
});
afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  const r = await fetch(new URL(path, gw.url), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, any>, headers: r.headers };
}
const get = async (path: string) => (await fetch(new URL(path, gw.url))).json() as Promise<any>;

describe("webhook ingest", () => {
  it("answers bad input with a clear JSON error and keeps going", async () => {
    const up = fixture("chirpstack-up.json");
    expect((await post("/ingest/chirpstack?event=up", up, {})).status).toBe(401);
    const wrong = await post("/ingest/chirpstack?event=up", up, { authorization: "Bearer nope" });
    expect(wrong).toMatchObject({ status: 401, json: { error: "unauthorized", message: "wrong token" } });
    expect((await post("/ingest/chirpstack?event=up", "{not json")).json).toMatchObject({ error: "malformed" });
    expect((await post("/ingest/chirpstack", up)).json.message).toMatch(/\?event=/);
    expect((await post("/ingest/chirpstack?event=join", fixture("chirpstack-join.json"))).json).toEqual({ status: "ignored", event: "join" });
    const big = await post("/ingest/tts", { pad: "x".repeat(70_000) }, { "x-webhook-secret": TOKEN });
    expect(big.status).toBe(413);
    const tooLong = await post("/ingest/chirpstack?event=up", chirpstackUp(new Uint8Array(256), { devEui: "00000000000000aa" }));
    expect(tooLong).toMatchObject({ status: 413, json: { error: "too-large" } });
    expect(tooLong.json.message).toMatch(/256 bytes.*at most 255/);
    const noDevice = await post("/ingest/tts", { end_device_ids: {}, uplink_message: {} }, { "x-webhook-secret": TOKEN });
    expect(noDevice).toMatchObject({ status: 400, json: { error: "malformed" } });
    // Still serving after all that.
    expect((await post("/ingest/tts", fixture("tts-uplink.json"), { "x-webhook-secret": TOKEN })).status).toBe(200);
  });

  it("keeps a payload that is not a Tidepool packet as rejected, with the reason, and registers its device", async () => {
    const cs = await post("/ingest/chirpstack?event=up", fixture("chirpstack-up.json"));
    expect(cs.json).toMatchObject({ status: "rejected", deviceId: "0101010101010101", reject: { kind: "truncated" } });
    const rejected = await get("/api/uplinks?status=rejected");
    const tts = rejected.find((u: any) => u.deviceId === "0004a30b001c0530");
    expect(tts).toMatchObject({ rejectKind: "magic", bytes: 9, network: "tts", spreadingFactor: 7, airtimeS: 0.056576 });
    expect(tts.rejectReason).toMatch(/not a Tidepool packet/);
    const devices = await get("/api/devices");
    expect(devices.map((d: any) => d.id)).toEqual(expect.arrayContaining(["0101010101010101", "0004a30b001c0530"]));
  });

  it("decodes an image sent in compact packets (51-byte payloads: no packet index, image id mod 16), one lost", async () => {
    const packets = await photoPackets({ imageId: 21, packetBytes: 51 });
    expect(packets.every((p) => p[0] === COMPACT_TAG)).toBe(true);
    const dev = "70b3d57ed00000c1",
      lost = 4;
    for (const [i, p] of [...packets.entries()].reverse()) {
      if (i === lost) continue;
      const r = await post("/ingest/chirpstack?event=up", chirpstackUp(p, { devEui: dev, fCnt: 1 + i }));
      expect(r.json).toMatchObject({ status: "stored", packet: { imageId: 21 % 16, index: null, frame: "320x240" } });
    }
    await gw.idle();
    const [image] = await get(`/api/images?device=${dev}`);
    expect(image).toMatchObject({ imageId: 5, complete: false, missing: [], frame: { width: 320, height: 240 } });
    expect(image.received).toHaveLength(packets.length - 1);
    const tables = modelTables(readModel(new Uint8Array(readFileSync(DEFAULT_MODEL_PATH))));
    expect(image.symbols).toBe(image.totalSymbols - parsePacket(packets[lost], tables.id, 40, 30, image.totalSymbols).count);
    expect(image.preview.packets).toBe(packets.length - 1);
  });

  it("reassembles an image from reordered, duplicated, corrupted and truncated uplinks and decodes it", async () => {
    const packets = await photoPackets({ imageId: 7 });
    expect(packets.length).toBeGreaterThan(6);
    const dev = "70b3d57ed0000001";
    const order = packets.map((_, i) => i).reverse(); // last packet first
    const corrupted = packets[2].slice();
    corrupted[5] ^= 0x40;
    let fCnt = 100;
    const corrupt = await post("/ingest/chirpstack?event=up", chirpstackUp(corrupted, { devEui: dev, fCnt: fCnt++ }));
    expect(corrupt.json).toMatchObject({ status: "rejected", reject: { kind: "crc" } });
    const truncated = await post("/ingest/chirpstack?event=up", chirpstackUp(packets[3].slice(0, 5), { devEui: dev, fCnt: fCnt++ }));
    expect(truncated.json).toMatchObject({ status: "rejected", reject: { kind: "truncated" } });
    for (const i of order) {
      const first = await post(
        "/ingest/chirpstack?event=up",
        chirpstackUp(packets[i], { devEui: dev, fCnt: fCnt + i, rssi: -110, snr: -5, gatewayId: "gw-far" }),
      );
      expect(first.json).toMatchObject({ status: "stored", packet: { imageId: 7, index: i, frame: "320x240" } });
      if (i % 2 === 0) {
        // heard by a second, nearer gateway: a duplicate with better radio metadata
        const dup = await post(
          "/ingest/chirpstack?event=up",
          chirpstackUp(packets[i], { devEui: dev, fCnt: fCnt + i, rssi: -60, snr: 9, gatewayId: "gw-near" }),
        );
        expect(dup.json).toMatchObject({ status: "duplicate", uplinkId: first.json.uplinkId });
      }
    }
    await gw.idle();
    const [image] = await get(`/api/images?device=${dev}`);
    expect(image).toMatchObject({ imageId: 7, complete: true, missing: [], frame: { width: 320, height: 240 } });
    expect(image.received).toEqual(packets.map((_, i) => i));
    expect(image.symbols).toBe(image.totalSymbols);
    expect(image.preview.packets).toBe(packets.length);
    expect(image.labels.top5).toHaveLength(5);
    expect(typeof image.labels.top5[0].name).toBe("string");
    const png = Buffer.from(await (await fetch(new URL(image.png, gw.url))).arrayBuffer());
    expect(await sharp(png).metadata()).toMatchObject({ format: "png", width: 320, height: 240 });
    const detail = await get(`/api/images/${image.id}`);
    const p0 = detail.uplinks.find((u: any) => u.packetIndex === 0);
    expect(p0).toMatchObject({ gatewayId: "gw-near", rssi: -60, snr: 9, copies: 2 });
    const device = (await get("/api/devices")).find((d: any) => d.id === dev);
    expect(device).toMatchObject({ duplicates: Math.ceil(packets.length / 2), rejected: 2, images: 1, fairUseS: 30 });
    expect(device.airtimeTodayS).toBeGreaterThan(0);
  });

  it("decodes a grey camera's packets (grey model, 324x244) beside the colour cameras' on the same gateway", async () => {
    const packets = await photoPackets({ imageId: 3, width: 324, height: 244, modelPath: DEFAULT_GREY_MODEL_PATH });
    const dev = "70b3d57ed00000a8";
    for (const [i, p] of packets.entries()) {
      const r = await post("/ingest/chirpstack?event=up", chirpstackUp(p, { devEui: dev, fCnt: 500 + i }));
      expect(r.json).toMatchObject({ status: "stored", packet: { imageId: 3, index: i, frame: "324x244" } });
    }
    await gw.idle();
    const [image] = await get(`/api/images?device=${dev}`);
    expect(image).toMatchObject({ complete: true, frame: { width: 324, height: 244 } });
    expect(image.preview.packets).toBe(packets.length);
    const status = await get("/api/status");
    const task = shippedTaskModel() ? [namedModel("task")!.model] : [];
    const fast = ["fast", "fast-grey"].flatMap((n) => (shippedModel(n) ? [namedModel(n)!.model] : []));
    expect(status.models.map((m: { source: string }) => m.source)).toEqual([DEFAULT_MODEL_PATH, DEFAULT_GREY_MODEL_PATH, ...task, ...fast]);
  });

  it.skipIf(!shippedModel("fast-grey"))(
    "decodes fast-encoder packets (colour 320x240 and grey 324x244; its own tables, the shared decoder) on the same gateway",
    async () => {
      for (const [k, row] of [
        { model: "fast", width: 320, height: 240, dev: "70b3d57ed00000aa" },
        { model: "fast-grey", width: 324, height: 244, dev: "70b3d57ed00000ab" },
      ].entries()) {
        const packets = await photoPackets({ imageId: 5 + k, width: row.width, height: row.height, modelPath: namedModel(row.model)!.model });
        for (const [i, p] of packets.entries()) {
          const r = await post("/ingest/chirpstack?event=up", chirpstackUp(p, { devEui: row.dev, fCnt: 800 + i }));
          expect(r.json).toMatchObject({ status: "stored", packet: { imageId: 5 + k, index: i, frame: `${row.width}x${row.height}` } });
        }
        await gw.idle();
        const [image] = await get(`/api/images?device=${row.dev}`);
        expect(image, row.model).toMatchObject({ complete: true, frame: { width: row.width, height: row.height } });
        const png = Buffer.from(await (await fetch(new URL(image.png, gw.url))).arrayBuffer());
        // The decoder draws 8x the latent: 328x248 for 324x244, as for the grey model.
        expect(await sharp(png).metadata()).toMatchObject({ format: "png", width: 8 * Math.ceil(row.width / 8), height: 8 * Math.ceil(row.height / 8) });
      }
    },
  );

  it.skipIf(!shippedTaskModel())("decodes a task-encoder camera's packets (its own tables and decoder) on the same gateway", async () => {
    const packets = await photoPackets({ imageId: 4, modelPath: namedModel("task")!.model });
    const dev = "70b3d57ed00000a9";
    for (const [i, p] of packets.entries()) {
      const r = await post("/ingest/chirpstack?event=up", chirpstackUp(p, { devEui: dev, fCnt: 700 + i }));
      expect(r.json).toMatchObject({ status: "stored", packet: { imageId: 4, index: i, frame: "320x240" } });
    }
    await gw.idle();
    const [image] = await get(`/api/images?device=${dev}`);
    expect(image).toMatchObject({ complete: true, frame: { width: 320, height: 240 } });
    expect(image.preview.packets).toBe(packets.length);
    const png = Buffer.from(await (await fetch(new URL(image.png, gw.url))).arrayBuffer());
    expect(await sharp(png).metadata()).toMatchObject({ format: "png", width: 320, height: 240 });
  });

  it("rejects, when the image is decoded, a packet whose symbols disagree with those already received", async () => {
    const a = await photoPackets({ imageId: 12, photo: 2 }),
      b = await photoPackets({ imageId: 12, photo: 3 });
    const dev = "70b3d57ed0000003";
    for (const [i, p] of a.entries())
      expect((await post("/ingest/chirpstack?event=up", chirpstackUp(p, { devEui: dev, fCnt: i + 1 }))).json.status).toBe("stored");
    // Another photo's first packet under the same image id: a valid packet (its CRC holds), conflicting content.
    expect((await post("/ingest/chirpstack?event=up", chirpstackUp(b[0], { devEui: dev, fCnt: 99 }))).json.status).toBe("stored");
    await gw.idle();
    const [image] = await get(`/api/images?device=${dev}`);
    expect(image).toMatchObject({ complete: true, rejected: 1 });
    const [bad] = await get(`/api/uplinks?device=${dev}&status=rejected`);
    expect(bad).toMatchObject({ fCnt: 99, rejectKind: "conflict" });
  });

  it("takes The Things Stack uplinks with the webhook secret header", async () => {
    const packets = await photoPackets({ imageId: 3, packetBytes: 115, photo: 1 });
    for (const [i, p] of packets.entries()) {
      const r = await post("/ingest/tts", ttsUp(p, { deviceId: "cam-tts", devEui: "70B3D57ED0000002", fCnt: i + 1, sf: 9 }), { "x-webhook-secret": TOKEN });
      expect(r.json.status).toBe("stored");
    }
    await gw.idle();
    const [image] = await get("/api/images?device=70b3d57ed0000002");
    expect(image).toMatchObject({ imageId: 3, complete: true });
    expect(image.received).toHaveLength(packets.length);
  });
});

describe("port filter", () => {
  it("ignores uplinks on other ports than the cameras' without storing them", async () => {
    const g = await startGateway({ port: 0, db: join(dir, "port.db"), decoderPath: null, fPort: 10, log: () => {} });
    try {
      const send = async (body: unknown) =>
        (
          await fetch(new URL("/ingest/chirpstack?event=up", g.url), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          })
        ).json();
      expect(await send(JSON.parse(fixture("chirpstack-up.json")))).toMatchObject({ status: "ignored", uplinkId: null }); // fPort 1
      const [p] = await photoPackets({ imageId: 7 });
      expect(await send(chirpstackUp(p, { devEui: "00000000000000c1", fCnt: 1 }))).toMatchObject({ status: "stored" }); // fPort 10
      expect((await g.storage.listDevices(0)).map((d) => d.id)).toEqual(["00000000000000c1"]);
    } finally {
      await g.close();
    }
  });
});

describe("rate limits", () => {
  it("answers 429 with Retry-After when a device or a source sends too fast", async () => {
    const small = await startGateway({
      port: 0,
      db: join(dir, "rate.db"),
      decoderPath: null,
      deviceRate: { rate: 1, burst: 2 },
      sourceRate: { rate: 1, burst: 5 },
      log: () => {},
    });
    try {
      const send = async (dev: string, f: number) =>
        await fetch(new URL("/ingest/chirpstack?event=up", small.url), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chirpstackUp(new Uint8Array([1, 2, 3]), { devEui: dev, fCnt: f })),
        });
      expect((await send("00000000000000b1", 1)).status).toBe(200);
      expect((await send("00000000000000b1", 2)).status).toBe(200);
      const limited = await send("00000000000000b1", 3);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(((await limited.json()) as any).message).toMatch(/00000000000000b1/);
      expect((await send("00000000000000b2", 1)).status).toBe(200); // other devices pass
      expect((await send("00000000000000b3", 1)).status).toBe(200);
      expect((await send("00000000000000b4", 1)).status).toBe(429); // the source's burst of 5 is spent
    } finally {
      await small.close();
    }
  });
});
