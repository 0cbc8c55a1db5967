// The two network servers' uplink formats, from fixtures shaped like their documentation's examples.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { uplinkAirtime } from "../../host/receiver/gateway/airtime.ts";
import { isChirpStackUpTopic, parseChirpStackUp } from "../../host/receiver/gateway/chirpstack.ts";
import { isThingsStackUpTopic, parseThingsStackUp } from "../../host/receiver/gateway/things-stack.ts";
import { IngestError } from "../../host/receiver/gateway/uplink.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

describe("ChirpStack v4 uplink event", () => {
  it("reads the documented example", () => {
    const u = parseChirpStackUp(fixture("chirpstack-up.json"));
    expect(u).toMatchObject({
      network: "chirpstack",
      deviceId: "0101010101010101",
      deviceName: "Test device",
      fPort: 1,
      fCnt: 0,
      spreadingFactor: 11,
      bandwidthHz: 125000,
      airtimeS: null,
    });
    expect([...u.payload]).toEqual([0xaa]);
    expect(u.rx).toEqual([{ gatewayId: "0016c001f153a14c", rssi: -36, snr: 10.5 }]);
    expect(u.time).toBe(Date.parse("2022-07-18T09:33:28.823Z"));
  });

  it("names the field that is wrong", () => {
    const e = fixture("chirpstack-up.json");
    delete e.deviceInfo.devEui;
    expect(() => parseChirpStackUp(e)).toThrow(/deviceInfo\.devEui/);
    const f = fixture("chirpstack-up.json");
    f.data = "not base64!";
    expect(() => parseChirpStackUp(f)).toThrow(IngestError);
    expect(() => parseChirpStackUp({ ...fixture("chirpstack-up.json"), fCnt: -1 })).toThrow(/fCnt/);
    expect(() => parseChirpStackUp([])).toThrow(/must be an object/);
  });

  it("matches its MQTT topic", () => {
    expect(isChirpStackUpTopic("application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up")).toBe(true);
    expect(isChirpStackUpTopic("application/1/device/0101010101010101/event/join")).toBe(false);
  });
});

describe("The Things Stack v3 uplink message", () => {
  it("reads the documented example", () => {
    const u = parseThingsStackUp(fixture("tts-uplink.json"));
    expect(u).toMatchObject({
      network: "tts",
      deviceId: "0004a30b001c0530",
      deviceName: "dev1",
      fPort: 15,
      fCnt: 7,
      spreadingFactor: 7,
      bandwidthHz: 125000,
      airtimeS: 0.056576,
    });
    expect(Buffer.from(u.payload).toString()).toBe("confirmed");
    expect(u.rx).toEqual([{ gatewayId: "dev", rssi: -35, snr: 5.2 }]);
  });

  it("falls back to the device id without a DevEUI, and explains a message that is not an uplink", () => {
    const m = fixture("tts-uplink.json");
    delete m.end_device_ids.dev_eui;
    expect(parseThingsStackUp(m).deviceId).toBe("dev1");
    const j = fixture("tts-uplink.json");
    delete j.uplink_message;
    expect(() => parseThingsStackUp(j)).toThrow(/no uplink_message/);
    expect(() =>
      parseThingsStackUp({ ...fixture("tts-uplink.json"), uplink_message: { ...fixture("tts-uplink.json").uplink_message, consumed_airtime: "soon" } }),
    ).toThrow(/consumed_airtime/);
  });

  it("matches its MQTT topic", () => {
    expect(isThingsStackUpTopic("v3/app1@ttn/devices/dev1/up")).toBe(true);
    expect(isThingsStackUpTopic("v3/app1@ttn/devices/dev1/join")).toBe(false);
  });
});

describe("airtime", () => {
  it("computes the Semtech time on air of an uplink when the network server does not report it", () => {
    // The documented TTS example: 9-byte FRMPayload at SF7/125 kHz, consumed_airtime "0.056576s".
    const u = parseThingsStackUp(fixture("tts-uplink.json"));
    expect(uplinkAirtime(u.payload.length, u.spreadingFactor, u.bandwidthHz)).toBeCloseTo(u.airtimeS!, 6);
    expect(uplinkAirtime(51, 12, 125000)! > 2).toBe(true);
    expect(uplinkAirtime(10, null, null)).toBeNull();
  });
});
