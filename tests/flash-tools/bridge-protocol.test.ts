import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../host/core/seeded-random.ts";
import { cobsDecode, cobsEncode, decodeFrame, encodeFrame, FrameError, FrameSplitter, R, T, type Frame } from "../../flash-tools/bridge-protocol.ts";
import { repoPath } from "../../host/core/paths.ts";

describe("bridge frames", () => {
  it("COBS round-trips and never emits 0x00, on edge cases and seeded random data", () => {
    const rand = seededRandom(4);
    const cases = [new Uint8Array(0), new Uint8Array([0]), new Uint8Array(254).fill(1), new Uint8Array(255).fill(1), new Uint8Array(600)];
    for (let i = 0; i < 300; i++) cases.push(Uint8Array.from({ length: Math.floor(rand() * 1100) }, () => (rand() < 0.2 ? 0 : Math.floor(rand() * 256))));
    for (const c of cases) {
      const e = cobsEncode(c);
      expect(e.includes(0)).toBe(false);
      expect(cobsDecode(e)).toEqual(c);
    }
  });

  it("a frame survives the splitter with REPL noise around it", () => {
    const got: Frame[] = [];
    const s = new FrameSplitter((f) => got.push(f));
    const body = Uint8Array.from({ length: 1024 }, (_, i) => (i % 7 === 0 ? 0 : i & 0xff));
    const wire = encodeFrame(T.PUT_DATA, 513, body);
    s.push(Buffer.from("OK junk\r\n>\x00"));
    s.push(wire.subarray(0, 100));
    s.push(wire.subarray(100));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: T.PUT_DATA, seq: 513 });
    expect(got[0].body).toEqual(body);
  });

  it("rejects corrupted, truncated and oversized frames with a typed error", () => {
    const wire = encodeFrame(T.INFO, 7, new Uint8Array([1, 2, 3]));
    const inner = wire.subarray(0, -1);
    const flipped = inner.slice();
    flipped[5] ^= 0x40;
    expect(() => decodeFrame(flipped)).toThrow(FrameError);
    expect(() => decodeFrame(inner.subarray(0, 6))).toThrow(FrameError);
    expect(() => encodeFrame(T.ROW, 1, new Uint8Array(1025))).toThrow(/exceeds 1024/);
    const rand = seededRandom(9);
    for (let i = 0; i < 2000; i++) {
      const junk = Uint8Array.from({ length: 1 + Math.floor(rand() * 40) }, () => 1 + Math.floor(rand() * 255));
      try {
        decodeFrame(junk);
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
      }
    }
  });

  it("the MicroPython bridge's framing (run under CPython) agrees with the host byte for byte", () => {
    const script = `
import importlib.util, sys
spec = importlib.util.spec_from_file_location("b", ${JSON.stringify(repoPath("flash-tools", "bridge", "tidepool_bridge.py"))})
b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)
out = []
br = b.Bridge.__new__(b.Bridge)
br.write = out.append; br.stats = {"frames_out": 0, "bytes_out": 0}
br.send(0x85, 300, bytes(range(256)) + b"\\x00\\x00end")
sys.stdout.write(out[0].hex())
`;
    const hex = execFileSync("python3", ["-c", script], { encoding: "utf8" });
    const wire = Buffer.from(hex, "hex");
    const body = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), 0, 0, ...Buffer.from("end")]);
    expect(new Uint8Array(wire)).toEqual(encodeFrame(R.STATS, 300, body));
  });
});
