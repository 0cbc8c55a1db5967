// ChirpStack v4 integration events (HTTP integration `POST …?event=up`, MQTT
// `application/{applicationId}/device/{devEui}/event/up`), JSON encoding of the protobuf
// `integration.UplinkEvent` (camelCase field names; zero values omitted).
import { base64, deviceKey, IngestError, obj, optNum, optObj, optStr, str, time, uint, type RxMetadata, type Uplink } from "./uplink.ts";

/** ChirpStack's MQTT topic of uplink events: application/{id}/device/{devEui}/event/up. */
export const CHIRPSTACK_UP_TOPIC = "application/+/device/+/event/up";
const TOPIC = /^application\/([^/]+)\/device\/([0-9a-fA-F]{16})\/event\/up$/;

export function isChirpStackUpTopic(topic: string): boolean {
  return TOPIC.test(topic);
}

export function parseChirpStackUp(json: unknown, where = "ChirpStack uplink event"): Uplink {
  const e = obj(json, where);
  const info = obj(e.deviceInfo, `${where}: deviceInfo`);
  const devEui = str(info.devEui, `${where}: deviceInfo.devEui`);
  const rxInfo = e.rxInfo === undefined ? [] : e.rxInfo;
  if (!Array.isArray(rxInfo)) throw new IngestError("malformed", `${where}: rxInfo must be an array`, 400);
  const rx: RxMetadata[] = rxInfo.slice(0, 64).map((r, i) => {
    const o = obj(r, `${where}: rxInfo[${i}]`);
    return {
      gatewayId: optStr(o.gatewayId, `${where}: rxInfo[${i}].gatewayId`) ?? "unknown",
      rssi: optNum(o.rssi, `${where}: rxInfo[${i}].rssi`),
      snr: optNum(o.snr, `${where}: rxInfo[${i}].snr`),
    };
  });
  const lora = optObj(optObj(optObj(e.txInfo, `${where}: txInfo`)?.modulation, `${where}: txInfo.modulation`)?.lora, `${where}: txInfo.modulation.lora`);
  return {
    network: "chirpstack",
    deviceId: deviceKey(devEui, undefined, `${where}: deviceInfo.devEui`),
    deviceName: optStr(info.deviceName, `${where}: deviceInfo.deviceName`) ?? devEui.toLowerCase(),
    fPort: uint(e.fPort, `${where}: fPort`, 255),
    fCnt: uint(e.fCnt, `${where}: fCnt`),
    payload: base64(e.data, `${where}: data`),
    time: time(e.time, `${where}: time`),
    rx,
    spreadingFactor: lora ? optNum(lora.spreadingFactor, `${where}: txInfo.modulation.lora.spreadingFactor`) : null,
    bandwidthHz: lora ? optNum(lora.bandwidth, `${where}: txInfo.modulation.lora.bandwidth`) : null,
    airtimeS: null,
  };
}
