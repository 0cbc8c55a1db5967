// MQTT ingest (mqtt.js, MQTT 5): subscribes to ChirpStack's and The Things Stack's uplink topics through
// shared subscriptions ($share/<group>/…), so several gateway instances split one stream, each message
// going to one of them. A QoS 1 message is acknowledged (PUBACK) only after the uplink is stored;
// mqtt.js reconnects and resubscribes after the broker goes away. mqtt.js hands a connection's messages
// over one at a time (acknowledgements go in order), so each instance opens `connections` members of
// the shared subscription: their uplinks are stored concurrently and share SQLite's group commits.
import mqtt, { type MqttClient } from "mqtt";
import { CHIRPSTACK_UP_TOPIC, isChirpStackUpTopic, parseChirpStackUp } from "./chirpstack.ts";
import type { Ingestor } from "./ingest.ts";
import { isThingsStackUpTopic, parseThingsStackUp, TTS_UP_TOPIC } from "./things-stack.ts";
import { IngestError } from "./uplink.ts";

export interface MqttIngestOptions {
  url: string;
  username?: string;
  password?: string;
  /** Shared-subscription group: instances with the same group split the stream. */
  group: string;
  /** Topic filters (without the $share prefix); default both network servers' uplink topics. */
  topics?: string[];
  maxMessageBytes: number;
  ingestor: Ingestor;
  log(line: string): void;
  clientId?: string;
  /** Members of the shared subscription this instance opens (default 4). */
  connections?: number;
}

export interface MqttIngest {
  readonly clients: MqttClient[];
  /** Every connection is up. */
  connected(): boolean;
  /** Resolves once connected and subscribed the first time. */
  readonly ready: Promise<void>;
  stats: { received: number; stored: number; rejected: number; errors: number; reconnects: number };
  close(): Promise<void>;
}

export function redactMqttUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

export function startMqttIngest(o: MqttIngestOptions): MqttIngest {
  const topics = (o.topics ?? [CHIRPSTACK_UP_TOPIC, TTS_UP_TOPIC]).map((t) => `$share/${o.group}/${t}`);
  const stats = { received: 0, stored: 0, rejected: 0, errors: 0, reconnects: 0 };
  const where = redactMqttUrl(o.url);
  const base = o.clientId ?? `tidepool-gateway-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const n = Math.max(1, o.connections ?? 4);
  const clients: MqttClient[] = [],
    readies: Promise<void>[] = [];
  for (let k = 0; k < n; k++) {
    const client = mqtt.connect(o.url, {
      protocolVersion: 5,
      username: o.username,
      password: o.password,
      clientId: `${base}-${k}`,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
      clean: true,
    });
    clients.push(client);

    // Store first, acknowledge after: mqtt.js sends PUBACK when `done` is called.
    client.handleMessage = (packet, done) => {
      stats.received++;
      const topic = packet.topic;
      const handle = async () => {
        const body = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
        if (body.length > o.maxMessageBytes)
          throw new IngestError("too-large", `message of ${body.length} bytes exceeds the ${o.maxMessageBytes}-byte limit`, 413);
        let json: unknown;
        try {
          json = JSON.parse(body.toString("utf8"));
        } catch {
          throw new IngestError("malformed", "message is not JSON (set the integration's marshaler to JSON)", 400);
        }
        const uplink = isChirpStackUpTopic(topic) ? parseChirpStackUp(json) : isThingsStackUpTopic(topic) ? parseThingsStackUp(json) : null;
        if (!uplink) return; // another topic the filter matched: not an uplink
        const r = await o.ingestor.ingest(uplink, "mqtt");
        if (r.status === "rejected") stats.rejected++;
        else if (r.status !== "ignored") stats.stored++;
      };
      handle().then(
        () => done(),
        (e: unknown) => {
          stats.errors++;
          if (e instanceof IngestError) {
            o.log(`mqtt ${topic}: ${e.message}`);
            done();
            return;
          } // bad input: dropped, never redelivered
          o.log(`mqtt ${topic}: not stored: ${(e as Error).message}`);
          done(e as Error); // storage failed: no PUBACK, the broker redelivers on reconnect
        },
      );
    };

    let first = true;
    const ready = new Promise<void>((resolve, reject) => {
      client.on("connect", () => {
        if (!first) stats.reconnects++;
        client.subscribe(topics, { qos: 1 }, (err) => {
          if (err) {
            o.log(`mqtt ${where}: subscribe failed: ${err.message}`);
            if (first) reject(err);
            return;
          }
          if (first) {
            first = false;
            if (k === 0) o.log(`mqtt: subscribed to ${topics.join(", ")} on ${where} (${n} connections)`);
            resolve();
          }
        });
      });
      client.on("error", (e) => {
        if (k === 0 || !first) o.log(`mqtt ${where}: ${e.message}`);
        if (first && /not authori|bad user/i.test(e.message)) reject(e);
      });
    });
    if (k === 0) client.on("offline", () => o.log(`mqtt ${where}: offline, reconnecting`));
    ready.catch(() => {});
    readies.push(ready);
  }
  return {
    clients,
    stats,
    ready: Promise.all(readies).then(() => {}),
    connected: () => clients.every((c) => c.connected),
    close: () => Promise.all(clients.map((c) => new Promise<void>((r) => c.end(false, {}, () => r())))).then(() => {}),
  };
}
