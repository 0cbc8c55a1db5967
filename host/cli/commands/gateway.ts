import { isTidepoolError } from "../../core/errors.ts";
import { DEFAULTS, startGateway } from "../../receiver/gateway/gateway.ts";
import { intOption, parseCommandArgs, UserError, type Command } from "../command.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage =
  "tidepool gateway [--port N] [--host ADDR] [--db FILE|postgres://…] [--token T] [--mqtt URL [--mqtt-user U] [--mqtt-password P] [--mqtt-group G] [--mqtt-connections N]] [--fport N] [--frame DEVICE=WxH]... [--model FILE|NAME]... (default: the colour, grey and task models) [--no-previews] [--no-labels] [--rate N] [--device-rate N] [--sync full] [--reference-p P] [--drift-threshold T] [--drift-window N] [--drift-min-references N] [--reference-port N] [--no-drift]";

export const command: Command = {
  name: "gateway",
  summary: "receive LoRaWAN uplinks (ChirpStack, The Things Stack), decode and store the images, serve a page (prints its URL first)",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        port: { type: "string" },
        host: { type: "string" },
        db: { type: "string" },
        token: { type: "string" },
        mqtt: { type: "string" },
        "mqtt-user": { type: "string" },
        "mqtt-password": { type: "string" },
        "mqtt-group": { type: "string" },
        "mqtt-connections": { type: "string" },
        frame: { type: "string", multiple: true },
        fport: { type: "string" },
        model: { type: "string", multiple: true },
        "no-labels": { type: "boolean" },
        "no-previews": { type: "boolean" },
        rate: { type: "string" },
        "device-rate": { type: "string" },
        sync: { type: "string" },
        "reference-p": { type: "string" },
        "drift-threshold": { type: "string" },
        "drift-window": { type: "string" },
        "drift-min-references": { type: "string" },
        "reference-port": { type: "string" },
        "no-drift": { type: "boolean" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = values.model.map(resolveModelPath); // registered names ("task") or files
    const frames: Record<string, string> = {};
    for (const f of values.frame ?? []) {
      const m = /^([^=]+)=(\d+x\d+)$/.exec(f);
      if (!m) throw new UserError(`--frame "${f}" must be DEVICE=WIDTHxHEIGHT (DEVICE: DevEUI or TTS device id)`, 2);
      frames[m[1]] = m[2];
    }
    if (values.sync !== undefined && values.sync !== "full" && values.sync !== "normal")
      throw new UserError(`--sync must be "normal" or "full", got "${values.sync}"`, 2);
    if (values.fport !== undefined && !(+values.fport >= 1 && +values.fport <= 223))
      throw new UserError(`--fport must be a LoRaWAN application port 1..223, got "${values.fport}"`, 2);
    const fraction = (name: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(v)) throw new UserError(`--${name} must be a number in 0..1, got "${v}"`, 2);
      return +v;
    };
    const driftWindow = intOption("drift-window", values["drift-window"], 1);
    const drift = values["no-drift"]
      ? null
      : {
          referenceProbability: fraction("reference-p", values["reference-p"]),
          threshold: fraction("drift-threshold", values["drift-threshold"]),
          window: driftWindow,
          minReferences: intOption("drift-min-references", values["drift-min-references"], 1) ?? driftWindow,
          referencePort: intOption("reference-port", values["reference-port"], 1),
        };
    const rate = intOption("rate", values.rate, 1),
      deviceRate = intOption("device-rate", values["device-rate"], 1);
    // Secrets may come from the environment, so they do not show in the process list.
    const token = values.token ?? process.env.TIDEPOOL_GATEWAY_TOKEN ?? null;
    const mqttPassword = values["mqtt-password"] ?? process.env.TIDEPOOL_MQTT_PASSWORD;
    let gw: Awaited<ReturnType<typeof startGateway>>;
    try {
      gw = await startGateway({
        port: intOption("port", values.port, 0) ?? DEFAULTS.port,
        host: values.host,
        db: values.db,
        token,
        mqtt: values.mqtt
          ? {
              url: values.mqtt,
              username: values["mqtt-user"],
              password: mqttPassword,
              group: values["mqtt-group"],
              connections: intOption("mqtt-connections", values["mqtt-connections"], 1),
            }
          : null,
        frames,
        fPort: intOption("fport", values.fport, 1) ?? null,
        modelPath: values.model,
        labels: !values["no-labels"],
        ...(values["no-previews"] ? { decoderPath: null } : {}),
        sourceRate: rate ? { rate, burst: rate * 10 } : undefined,
        deviceRate: deviceRate ? { rate: deviceRate, burst: deviceRate * 30 } : undefined,
        durability: values.sync as "normal" | "full" | undefined,
        drift,
        onPolicy: (i) =>
          console.error(
            `tidepool gateway: device ${i.deviceId}: new policy ${i.policyId.toString(16).padStart(8, "0")} (${i.payload.length} B) at ${gw.url}api/policy?device=${i.deviceId}`,
          ),
      });
    } catch (e) {
      if (isTidepoolError(e)) throw new UserError(e.message, e.exitCode);
      throw e;
    }
    console.log(gw.url);
    console.error(
      `tidepool gateway: storing in ${gw.storage.kind} ${gw.storage.where}; ingest at ${gw.url}ingest/chirpstack?event=up and ${gw.url}ingest/tts${token ? " (token required)" : " (no token: loopback only)"}`,
    );
    for (const n of gw.notes) console.error(`tidepool gateway: ${n}`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await gw.close();
    return 0;
  },
};
