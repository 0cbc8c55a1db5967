// Hardware-in-the-loop suite: runs on the virtual board by default, on a real board with
// TIDEPOOL_PORT=/dev/ttyUSB0 TIDEPOOL_BOARD=k210 npx vitest run tests/hil
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SerialLink } from "../../flash-tools/serial-link.ts";
import { RawRepl } from "../../flash-tools/raw-repl.ts";
import { BridgeClient, BridgeError } from "../../flash-tools/bridge-client.ts";
import { installTidepool } from "../../flash-tools/install.ts";
import { encodeFrame, T } from "../../flash-tools/bridge-protocol.ts";
import { buildEncoder, loadDefaultModel, type BuildResult } from "../../host/build/build.ts";
import { devicePacketize } from "../../host/build/runtime/device-packetizer.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import { startTarget, type HilTarget } from "./target.ts";
import { bridgeSource } from "../../flash-tools/install.ts";

const W = 96,
  H = 72;
let target: HilTarget;
let link: SerialLink;
let repl: RawRepl;
let built: BuildResult;

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function connect() {
  link = await SerialLink.open(target.port, target.baud);
  repl = new RawRepl(link, { enterMs: 30_000, execMs: 30_000, interCharMs: 30_000 });
}

/** After a cut line the board may still be in the bridge: ask it to exit, then enter the raw REPL. */
async function recover() {
  await link.write(encodeFrame(T.EXIT, 0xfffe));
  await new Promise((r) => setTimeout(r, 300));
  await repl.enter(false);
}

async function boardSha(path: string): Promise<string> {
  return (
    await repl.exec(
      `import hashlib, binascii\nf=open(${JSON.stringify(path)},'rb')\nprint(binascii.hexlify(hashlib.sha256(f.read()).digest()).decode())\nf.close()`,
    )
  ).trim();
}

beforeAll(async () => {
  target = await startTarget();
  built = await buildEncoder({ board: target.board, model: randomModel({ seed: 21 }) });
  await connect();
  await repl.enter(true);
});

afterAll(async () => {
  await link?.close();
  await target?.stop();
});

describe(`HIL (${process.env.TIDEPOOL_PORT ? "real board" : "virtual board"})`, () => {
  it("installs the bridge and encoder, verified by sha256 on the board; a second install writes nothing", async () => {
    const first = await installTidepool(repl, target.board.name, bridgeSource(), built.wasm);
    expect(first.result.verified).toBe(true);
    await first.bridge.exit(repl);
    expect(await boardSha("tidepool/encoder.wasm")).toBe(sha(built.wasm));
    expect(await boardSha("tidepool/tidepool_bridge.py")).toBe(sha(bridgeSource()));
    const again = await installTidepool(repl, target.board.name, bridgeSource(), built.wasm);
    expect(again.result).toMatchObject({ bridgeWritten: false, moduleWritten: false, bytes: 0 });
    await again.bridge.exit(repl);
  });

  it("encodes frames sent from the host: latents equal the host-run WASM bit for bit, timings come back", async () => {
    const sized = await buildEncoder({ board: target.board, model: randomModel({ seed: 21 }), width: W, height: H, format: "rgb565" });
    const host = await EncoderInstance.load(sized.wasm, target.board);
    const bridge = await BridgeClient.start(repl, target.board.name);
    await bridge.putFile("encoder-small.wasm", sized.wasm);
    for (let i = 0; i < 3; i++) {
      const frame = packFrame(randomRgb(100 + i, W, H), W, H, "rgb565");
      const got = await bridge.encode(W, H, "rgb565", frame, { module: "encoder-small.wasm", output: "latent" });
      expect(Buffer.from(got.latent!.data).equals(Buffer.from(host.encode(frame, W, H, "rgb565").data))).toBe(true);
      expect(got.encodeUs).toBeGreaterThanOrEqual(0);
    }
    const stats = await bridge.stats();
    expect(stats.encodes).toBe(3);
    expect(typeof stats.last_encode_us).toBe("number");
    await bridge.exit(repl);
  });

  it("the board's packets equal the host-run WASM's byte for byte (packet sizes, budgets, image ids); the latent only when asked", async () => {
    const model = loadDefaultModel();
    if (!model.entropy) return; // no ENTR tables: the module has no packetizer
    const sized = await buildEncoder({ board: target.board, model, width: W, height: H, format: "rgb565" });
    const host = await EncoderInstance.load(sized.wasm, target.board);
    const bridge = await BridgeClient.start(repl, target.board.name);
    await bridge.putFile("encoder-packets.wasm", sized.wasm);
    const runs = [
      { packetBytes: 51, imageId: 7 },
      { packetBytes: 222, imageId: 255, budgetBytes: 300 },
      { packetBytes: 12, imageId: 0, channels: 2 },
    ];
    for (const [i, run] of runs.entries()) {
      const frame = packFrame(randomRgb(200 + i, W, H), W, H, "rgb565");
      const got = await bridge.encode(W, H, "rgb565", frame, { module: "encoder-packets.wasm", ...run });
      host.encode(frame, W, H, "rgb565");
      const want = devicePacketize(host, run);
      expect(got.latent).toBeUndefined();
      expect(got.packets.length).toBeGreaterThan(0);
      expect(got.packets.map((p) => Buffer.from(p).toString("hex"))).toEqual(want.packets.map((p) => Buffer.from(p).toString("hex")));
      expect([got.bytes, got.symbols, got.complete]).toEqual([want.bytes, want.symbols, want.complete]);
      if (run.budgetBytes) expect(got.bytes).toBeLessThanOrEqual(run.budgetBytes);
    }
    expect((await bridge.stats()).packets).toBeGreaterThan(0);
    await bridge.exit(repl);
  });

  it.skipIf(!!process.env.TIDEPOOL_PORT)("encodes camera frames on the board (virtual camera): same latent as the host", async () => {
    const bridge = await BridgeClient.start(repl, target.board.name);
    const host = await EncoderInstance.load(built.wasm, target.board);
    const { width, height, format } = target.board.camera;
    for (const path of target.cameraImages) {
      const got = await bridge.encode(width, height, format, null, { output: "latent" });
      const want = host.encode(toFrame(await loadRgb(path, { width, height }), format), width, height, format);
      expect([got.latent!.width, got.latent!.height, got.latent!.channels]).toEqual([40, 30, 12]);
      expect(Buffer.from(got.latent!.data).equals(Buffer.from(want.data))).toBe(true);
    }
    await bridge.exit(repl);
  });

  it("rejects paths outside its directory, oversized uploads and garbage bytes, and keeps serving", async () => {
    const bridge = await BridgeClient.start(repl, target.board.name);
    await expect(bridge.putFile("../main.py", new Uint8Array([1]))).rejects.toThrow(/outside the bridge directory/);
    await expect(bridge.putFile("big.bin", new Uint8Array(600 * 1024))).rejects.toThrow(/exceeds the \d+-byte limit/);
    const before = (await bridge.stats()).bad_frames;
    await link.write(Buffer.from([0x00, 0x05, 0x54, 0x42, 0x99, 0x00, 0xff, 0x13, 0x03, 0x00, 0x02, 0x01, 0x00]));
    const info = await bridge.info();
    expect(info.board).toBe(target.board.name);
    expect((await bridge.stats()).bad_frames).toBeGreaterThan(before);
    await bridge.exit(repl);
  });

  it("a port closed mid-upload leaves the old file valid", async () => {
    const v2 = (await buildEncoder({ board: target.board, model: randomModel({ seed: 22 }) })).wasm;
    const bridge = await BridgeClient.start(repl, target.board.name);
    await expect(
      bridge.putFile("encoder.wasm", v2, (sent) => {
        if (sent > 2000) void link.close();
      }),
    ).rejects.toThrow();
    bridge.detach();
    await connect();
    await recover();
    expect(await boardSha("tidepool/encoder.wasm")).toBe(sha(built.wasm));
  });

  it("survives a board reset: files persist and the bridge starts again", async () => {
    await repl.enter(true); // Ctrl-D soft reset
    const bridge = await BridgeClient.start(repl, target.board.name);
    expect((await bridge.info()).files).toContain("encoder.wasm");
    await bridge.exit(repl);
  });

  it("interrupts a hung script and recovers", async () => {
    await repl.execNoFollow("while True:\n    pass\n");
    await new Promise((r) => setTimeout(r, 600));
    await repl.interrupt();
    const { stderr } = await repl.follow(10_000);
    expect(stderr).toMatch(/KeyboardInterrupt/);
    expect((await repl.exec("print(6*7)")).trim()).toBe("42");
  });

  it.skipIf(!!process.env.TIDEPOOL_PORT)("answers the raw-paste probe as a board without raw-paste", async () => {
    expect(repl.rawPaste).toBe(false);
  });
});

export { BridgeError };
