// The Things Stack v3 uplink messages (webhook "uplink message" path, MQTT `v3/{app}@{tenant}/devices/{id}/up`):
// `end_device_ids` + `uplink_message` with snake_case fields; empty fields are omitted.
import { base64, deviceKey, IngestError, obj, optNum, optObj, optStr, time, uint, type RxMetadata, type Uplink } from "./uplink.ts";

/** TTS's MQTT topic of uplink messages: v3/{application id}@{tenant id}/devices/{device id}/up. */
export const TTS_UP_TOPIC = "v3/+/devices/+/up";
const TOPIC = /^v3\/([^/]+)\/devices\/([^/]+)\/up$/;

export function isThingsStackUpTopic(topic: string): boolean {
  return TOPIC.test(topic);
}

/** "0.370688s" (protobuf Duration JSON) → seconds. */
function duration(v: unknown, path: string): number | null {
  if (v === undefined || v === null) return null;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(v) : null;
  if (!m) throw new IngestError("malformed", `${path} must be a duration like "0.370688s"`, 400);
  return Number(m[1]);
}

export function parseThingsStackUp(json: unknown, where = "The Things Stack uplink message"): Uplink {
  const m = obj(json, where);
  const ids = obj(m.end_device_ids, `${where}: end_device_ids`);
  const up = m.uplink_message;
  if (up === undefined) throw new IngestError("malformed", `${where}: no uplink_message (is the webhook's "uplink message" path the one pointed here?)`, 400);
  const u = obj(up, `${where}: uplink_message`);
  const deviceId = optStr(ids.device_id, `${where}: end_device_ids.device_id`);
  const devEui = optStr(ids.dev_eui, `${where}: end_device_ids.dev_eui`);
  const meta = u.rx_metadata === undefined ? [] : u.rx_metadata;
  if (!Array.isArray(meta)) throw new IngestError("malformed", `${where}: uplink_message.rx_metadata must be an array`, 400);
  const rx: RxMetadata[] = meta.slice(0, 64).map((r, i) => {
    const o = obj(r, `${where}: uplink_message.rx_metadata[${i}]`);
    const gw = optObj(o.gateway_ids, `${where}: uplink_message.rx_metadata[${i}].gateway_ids`);
    return {
      gatewayId:
        optStr(gw?.gateway_id, `${where}: rx_metadata[${i}].gateway_ids.gateway_id`) ??
        optStr(gw?.eui, `${where}: rx_metadata[${i}].gateway_ids.eui`) ??
        "unknown",
      rssi: optNum(o.rssi ?? o.channel_rssi, `${where}: uplink_message.rx_metadata[${i}].rssi`),
      snr: optNum(o.snr, `${where}: uplink_message.rx_metadata[${i}].snr`),
    };
  });
  const lora = optObj(
    optObj(optObj(u.settings, `${where}: uplink_message.settings`)?.data_rate, `${where}: uplink_message.settings.data_rate`)?.lora,
    `${where}: uplink_message.settings.data_rate.lora`,
  );
  return {
    network: "tts",
    deviceId: deviceKey(devEui, deviceId, `${where}: end_device_ids.dev_eui`),
    deviceName: deviceId ?? devEui!.toLowerCase(),
    fPort: uint(u.f_port, `${where}: uplink_message.f_port`, 255),
    fCnt: uint(u.f_cnt, `${where}: uplink_message.f_cnt`),
    payload: base64(u.frm_payload, `${where}: uplink_message.frm_payload`),
    time: time(u.received_at ?? m.received_at, `${where}: uplink_message.received_at`),
    rx,
    spreadingFactor: lora ? optNum(lora.spreading_factor, `${where}: uplink_message.settings.data_rate.lora.spreading_factor`) : null,
    bandwidthHz: lora ? optNum(lora.bandwidth, `${where}: uplink_message.settings.data_rate.lora.bandwidth`) : null,
    airtimeS: duration(u.consumed_airtime, `${where}: uplink_message.consumed_airtime`),
  };
}
