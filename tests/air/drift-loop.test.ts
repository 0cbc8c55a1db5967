// The adaptive policy's drift loop closed through the real parts (docs/adaptive.md §Drift): a virtual
// board (MicroPython + the bridge + the built encoder with its PLCY policy) captures camera frames, lets
// its policy pick the level, and with the reference probability sends the image as a reference upload
// (every channel, on LoRaWAN port 9) through a virtual LoRa-E5 to a real gateway. The gateway decodes
// each reference at every prefix, classifies it (MobileNetV2), estimates how often the board's chosen
// level kept the answer, retrains the policy when the estimate falls below the threshold, and the new
// PLCY section is installed on the board over the bridge. Scenery: day scenes whose answer survives a few
// channels, then scenes at night (darkened and noisy, as host/eval/adaptive/outcomes.ts nightView).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BoardEncodeResult, BridgeClient } from "../../flash-tools/bridge-client.ts";
import { bridgeSource, installTidepool } from "../../flash-tools/install.ts";
import { RawRepl } from "../../flash-tools/raw-repl.ts";
import { SerialLink } from "../../flash-tools/serial-link.ts";
import { VirtualBoard } from "../../flash-tools/virtual-board/virtual-board.ts";
import { buildEncoder } from "../../host/build/build.ts";
import { serializePolicy } from "../../host/build/policy/section.ts";
import { trainPolicy } from "../../host/build/policy/train.ts";
import { getBoard } from "../../host/core/boards.ts";
import { crc32 } from "../../host/core/crc32.ts";
import { SHARED_DIR } from "../../host/core/paths.ts";
import { adaptiveSet } from "../../host/eval/adaptive/image-sets.ts";
import { nightView } from "../../host/eval/adaptive/outcomes.ts";
import { writeModel } from "../../host/model/format.ts";
import { classifierView, MOBILENET_PATH } from "../../host/receiver/classifier.ts";
import { withPolicy } from "../../host/receiver/adaptive/drift.ts";
import type { PolicyIssue } from "../../host/receiver/gateway/drift-loop.ts";
import { startGateway, type Gateway } from "../../host/receiver/gateway/gateway.ts";
import { TASK_DECODER_PATH } from "../../host/receiver/gateway/labels.ts";
import { DEFAULT_DECODER_PATH } from "../../host/receiver/decoder.ts";
import { fixtureSamples, shippedModel, smallOutcomes } from "../adaptive/fixtures.ts";

const S = 224; // the classifier's view: the scenes are the training images the fixture's outcomes were measured on
// Day scenes: fixture training images whose answer survives 3 channels as the gateway measures it (its
// classifier view of the decode); the first 20 such images are candidates, the rest train the day policy.
const DAY_SCENES = [0, 2, 6, 8, 9, 11, 13, 15];
const DAY = DAY_SCENES.length,
  NIGHT = 14;
const drift = { referenceProbability: 1, threshold: 0.5, window: 6, minReferences: 6, keep: 100, epochs: 300 };

const missing = [
  MOBILENET_PATH,
  TASK_DECODER_PATH,
  DEFAULT_DECODER_PATH,
  join(SHARED_DIR, "datasets", "photos-train"),
  join(SHARED_DIR, "datasets", "imagenet-sample"),
].find((p) => !existsSync(p));

describe.skipIf(missing)(missing ? `drift loop on the virtual board (skipped: no ${missing})` : "drift loop on the virtual board and the gateway", () => {
  const { model, tables } = shippedModel();
  const rows = smallOutcomes();
  const day = fixtureSamples(
    rows.filter((r) => r.scene === "day"),
    "full",
  ).filter((s) => s.agree.slice(2).every((a) => a === 1)); // scenes whose answer survives 3 channels
  const nightRows = rows.filter((r) => r.scene === "night");
  // The board was commissioned by day: a policy that sends 3..12 channels, trained on other day scenes.
  const initial = trainPolicy(day.slice(20), { tablesId: tables.id, lambda: 0.3, minLevel: 3, epochs: 200, seed: 1 }).policy;
  const initialPayload = serializePolicy(initial);

  let dir: string, gw: Gateway, vb: VirtualBoard, link: SerialLink, repl: RawRepl, bridge: BridgeClient;
  const issues: PolicyIssue[] = [];
  const results: BoardEncodeResult[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tidepool-drift-"));
    const paths = new Map(adaptiveSet("train").map((i) => [i.name, i.path]));
    const frames: string[] = [];
    const save = async (img: { width: number; height: number; data: Uint8Array }) => {
      const f = join(dir, `frame-${String(frames.length).padStart(2, "0")}.png`);
      await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .png()
        .toFile(f);
      frames.push(f);
    };
    for (const i of DAY_SCENES) await save(await classifierView(paths.get(day[i].outcome.name)!));
    for (const [i, r] of nightRows.slice(0, NIGHT).entries()) await save(nightView(await classifierView(paths.get(r.name)!), i + 1 + r.name.length * 7919));

    const modelPath = join(dir, "model.tpm");
    writeFileSync(modelPath, writeModel(withPolicy(model, initialPayload)));
    gw = await startGateway({
      port: 0,
      db: join(dir, "gw.db"),
      modelPath,
      drift,
      frames: { "2cf7f12032300042": `${S}x${S}` },
      onPolicy: (i) => issues.push(i),
      log: (l) => {
        if (process.env.DRIFT_TRACE) console.error(l);
      },
    });
    const k210 = getBoard("k210");
    const board = { ...k210, camera: { ...k210.camera, format: "rgb888" as const, width: S, height: S } };
    vb = await VirtualBoard.start({
      board,
      baud: 921_600,
      cameraImages: frames,
      modem: { uplinkUrl: new URL("/ingest/chirpstack", gw.url).href, devEui: "2cf7f12032300042", dataRate: 5 },
    });
    link = await SerialLink.open(vb.path, 921_600);
    repl = new RawRepl(link, { enterMs: 30_000, execMs: 30_000, interCharMs: 30_000 });
    await repl.enter(true);
    const built = await buildEncoder({ board, model: withPolicy(model, initialPayload), width: S, height: S, format: "rgb888" });
    bridge = (await installTidepool(repl, board.name, bridgeSource(), built.wasm)).bridge;
    const start = await bridge.policy({ referenceProbability: drift.referenceProbability });
    expect(start.crc).toBe(crc32(initialPayload));

    // The loop: capture → policy → (reference) uplinks → gateway → retrain → install, one image at a time.
    let installed = 0;
    for (let n = 0; n < frames.length; n++) {
      results.push(await bridge.encode(S, S, "rgb888", null, { output: "uplink", packetBytes: 222, imageId: n, channels: "policy" }));
      await vb.modem!.flush();
      await gw.idle();
      if (issues.length > installed) {
        installed = issues.length;
        await bridge.policy({ referenceProbability: drift.referenceProbability, install: issues[installed - 1].payload });
      }
    }
  }, 240_000);

  afterAll(async () => {
    await bridge?.exit(repl).catch(() => {});
    await link?.close();
    await vb?.stop();
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("every image went as a reference on port 9, and the gateway scored the level the board chose", () => {
    const st = gw.drift!.state("2cf7f12032300042")!;
    if (process.env.DRIFT_TRACE) console.error(JSON.stringify(st.history.map((h) => [h.chosen, h.kept, h.agree.join("")])));
    expect(results.every((r) => r.reference && r.level >= 1 && r.level <= 12)).toBe(true);
    expect(vb.modem!.uplinks.every((u) => u.fPort === 9 && !u.lost)).toBe(true);
    expect(st.references).toBe(results.length);
    // The gateway recomputes the board's choice from the reference's latent: bit-exact with the device.
    expect(st.history.map((h) => h.chosen)).toEqual(results.map((r) => r.level));
  });

  it("keeps the day policy by day, retrains once night falls, and the kept-answer rate drops then recovers", () => {
    const h = gw.drift!.state("2cf7f12032300042")!.history;
    const rate = (a: number, b: number) => h.slice(a, b).reduce((s, x) => s + x.kept, 0) / (b - a);
    expect(issues.length).toBeGreaterThanOrEqual(1);
    const first = issues[0];
    expect(first.atReference).toBeGreaterThan(DAY); // nothing retrained by day
    expect(first.atReference).toBeLessThanOrEqual(DAY + drift.window);
    const before = rate(0, DAY),
      dropped = rate(DAY, first.atReference),
      after = rate(first.atReference, h.length);
    expect(before).toBeGreaterThanOrEqual(drift.threshold);
    expect(dropped).toBeLessThan(drift.threshold);
    expect(after).toBeGreaterThanOrEqual(drift.threshold);
    expect(after).toBeGreaterThan(dropped);
    // It buys the answer back the only way the latent allows at night: more channels.
    const level = (a: number, b: number) => h.slice(a, b).reduce((s, x) => s + x.chosen, 0) / (b - a);
    expect(level(first.atReference, h.length)).toBeGreaterThan(level(DAY, first.atReference) + 2);
    // Later references were scored with (and, the first test shows, chosen by) a retrained policy.
    expect(h.slice(first.atReference).every((x) => issues.some((i) => i.policyId === x.policyId))).toBe(true);
  });

  it("the board runs exactly the section the gateway trained, and the gateway offers it for downlink", async () => {
    const last = issues.at(-1)!;
    const onBoard = await bridge.policy({ referenceProbability: 0 });
    expect(onBoard).toMatchObject({ policyId: last.policyId, crc: crc32(last.payload), bytes: last.payload.length, check: 0 });
    const res = await fetch(new URL("/api/policy?device=2cf7f12032300042", gw.url));
    const body = await res.json();
    expect(body.pending).toMatchObject({ policyId: last.policyId, bytes: 1024, downlinks: { DR5: 5, DR3: 10, DR0: 22 } });
    expect(Buffer.from(body.pending.payload, "base64").equals(Buffer.from(last.payload))).toBe(true);
    // A damaged section, or one made for other entropy tables, is refused; the board keeps what it runs.
    const damaged = Uint8Array.from(last.payload);
    damaged[100] ^= 1;
    await expect(bridge.policy({ referenceProbability: 0, install: damaged })).rejects.toThrow(/length or CRC mismatch/);
    const otherTables = Uint8Array.from(last.payload);
    otherTables[12] ^= 1;
    await expect(bridge.policy({ referenceProbability: 0, install: otherTables })).rejects.toThrow(/policy is for entropy tables/);
    expect((await bridge.policy({ referenceProbability: 0 })).crc).toBe(crc32(last.payload));
    // With p = 0 the board sends its chosen level only, on the data port.
    const before = vb.modem!.uplinks.length;
    const r = await bridge.encode(S, S, "rgb888", null, { output: "uplink", packetBytes: 222, imageId: 99, channels: "policy" });
    expect(r.reference).toBe(false);
    expect(vb.modem!.uplinks.slice(before).every((u) => u.fPort === 8)).toBe(true);
  });
});
