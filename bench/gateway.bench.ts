// Gateway figures of issue 11 (benchmark, not test), on loopback:
//  1. uplinks/s ingested over HTTP (webhook JSON → checks → SQLite transaction → 200), against a bare
//     node:http server that only reads and answers (same run, same client) as the ceiling;
//  2. uplinks/s over MQTT through mosquitto (QoS 1, stored before PUBACK), against a plain subscriber;
//  3. accepted uplinks lost when the gateway process is SIGKILLed under load (must be 0);
//  4. time from an image's first packet to its first preview (decoded PNG stored);
//  5. images per device per day under TTN fair use (30 s airtime) at SF7–SF12, Tidepool against the
//     device JPEG (assembly/jpeg) at equal MS-SSIM, EU868 payload sizes.
// GATEWAY_BENCH_UPLINKS=N sets the uplink count (default 4000), GATEWAY_BENCH_PHOTOS=N the photos of 5.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import mqtt from "mqtt";
import { decodePacketSet } from "../host/receiver/packet-decoder.ts";
import { packetize } from "../host/wire/bitstream/packetizer.ts";
import { modelTables } from "../host/wire/bitstream/tables.ts";
import { DEFAULT_MODEL_PATH } from "../host/build/build.ts";
import { loadDecoder } from "../host/receiver/decoder.ts";
import { msssim } from "../host/eval/metrics.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { samplePhotos } from "../host/image/samples.ts";
import { buildDeviceJpeg, loadDeviceJpeg, runJpeg } from "../host/build/jpeg/device-jpeg.ts";
import { decodeDamaged, jpegPacketSizes } from "../host/wire/link/jpeg-link.ts";
import { loraAirtime, LORAWAN_OVERHEAD } from "../host/wire/link/presets.ts";
import { readModel } from "../host/model/format.ts";
import { repoPath, SHARED_DIR } from "../host/core/paths.ts";
import { referenceEncode } from "../host/build/reference/encoder.ts";
import { TTN_FAIR_USE_S } from "../host/receiver/gateway/airtime.ts";
import { startGateway } from "../host/receiver/gateway/gateway.ts";
import { chirpstackUp } from "../tests/gateway/packets.ts";
import { MOSQUITTO_MISSING, startMosquitto, waitFor } from "../tests/gateway/services.ts";

const W = 320,
  H = 240;
const UNLIMITED = { rate: Infinity, burst: Infinity };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** POSTs every body with `concurrency` keep-alive connections; returns statuses and seconds taken. */
async function blast(
  url: string,
  bodies: string[],
  concurrency: number,
  onOk?: (ok: number) => void,
): Promise<{ seconds: number; ok: number; statuses: Map<number, number>; okIndex: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const statuses = new Map<number, number>();
  const okIndex: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const i = next++;
      const status = await new Promise<number>((resolve) => {
        const req = request(
          {
            agent,
            host: target.hostname,
            port: target.port,
            path: target.pathname + target.search,
            method: "POST",
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(bodies[i]) },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", () => resolve(0));
        req.end(bodies[i]);
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) {
        okIndex.push(i);
        onOk?.(okIndex.length);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, ok: statuses.get(200) ?? 0, statuses, okIndex };
}

/** `tidepool gateway` in its own Node process (labels off; `args` adds flags), and its CPU seconds so far. */
function startChild(db: string, args: string[] = []): Promise<{ kill(): void; url: string; stop(): Promise<void>; cpuSeconds(): number }> {
  const loader = pathToFileURL(repoPath("node_modules", "tsx", "dist", "loader.mjs")).href;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        loader,
        repoPath("host", "cli", "main.ts"),
        "gateway",
        "--port",
        "0",
        "--db",
        db,
        "--no-labels",
        "--rate",
        "1000000",
        "--device-rate",
        "1000000",
        ...args,
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    let out = "";
    const cpuSeconds = () => {
      const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
      return (Number(f[11]) + Number(f[12])) / 100;
    }; // utime + stime, in USER_HZ (100)
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n"))
        resolve({
          url: out.split("\n")[0],
          cpuSeconds,
          kill: () => child.kill("SIGKILL"),
          stop: () =>
            new Promise((r) => {
              child.once("exit", () => r());
              child.kill("SIGTERM");
            }),
        });
    });
    child.once("exit", (c) => reject(new Error(`gateway exited ${c}`)));
  });
}

export default async function gatewayBench() {
  const N = Number(process.env.GATEWAY_BENCH_UPLINKS ?? 4000);
  const model = readModel(new Uint8Array(readFileSync(DEFAULT_MODEL_PATH)), DEFAULT_MODEL_PATH);
  const tables = modelTables(model);
  const photo = await loadRgb(samplePhotos()[0], { width: W, height: H });
  const latent = referenceEncode(model, toFrame(photo, "rgb888"), W, H, "rgb888");
  const packets = packetize(latent, tables, { imageId: 1, packetBytes: 222 }).packets;
  // N uplinks: each device sends the packets of one image (the dedup key is device + fCnt + payload).
  const uplinks = Array.from({ length: N }, (_, i) =>
    JSON.stringify(
      chirpstackUp(packets[i % packets.length], {
        devEui: (0x70b3d57e00000000n + BigInt(Math.floor(i / packets.length))).toString(16).padStart(16, "0"),
        fCnt: (i % packets.length) + 1,
      }),
    ),
  );
  const dir = mkdtempSync(join(tmpdir(), "tidepool-gw-bench-"));
  const only = (process.env.GATEWAY_BENCH_ONLY ?? "1,2,3,4,5").split(",").map(Number);
  const CONC = 16;
  try {
    // 1. HTTP
    if (only.includes(1)) {
      console.log(
        `1. HTTP ingest: ${N} ChirpStack uplink events (${packets.length} real 222-B packets per device, ${Math.ceil(N / packets.length)} devices), ${CONC} keep-alive connections, SQLite WAL (synchronous=NORMAL), previews off (decoding is measured in 4)`,
      );
      const bare = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"status":"stored"}');
        });
      });
      await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
      const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/ingest/chirpstack?event=up`;
      const b = await blast(bareUrl, uplinks, CONC);
      bare.close();
      const gw = await startGateway({ port: 0, db: join(dir, "http.db"), decoderPath: null, sourceRate: UNLIMITED, deviceRate: UNLIMITED, log: () => {} });
      const g = await blast(`${gw.url}ingest/chirpstack?event=up`, uplinks, CONC);
      const stored = (await gw.storage.listDevices(0)).reduce((s, d) => s + d.uplinks, 0);
      await gw.close();
      console.log(`   gateway: ${(g.ok / g.seconds).toFixed(0)} uplinks/s (${g.ok}/${N} answered 200, ${stored} stored) — goal >= 2000`);
      console.log(`   baseline, bare node:http answering 200 without parsing or storing: ${(b.ok / b.seconds).toFixed(0)} requests/s`);
      // Load-independent: the CPU time the gateway process spends per uplink (the client runs in this process).
      for (const [what, args] of [
        ["ingest only (--no-previews)", ["--no-previews"]],
        ["with previews (each image decoded as its packets arrive)", []],
      ] as const) {
        const child = await startChild(join(dir, `cpu-${args.length}.db`), [...args]);
        await blast(`${child.url}ingest/chirpstack?event=up`, uplinks.slice(0, 200), CONC); // warm-up (JIT)
        const c0 = child.cpuSeconds();
        const c = await blast(`${child.url}ingest/chirpstack?event=up`, uplinks.slice(200), CONC);
        await new Promise((r) => setTimeout(r, 1000)); // let the last decodes finish
        const perUplink = (child.cpuSeconds() - c0) / c.ok;
        await child.stop();
        console.log(
          `   gateway process CPU per uplink, ${what}: ${(perUplink * 1e6).toFixed(0)} µs → ${(1 / perUplink).toFixed(0)} uplinks per CPU-second (${c.ok} uplinks after 200 warm-up, own process)`,
        );
      }
    }

    // 2. MQTT
    if (!only.includes(2)) {
      /* not asked for */
    } else if (MOSQUITTO_MISSING) console.log(`2. MQTT ingest: skipped (${MOSQUITTO_MISSING})`);
    else {
      const broker = await startMosquitto({ gw: "pw", ns: "pw" });
      try {
        const topicOf = (i: number) => `application/bench/device/${JSON.parse(uplinks[i]).deviceInfo.devEui}/event/up`;
        const publishAll = async () => {
          const pub = await mqtt.connectAsync(broker.url, { username: "ns", password: "pw", protocolVersion: 5 });
          await Promise.all(uplinks.map((u, i) => pub.publishAsync(topicOf(i), u, { qos: 1 })));
          await pub.endAsync();
        };
        // Baseline: a plain subscriber that counts messages.
        const sub = await mqtt.connectAsync(broker.url, { username: "gw", password: "pw", protocolVersion: 5 });
        let got = 0;
        sub.on("message", () => {
          got++;
        });
        await sub.subscribeAsync("$share/base/application/+/device/+/event/up", { qos: 1 });
        let t0 = performance.now();
        await publishAll();
        await waitFor("the baseline subscriber", async () => got >= N, 120_000);
        const baseS = (performance.now() - t0) / 1000;
        await sub.endAsync();
        const mg = await startGateway({
          port: 0,
          db: join(dir, "mqtt.db"),
          decoderPath: null,
          sourceRate: UNLIMITED,
          deviceRate: UNLIMITED,
          log: () => {},
          mqtt: { url: broker.url, username: "gw", password: "pw" },
        });
        t0 = performance.now();
        await publishAll();
        await waitFor("the gateway to store every uplink", async () => mg.mqtt!.stats.stored >= N, 120_000);
        const s = (performance.now() - t0) / 1000;
        await mg.close();
        console.log(
          `2. MQTT ingest (mosquitto, QoS 1, shared subscription, stored before PUBACK): ${(N / s).toFixed(0)} uplinks/s (${N} stored) — goal >= 2000`,
        );
        console.log(`   baseline, plain mqtt.js subscriber counting messages: ${(N / baseS).toFixed(0)} messages/s`);
      } finally {
        await broker.close();
      }
    }

    // 3. SIGKILL under load
    if (only.includes(3)) {
      const db = join(dir, "kill.db");
      const start = () => startChild(db, ["--no-previews"]);
      const first = await start();
      let killed = false;
      const r = await blast(`${first.url}ingest/chirpstack?event=up`, uplinks, CONC, (ok) => {
        if (!killed && ok >= N / 2) {
          killed = true;
          first.kill();
        }
      });
      const second = await start();
      const ups: { deviceId: string; fCnt: number }[] = [];
      for (const d of (await (await fetch(new URL("/api/devices", second.url))).json()) as { id: string }[])
        ups.push(...((await (await fetch(new URL(`/api/uplinks?device=${d.id}&limit=500`, second.url))).json()) as { deviceId: string; fCnt: number }[]));
      const have = new Set(ups.map((u) => `${u.deviceId}:${u.fCnt}`));
      const lost = r.okIndex.filter((i) => {
        const j = JSON.parse(uplinks[i]);
        return !have.has(`${j.deviceInfo.devEui}:${j.fCnt ?? 0}`);
      }).length;
      await second.stop();
      console.log(
        `3. SIGKILL after half of a ${N}-uplink HTTP load (${CONC} connections in flight): ${r.ok} acknowledged, ${ups.length} stored after restart, ${lost} acknowledged uplinks lost — goal 0`,
      );
    }

    // 4. first preview
    if (only.includes(4)) {
      const gw4 = await startGateway({ port: 0, db: join(dir, "preview.db"), labels: false, minRenderIntervalMs: 0, log: () => {} });
      const times: number[] = [],
        server: number[] = [];
      for (let k = 0; k < 8; k++) {
        const body = JSON.stringify(chirpstackUp(packets[k % packets.length], { devEui: `70b3d57e9900${String(k).padStart(4, "0")}`, fCnt: 1 }));
        const t0 = performance.now();
        const res = await fetch(`${gw4.url}ingest/chirpstack?event=up`, { method: "POST", headers: { "content-type": "application/json" }, body });
        const { imageRowId } = (await res.json()) as { imageRowId: number };
        await gw4.idle();
        const img = await gw4.storage.getImage(imageRowId);
        if (!img?.preview) throw new Error("no preview was stored");
        if (k > 0) {
          times.push(performance.now() - t0);
          server.push(img.firstPreviewMs!);
        } // k = 0 warms ONNX up
      }
      await gw4.close();
      const dec = await loadDecoder();
      const plain = decodePacketSet([packets[0]], tables, latent);
      const td: number[] = [];
      for (let k = 0; k < 6; k++) {
        const t0 = performance.now();
        await dec.decode(plain.latent, plain.present, model);
        if (k) td.push(performance.now() - t0);
      }
      await dec.close();
      console.log(
        `4. first preview (one 222-B packet of a 320x240 image, ONNX decoder, PNG stored): median ${median(times).toFixed(1)} ms from POST to stored preview (server clock ${median(server).toFixed(0)} ms), over ${times.length} images — goal <= 50 ms`,
      );
      console.log(`   baseline, the ONNX decoder alone on the same latent: median ${median(td).toFixed(1)} ms`);
    }

    // 5. images per day under fair use
    if (only.includes(5)) {
      const kodak = join(SHARED_DIR, "datasets", "kodak");
      const n = Number(process.env.GATEWAY_BENCH_PHOTOS ?? 6);
      const files = existsSync(kodak)
        ? readdirSync(kodak)
            .filter((f) => /\.png$/i.test(f))
            .sort()
            .slice(0, n)
            .map((f) => join(kodak, f))
        : samplePhotos().slice(0, n);
      const dec = await loadDecoder();
      const jpeg = await loadDeviceJpeg(await buildDeviceJpeg(W));
      const LINKS = [
        { sf: 7, P: 222 },
        { sf: 8, P: 222 },
        { sf: 9, P: 115 },
        { sf: 10, P: 51 },
        { sf: 11, P: 51 },
        { sf: 12, P: 51 },
      ];
      const KS = [4, 8, model.latent.levels.length]; // operating points: leading channels sent (progressive tail-drop)
      const airtime = (sizes: number[], sf: number) => sizes.reduce((s, p) => s + loraAirtime(p + LORAWAN_OVERHEAD, sf), 0);
      type Acc = { tp: number[]; jp: number[]; tpBytes: number[]; jpBytes: number[] };
      const rows = KS.map(() => LINKS.map((): Acc => ({ tp: [], jp: [], tpBytes: [], jpBytes: [] })));
      const quality = KS.map(() => ({ tp: [] as number[], jp: [] as number[], q: [] as number[] }));
      for (const f of files) {
        const img = await loadRgb(f, { width: W, height: H });
        const frame = toFrame(img, "rgb888");
        const lat = referenceEncode(model, frame, W, H, "rgb888");
        const jpegAt = new Map<number, { file: Uint8Array; m: number }>();
        const at = async (q: number) => {
          let r = jpegAt.get(q);
          if (!r) {
            const file = runJpeg(jpeg, frame, W, H, "rgb888", q);
            const d = await decodeDamaged(file, W, H);
            r = { file, m: d ? msssim(img, d) : 0 };
            jpegAt.set(q, r);
          }
          return r;
        };
        for (const [ki, k] of KS.entries()) {
          const sent = decodePacketSet(packetize(lat, tables, { imageId: 1, packetBytes: 222, channels: k }).packets, tables, lat);
          const target = msssim(img, await dec.decode(sent.latent, sent.present, model));
          // The device JPEG's smallest quality reaching Tidepool's MS-SSIM (binary search; MS-SSIM rises with quality).
          let lo = 1,
            hi = 100;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if ((await at(mid)).m >= target) hi = mid;
            else lo = mid + 1;
          }
          const jp = await at(lo);
          // Equal MS-SSIM: the file size interpolated between the qualities just below and at the target.
          const below = lo > 1 ? await at(lo - 1) : null;
          const jpegBytes =
            below && jp.m > below.m ? below.file.length + ((target - below.m) / (jp.m - below.m)) * (jp.file.length - below.file.length) : jp.file.length;
          quality[ki].tp.push(target);
          quality[ki].jp.push(jp.m);
          quality[ki].q.push(lo);
          LINKS.forEach(({ sf, P }, li) => {
            const tpSizes = packetize(lat, tables, { imageId: 1, packetBytes: P, channels: k }).packets.map((p) => p.length);
            const jpSizes = jpegPacketSizes(Math.round(jpegBytes), P);
            const r = rows[ki][li];
            r.tp.push(TTN_FAIR_USE_S / airtime(tpSizes, sf));
            r.jp.push(TTN_FAIR_USE_S / airtime(jpSizes, sf));
            r.tpBytes.push(tpSizes.reduce((a, c) => a + c, 0));
            r.jpBytes.push(jpSizes.reduce((a, c) => a + c, 0));
          });
        }
      }
      await dec.close();
      console.log(
        `5. images per device per day under TTN fair use (${TTN_FAIR_USE_S} s uplink airtime), ${files.length} ${existsSync(kodak) ? "Kodak" : "sample"} photos at ${W}x${H}, EU868 125 kHz CR 4/5, ${LORAWAN_OVERHEAD} B MAC overhead per uplink;`,
      );
      console.log(
        "   Tidepool sends its first k channels; the device JPEG (chunks with a 5-B header) its file size at the same MS-SSIM per photo (interpolated between the two qualities around it) — goal >= 2x",
      );
      for (const [ki, k] of KS.entries()) {
        const qa = quality[ki];
        console.log(
          `   k = ${k} channels: Tidepool MS-SSIM ${mean(qa.tp).toFixed(4)}, JPEG quality ${mean(qa.q).toFixed(0)} reaches MS-SSIM ${mean(qa.jp).toFixed(4)}`,
        );
        console.log("     SF  payload  Tidepool B/img  img/day   JPEG B/img  img/day   ratio");
        LINKS.forEach(({ sf, P }, li) => {
          const r = rows[ki][li],
            t = mean(r.tp),
            j = mean(r.jp);
          console.log(
            `     ${String(sf).padStart(2)}  ${String(P).padStart(7)}  ${mean(r.tpBytes).toFixed(0).padStart(14)}  ${t.toFixed(2).padStart(7)}  ${mean(r.jpBytes).toFixed(0).padStart(11)}  ${j.toFixed(2).padStart(7)}  ${(t / j).toFixed(2).padStart(6)}x`,
          );
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
