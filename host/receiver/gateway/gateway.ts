// `startGateway(options)`: the whole receiving side in one process (the CLI's `tidepool gateway` and
// `npm start` both call it): storage, the packet checks, HTTP and MQTT ingest, progressive decoding,
// labels, the page and its API. Returns the URL and a close() that stops everything it started.
import { existsSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import { modelTables } from "../../wire/bitstream/tables.ts";
import { DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH } from "../../build/build.ts";
import { registryEntryForFile, resolveModelPath, shippedModel, shippedTaskModel } from "../../core/model-registry.ts";
import { FailureError, UsageError } from "../../core/errors.ts";
import { DEFAULT_DECODER_PATH, loadDecoder } from "../decoder.ts";
import type { ServerDecoder } from "../../core/types.ts";
import { readModel } from "../../model/format.ts";
import { type Codec, FrameCatalog, frameName, parseFrameName, type Frame } from "./frames.ts";
import { createHttpServer, listen } from "./http-server.ts";
import { Ingestor, type IngestResult } from "./ingest.ts";
import { Labeller } from "./labels.ts";
import { redactMqttUrl, startMqttIngest, type MqttIngest } from "./mqtt-ingest.ts";
import { openStorage } from "./open-storage.ts";
import { RateLimiter } from "./rate-limit.ts";
import { ImageRenderer } from "./renderer.ts";
import type { GatewayStorage } from "./storage.ts";
import { DEFAULT_DRIFT_LOOP, DriftLoop, type DeviceDriftState, type DriftLoopOptions, type PolicyIssue } from "./drift-loop.ts";
import { downlinkPlan } from "../adaptive/drift.ts";

export interface RateOption {
  rate: number;
  burst: number;
}

export interface GatewayOptions {
  /** TCP port (0: any free port). */
  port?: number;
  /** Address to bind; anything but loopback requires a token. */
  host?: string;
  /** SQLite file, or postgres://… (several instances behind one database). */
  db?: string;
  /** Ingest credential (Bearer token or webhook secret header); null: no authentication (loopback only). */
  token?: string | null;
  mqtt?: { url: string; username?: string; password?: string; group?: string; topics?: string[]; connections?: number } | null;
  /** The model(s) whose packets the gateway decodes (files or registered names); default: the shipped colour model and, when installed, the grey and task ones. */
  modelPath?: string | string[];
  /** Reconstruction decoder for previews; null disables previews. */
  decoderPath?: string | null;
  /** Top-5 labels with the task decoder and MobileNetV2 (default on when both models are installed). */
  labels?: boolean;
  /** The LoRaWAN port the cameras send packets on; uplinks on other ports are ignored (default: every port). */
  fPort?: number | null;
  /** Camera frame per device id ("320x240"); other devices' frames are inferred from boards/*.json. */
  frames?: Record<string, string>;
  /** Frames tried for devices without a configured frame (default: every board's camera frame). */
  candidateFrames?: Frame[];
  maxBodyBytes?: number;
  sourceRate?: RateOption;
  deviceRate?: RateOption;
  imageGapMs?: number;
  minRenderIntervalMs?: number;
  sharedPollMs?: number;
  durability?: "normal" | "full";
  /**
   * The adaptive policy's drift loop (docs/gateway.md §Drift): reference uploads on `referencePort` are
   * scored and the policy retrained below `threshold`; null turns it off. On by default when labels run.
   */
  drift?: Partial<DriftLoopOptions> | null;
  /** Called with each retrained policy section to install on the device (bridge or downlinks). */
  onPolicy?: (issue: PolicyIssue) => void;
  log?: (line: string) => void;
}

export interface Gateway {
  url: string;
  storage: GatewayStorage;
  ingestor: Ingestor;
  mqtt: MqttIngest | null;
  /** The drift loop, when it runs (labels available, not turned off). */
  drift: DriftLoop | null;
  /** What is not available (no decoder, no labels) and why. */
  notes: string[];
  /** Resolves once every scheduled decode has finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULTS = {
  port: 8700,
  host: "127.0.0.1",
  db: "tidepool-gateway.db",
  maxBodyBytes: 64 * 1024,
  // A network server posts every device's uplinks from one address; devices are bounded by their duty cycle.
  sourceRate: { rate: 500, burst: 5000 },
  deviceRate: { rate: 10, burst: 300 },
  imageGapMs: 60 * 60 * 1000,
  minRenderIntervalMs: 200,
  /** Behind PostgreSQL: how often a decoding instance looks for packets other instances stored. */
  sharedPollMs: 2000,
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function loadCodec(path: string): Codec {
  if (!existsSync(path)) throw new FailureError("model", `no model at ${path}`);
  const model = readModel(new Uint8Array(readFileSync(path)), path);
  if (!model.entropy) throw new FailureError("model", `${path} has no entropy tables (ENTR section): packets cannot be decoded; run \`tidepool fit-tables\``);
  return { model, tables: modelTables(model, path), source: path };
}

/** Loads the own decoder of a model that has one (the task encoder: the picture decoders cannot read its latents). */
async function attachOwnDecoder(codec: Codec, notes: string[]): Promise<void> {
  const own = registryEntryForFile(codec.source);
  if (!own?.ownDecoder) return;
  if (existsSync(own.decoder)) codec.decoder = await loadDecoder(own.decoder);
  else notes.push(`no previews for ${codec.source}: no decoder at ${own.decoder}`);
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as GatewayOptions;
  const o = { ...DEFAULTS, ...given };
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const token = options.token ?? null;
  if (!LOOPBACK.test(o.host) && token === null)
    throw new UsageError(`listening on ${o.host} (not loopback) needs an ingest token: anyone who can reach it could post uplinks`);
  const driftOptions: DriftLoopOptions | null =
    options.drift === null ? null : { ...DEFAULT_DRIFT_LOOP, ...Object.fromEntries(Object.entries(options.drift ?? {}).filter(([, v]) => v !== undefined)) };
  if (driftOptions) checkDriftOptions(driftOptions);
  const frames = new Map<string, Frame>();
  for (const [dev, f] of Object.entries(options.frames ?? {})) {
    const frame = parseFrameName(f);
    if (!frame) throw new UsageError(`frame "${f}" of device ${dev} is not WIDTHxHEIGHT`);
    frames.set(dev.toLowerCase().match(/^[0-9a-f]{16}$/) ? dev.toLowerCase() : dev, frame);
  }
  const modelPaths =
    options.modelPath === undefined
      ? [
          DEFAULT_MODEL_PATH,
          ...(existsSync(DEFAULT_GREY_MODEL_PATH) ? [DEFAULT_GREY_MODEL_PATH] : []),
          // The task encoder's packets carry its own tables id, so the CRC tells them apart too.
          ...(shippedTaskModel() ? [shippedTaskModel()!.model] : []),
          // The fast encoder (and its grey variant) shares decoder.onnx; its own tables id tells its packets apart.
          ...["fast", "fast-grey"].flatMap((n) => (shippedModel(n) ? [shippedModel(n)!.model] : [])),
        ]
      : ([] as string[]).concat(options.modelPath).map(resolveModelPath);
  const catalog = new FrameCatalog(modelPaths.map(loadCodec), options.candidateFrames);
  const notes: string[] = [];

  let decoder: ServerDecoder | null = null,
    labeller: Labeller | null = null;
  const decoderPath = options.decoderPath === undefined ? DEFAULT_DECODER_PATH : options.decoderPath;
  if (decoderPath === null) notes.push("previews disabled");
  else if (!existsSync(decoderPath)) notes.push(`no previews: no decoder at ${decoderPath}`);
  else decoder = await loadDecoder(decoderPath);
  if (decoderPath !== null) for (const c of catalog.codecs) await attachOwnDecoder(c, notes);
  const closeOwnDecoders = async () => {
    for (const c of catalog.codecs) await c.decoder?.close?.();
  };
  // Whether any image can be drawn: the gateway's decoder, or a model's own.
  const renders = decoder !== null || catalog.codecs.some((c) => c.decoder);
  if (options.labels !== false && renders) {
    const l = await Labeller.load();
    if (l instanceof Labeller) labeller = l;
    else notes.push(`no labels: ${l.unavailable}`);
  }

  let drift: DriftLoop | null = null;
  if (driftOptions) {
    const d = driftOptions;
    if (!labeller) notes.push("no drift loop: it needs the labels (task decoder and MobileNetV2)");
    else {
      const l = labeller;
      drift = new DriftLoop(
        d,
        (latent, codec) => l.top1ByPrefix(latent, codec.model),
        (issue) => options.onPolicy?.(issue),
        log,
      );
    }
  }
  const referenceImages = new Set<number>();

  let storage: GatewayStorage;
  try {
    storage = await openStorage(o.db, { durability: o.durability });
  } catch (e) {
    await decoder?.close?.();
    await closeOwnDecoders();
    await labeller?.close();
    throw e;
  }
  const subscribers = new Set<(event: string, data: unknown) => void>();
  const emit = (event: string, data: unknown) => {
    for (const s of subscribers) s(event, data);
  };
  const renderer = new ImageRenderer({
    storage,
    catalog,
    decoder,
    labeller,
    minIntervalMs: o.minRenderIntervalMs,
    log,
    onUpdate: (imageRowId, what) => emit(what, { image: imageRowId }),
    onComplete: drift
      ? async (image, latent, codec) => {
          if (!referenceImages.has(image.id)) return;
          referenceImages.delete(image.id);
          const issue = await drift!.observe(image.deviceId, image.id, latent, codec);
          emit("reference", { device: image.deviceId, image: image.id, state: summary(drift!.state(image.deviceId)) });
          if (issue) emit("policy", { device: issue.deviceId, policyId: issue.policyId, bytes: issue.payload.length });
        }
      : undefined,
  });
  const ingestor = new Ingestor({
    storage,
    catalog,
    frames,
    imageGapMs: o.imageGapMs,
    fPort: options.fPort ?? null,
    referencePort: drift?.o.referencePort ?? null,
    deviceLimiter: new RateLimiter(o.deviceRate.rate, o.deviceRate.burst),
    onStored: (r: IngestResult) => {
      if (r.newDevice) log(`new device ${r.deviceId}`);
      if (r.status === "ignored") return;
      if (r.reference && r.status === "stored" && r.imageRowId !== null) {
        referenceImages.add(r.imageRowId);
        // A reference that never completes (lost packets) is forgotten after 10 000 newer ones.
        if (referenceImages.size > 10_000) referenceImages.delete(referenceImages.values().next().value!);
      }
      emit("uplink", { device: r.deviceId, image: r.imageRowId, status: r.status });
      if (renders && r.imageRowId !== null && r.status === "stored") renderer.schedule(r.imageRowId);
    },
  });
  const sourceLimiter = new RateLimiter(o.sourceRate.rate, o.sourceRate.burst);
  let mqttIngest: MqttIngest | null = null;
  const server: Server = createHttpServer({
    storage,
    ingestor,
    token,
    maxBodyBytes: o.maxBodyBytes,
    sourceLimiter,
    log,
    subscribe: (send) => {
      subscribers.add(send);
      return () => subscribers.delete(send);
    },
    policy: (device) => {
      const st = drift?.state(device) ?? null;
      if (!st) return null;
      const issue = drift!.pending(device);
      return {
        ...summary(st),
        referenceProbability: drift!.o.referenceProbability,
        threshold: drift!.o.threshold,
        window: drift!.o.window,
        pending: issue
          ? {
              policyId: issue.policyId,
              bytes: issue.payload.length,
              payload: Buffer.from(issue.payload).toString("base64"),
              downlinks: Object.fromEntries(DOWNLINK_PAYLOADS.map(([dr, p]) => [dr, downlinkPlan(issue.payload.length, p).downlinks])),
            }
          : null,
      };
    },
    status: () => ({
      storage: { kind: storage.kind, where: storage.where },
      notes,
      models: catalog.codecs.map((c) => ({ source: c.source, tablesId: c.tables.id.toString(16).padStart(8, "0") })),
      frames: catalog.candidates.map(frameName),
      mqtt: mqttIngest ? { ...mqttIngest.stats, connections: mqttIngest.clients.length, connected: mqttIngest.connected() } : null,
    }),
  });

  let url: string;
  try {
    url = await listen(server, o.port, o.host);
    if (options.mqtt) {
      mqttIngest = startMqttIngest({ ...options.mqtt, group: options.mqtt.group ?? "tidepool", maxMessageBytes: o.maxBodyBytes, ingestor, log });
      await mqttIngest.ready.catch((e: Error) => {
        throw new FailureError("mqtt", `MQTT broker ${redactMqttUrl(options.mqtt!.url)}: ${e.message}`);
      });
    }
  } catch (e) {
    server.close();
    await mqttIngest?.close();
    await renderer.close();
    await storage.close();
    await decoder?.close?.();
    await closeOwnDecoders();
    await labeller?.close();
    if (e instanceof Error && "code" in e && e.code === "EADDRINUSE") throw new FailureError("listen", `port ${o.port} on ${o.host} is in use`);
    throw e;
  }
  // Rebuild after a crash or restart: decode every image whose preview is older than its stored packets.
  if (renders) for (const id of await storage.staleImages(labeller !== null)) renderer.schedule(id);
  // Behind a shared database, other instances store packets too (ingest-only ones among them): look for
  // recent images with packets newer than their preview every few seconds.
  let poll: NodeJS.Timeout | null = null;
  if (renders && storage.kind === "postgres") {
    let polling = false;
    poll = setInterval(() => {
      if (polling) return;
      polling = true;
      storage
        .staleImages(labeller !== null, Date.now() - o.imageGapMs)
        .then(
          (ids) => {
            for (const id of ids) renderer.schedule(id);
          },
          (e: Error) => log(`looking for images to decode: ${e.message}`),
        )
        .finally(() => {
          polling = false;
        });
    }, o.sharedPollMs);
  }

  let closed = false;
  return {
    url,
    storage,
    ingestor,
    mqtt: mqttIngest,
    drift,
    notes,
    idle: () => renderer.idle(),
    async close() {
      if (closed) return;
      closed = true;
      if (poll) clearInterval(poll);
      await mqttIngest?.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await renderer.close();
      await storage.close();
      await decoder?.close?.();
      await closeOwnDecoders();
      await labeller?.close();
    },
  };
}

/** EU868 downlink payload limits (RX2 at DR3 is TTN's; DR0 the worst case). */
const DOWNLINK_PAYLOADS: [string, number][] = [
  ["DR5", 222],
  ["DR3", 115],
  ["DR0", 51],
];

function summary(st: DeviceDriftState | null) {
  if (!st) return null;
  const { history, issued, ...rest } = st;
  return {
    ...rest,
    kept: history.filter((h) => h.kept).length,
    issued: issued.map((i) => ({ policyId: i.policyId, atReference: i.atReference, trainedOn: i.trainedOn, estimateBefore: i.estimateBefore })),
  };
}

function checkDriftOptions(d: DriftLoopOptions): void {
  const bad = (what: string) => {
    throw new UsageError(`drift loop: ${what}`);
  };
  if (!(d.referenceProbability >= 0 && d.referenceProbability <= 1)) bad(`reference probability ${d.referenceProbability} is outside 0..1`);
  if (!(d.threshold >= 0 && d.threshold <= 1)) bad(`threshold ${d.threshold} is outside 0..1`);
  if (!Number.isInteger(d.window) || d.window < 1) bad(`window ${d.window} is not a positive whole number of references`);
  if (!Number.isInteger(d.minReferences) || d.minReferences < 1) bad(`minimum references ${d.minReferences} is not a positive whole number`);
  if (!Number.isInteger(d.keep) || d.keep < d.minReferences)
    bad(`the minimum of ${d.minReferences} references exceeds the ${d.keep} references kept per device`);
  if (!Number.isInteger(d.referencePort) || d.referencePort < 1 || d.referencePort > 223)
    bad(`reference port ${d.referencePort} is not a LoRaWAN application port 1..223`);
}
