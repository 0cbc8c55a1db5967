// The gateway's HTTP side (node:http): the two webhook ingest paths, the JSON API, server-sent events
// for the page, and the page itself. Every error is a JSON body {error, message} with its status.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TidepoolError } from "../../core/errors.ts";
import { TTN_FAIR_USE_S, utcDayStart } from "./airtime.ts";
import { checkToken } from "./auth.ts";
import { parseChirpStackUp } from "./chirpstack.ts";
import type { Ingestor } from "./ingest.ts";
import { PAGE_HTML } from "./page.ts";
import type { RateLimiter } from "./rate-limit.ts";
import { missingIndices, type GatewayStorage, type ImageSummary } from "./storage.ts";
import { parseThingsStackUp } from "./things-stack.ts";
import { IngestError, type Uplink } from "./uplink.ts";

export interface HttpOptions {
  storage: GatewayStorage;
  ingestor: Ingestor;
  token: string | null;
  maxBodyBytes: number;
  sourceLimiter: RateLimiter;
  /** Subscribes a server-sent-events client; returns the unsubscribe function. */
  subscribe(send: (event: string, data: unknown) => void): () => void;
  status(): unknown;
  /** The drift loop's state and pending policy section of a device (null: none seen). */
  policy?(device: string): unknown;
  log(line: string): void;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (declared > limit) {
      req.resume();
      reject(new IngestError("too-large", `request body of ${declared} bytes exceeds the ${limit}-byte limit`, 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0,
      over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (over) return; // drain what the client still sends, keep nothing
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(new IngestError("too-large", `request body exceeds the ${limit}-byte limit`, 413));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new IngestError("malformed", `${what}: body is not JSON (${(e as Error).message})`, 400);
  }
}

export function imageJson(i: ImageSummary) {
  return {
    ...i,
    missing: missingIndices(i.received),
    complete: i.symbols === i.totalSymbols,
    png: i.preview ? `/api/images/${i.id}/png?v=${i.preview.packets}` : null,
  };
}

export function createHttpServer(o: HttpOptions): Server {
  async function ingest(req: IncomingMessage, res: ServerResponse, url: URL, network: "chirpstack" | "tts") {
    const source = req.socket.remoteAddress ?? "unknown";
    const wait = o.sourceLimiter.take(source);
    if (wait > 0) throw new IngestError("rate-limited", `source ${source} is posting faster than ${o.sourceLimiter.rate} uplinks/s`, 429, Math.ceil(wait));
    const why = checkToken(req.headers, o.token);
    if (why) {
      req.resume();
      throw new IngestError("unauthorized", why, 401);
    }
    const ctype = String(req.headers["content-type"] ?? "application/json");
    if (!/json/i.test(ctype)) {
      req.resume();
      throw new IngestError(
        "malformed",
        `content type ${ctype} is not JSON${network === "chirpstack" ? " (set the ChirpStack HTTP integration's payload encoding to JSON)" : ""}`,
        400,
      );
    }
    const body = await readBody(req, o.maxBodyBytes);
    let uplink: Uplink;
    if (network === "chirpstack") {
      const event = url.searchParams.get("event");
      if (!event) throw new IngestError("malformed", "ChirpStack event type missing: the HTTP integration posts to ?event=<type>", 400);
      if (event !== "up") {
        send(res, 200, { status: "ignored", event });
        return;
      }
      uplink = parseChirpStackUp(parseJson(body, "ChirpStack uplink event"));
    } else {
      const json = parseJson(body, "The Things Stack uplink message");
      uplink = parseThingsStackUp(json);
    }
    send(res, 200, await o.ingestor.ingest(uplink, "http"));
  }

  async function api(_req: IncomingMessage, res: ServerResponse, url: URL) {
    const p = url.pathname;
    const limit = Math.min(500, Math.max(1, Number(url.searchParams.get("limit")) || 50));
    const device = url.searchParams.get("device") ?? undefined;
    if (p === "/api/devices") {
      const devices = await o.storage.listDevices(utcDayStart(Date.now()));
      send(
        res,
        200,
        devices.map((d) => ({ ...d, fairUseS: TTN_FAIR_USE_S, fairUseShare: d.airtimeTodayS / TTN_FAIR_USE_S })),
      );
      return;
    }
    if (p === "/api/images") {
      send(res, 200, (await o.storage.listImages({ deviceId: device, limit })).map(imageJson));
      return;
    }
    if (p === "/api/uplinks") {
      const status = url.searchParams.get("status");
      if (status !== null && status !== "packet" && status !== "rejected")
        throw new IngestError("malformed", `status must be "packet" or "rejected", got "${status}"`, 400);
      send(res, 200, await o.storage.listUplinks({ deviceId: device, status: status ?? undefined, limit }));
      return;
    }
    if (p === "/api/policy") {
      if (!device) throw new IngestError("malformed", "the policy of which device? (query parameter device)", 400);
      const st = o.policy?.(device) ?? null;
      if (!st) {
        send(res, 404, { error: "not-found", message: `no drift state for device ${device} (no reference upload yet, or the drift loop is off)` });
        return;
      }
      send(res, 200, st);
      return;
    }
    if (p === "/api/status") {
      send(res, 200, o.status());
      return;
    }
    const m = /^\/api\/images\/(\d+)(\/png)?$/.exec(p);
    if (m) {
      const id = Number(m[1]);
      if (m[2]) {
        const png = await o.storage.getPng(id);
        if (!png) {
          send(res, 404, { error: "not-found", message: `image ${id} has no preview yet` });
          return;
        }
        res.writeHead(200, { "content-type": "image/png", "content-length": png.length, "cache-control": "no-cache" });
        res.end(png);
        return;
      }
      const img = await o.storage.getImage(id);
      if (!img) {
        send(res, 404, { error: "not-found", message: `no image ${id}` });
        return;
      }
      send(res, 200, { ...imageJson(img), uplinks: await o.storage.listUplinks({ imageRowId: id, limit: 500 }) });
      return;
    }
    send(res, 404, { error: "not-found", message: `no API path ${p}` });
  }

  function events(req: IncomingMessage, res: ServerResponse) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write(": tidepool gateway events\n\n");
    const unsubscribe = o.subscribe((event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    req.on("close", () => {
      clearInterval(ping);
      unsubscribe();
    });
  }

  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    const route = async () => {
      if (req.method === "POST" && url.pathname === "/ingest/chirpstack") return ingest(req, res, url, "chirpstack");
      if (req.method === "POST" && url.pathname === "/ingest/tts") return ingest(req, res, url, "tts");
      if (req.method === "GET" && url.pathname === "/api/events") return events(req, res);
      if (req.method === "GET" && url.pathname.startsWith("/api/")) return api(req, res, url);
      if (req.method === "GET" && (url.pathname === "/" || url.pathname === "/index.html")) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(PAGE_HTML) });
        res.end(PAGE_HTML);
        return;
      }
      req.resume();
      const known = ["/ingest/chirpstack", "/ingest/tts"].includes(url.pathname) || url.pathname.startsWith("/api/");
      send(res, known ? 405 : 404, { error: known ? "method" : "not-found", message: `${req.method} ${url.pathname} is not served here` });
    };
    route().catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof IngestError) {
        send(res, e.status, { error: e.kind, message: e.message }, e.retryAfterS ? { "retry-after": String(e.retryAfterS) } : {});
        return;
      }
      if (e instanceof TidepoolError) {
        send(res, 400, { error: e.kind, message: e.message });
        return;
      }
      o.log(`${req.method} ${url.pathname}: ${(e as Error).stack ?? e}`);
      send(res, 500, { error: "internal", message: "the gateway could not store this uplink; retry" });
    });
  });
}

export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      resolve(`http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}/`);
    });
  });
}
