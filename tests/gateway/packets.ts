// Real Tidepool packets for the gateway tests: a sample photo at the 320×240 camera frame, encoded with
// the integer reference encoder (bit-exact with the device) and packetized with the host packetizer.
import { readFileSync } from "node:fs";
import { packetize } from "../../host/wire/bitstream/packetizer.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { samplePhotos } from "../../host/image/samples.ts";
import { readModel } from "../../host/model/format.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";

const cache = new Map<string, Uint8Array[]>();

/** Packets of one photo (sample `photo`) for image id `imageId`, `packetBytes` each at most. */
export async function photoPackets(
  o: { imageId?: number; packetBytes?: number; photo?: number; width?: number; height?: number; modelPath?: string } = {},
): Promise<Uint8Array[]> {
  const { imageId = 1, packetBytes = 222, photo = 0, width = 320, height = 240, modelPath = DEFAULT_MODEL_PATH } = o;
  const key = `${imageId}:${packetBytes}:${photo}:${width}x${height}:${modelPath}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const model = readModel(new Uint8Array(readFileSync(modelPath)), modelPath);
  const img = await loadRgb(samplePhotos()[photo], { width, height });
  const latent = referenceEncode(model, toFrame(img, "rgb888"), width, height, "rgb888");
  const { packets } = packetize(latent, modelTables(model), { imageId, packetBytes });
  cache.set(key, packets);
  return packets;
}

/** A ChirpStack v4 uplink event (shape of the documented example) carrying `payload`. */
export function chirpstackUp(payload: Uint8Array, o: { devEui?: string; fCnt?: number; rssi?: number; snr?: number; gatewayId?: string; sf?: number } = {}) {
  return {
    deduplicationId: "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
    time: new Date().toISOString(),
    deviceInfo: {
      tenantId: "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
      tenantName: "ChirpStack",
      applicationId: "17c82e96-be03-4f38-aef3-f83d48582d97",
      applicationName: "Tidepool cameras",
      deviceProfileId: "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
      deviceProfileName: "Camera EU868",
      deviceName: "camera-1",
      devEui: o.devEui ?? "0101010101010101",
      tags: {},
    },
    devAddr: "00189440",
    adr: true,
    dr: 5,
    ...(o.fCnt ? { fCnt: o.fCnt } : {}),
    fPort: 10,
    data: Buffer.from(payload).toString("base64"),
    rxInfo: [
      {
        gatewayId: o.gatewayId ?? "0016c001f153a14c",
        uplinkId: 4217106255,
        rssi: o.rssi ?? -36,
        snr: o.snr ?? 10.5,
        context: "E3OWOQ==",
        metadata: { region_config_id: "eu868" },
      },
    ],
    txInfo: { frequency: 867100000, modulation: { lora: { bandwidth: 125000, spreadingFactor: o.sf ?? 7, codeRate: "CR_4_5" } } },
  };
}

/** A The Things Stack v3 uplink message (shape of the documented example) carrying `payload`. */
export function ttsUp(payload: Uint8Array, o: { deviceId?: string; devEui?: string; fCnt?: number; rssi?: number; snr?: number; sf?: number } = {}) {
  const now = new Date().toISOString();
  return {
    end_device_ids: {
      device_id: o.deviceId ?? "camera-2",
      application_ids: { application_id: "tidepool" },
      dev_eui: o.devEui ?? "0004A30B001C0530",
      join_eui: "800000000000000C",
      dev_addr: "00BCB929",
    },
    correlation_ids: ["as:up:01E0ANFMDEM5TTN7ZKF1K8SJ2S"],
    received_at: now,
    uplink_message: {
      session_key_id: "AXBSH1Pk6Z0G166zsqOuag==",
      f_port: 10,
      ...(o.fCnt ? { f_cnt: o.fCnt } : {}),
      frm_payload: Buffer.from(payload).toString("base64"),
      rx_metadata: [
        {
          gateway_ids: { gateway_id: "gw-1", eui: "B827EBFFFE61B5C8" },
          time: now,
          timestamp: 2463457000,
          rssi: o.rssi ?? -35,
          channel_rssi: o.rssi ?? -35,
          snr: o.snr ?? 5.2,
          uplink_token: "ChIKEAoOZ3ctMRIIuCfr//5htcgQ6KXG",
          channel_index: 2,
        },
      ],
      settings: {
        data_rate: { lora: { bandwidth: 125000, spreading_factor: o.sf ?? 7, coding_rate: "4/5" } },
        frequency: "868500000",
        timestamp: 2463457000,
        time: now,
      },
      received_at: now,
      consumed_airtime: "0.370688s",
      network_ids: { net_id: "000013", tenant_id: "ttn", cluster_id: "eu1", cluster_address: "eu1.cloud.thethings.network" },
    },
  };
}
