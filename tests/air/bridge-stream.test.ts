// The bridge reads a board's serial line in blocks (one read per COBS block, never past a frame's
// end), run under CPython on a scripted byte stream: every request answered, far fewer reads than bytes,
// and garbage on the line does not desynchronise it.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameSplitter, R, T, type Frame } from "../../flash-tools/bridge-protocol.ts";
import { repoPath } from "../../host/core/paths.ts";

function runBridge(stream: Uint8Array): { replies: Frame[]; reads: number[] } {
  const script = `
import importlib.util, sys, json
spec = importlib.util.spec_from_file_location("b", ${JSON.stringify(repoPath("flash-tools", "bridge", "tidepool_bridge.py"))})
b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)
data = bytes.fromhex(sys.stdin.read().strip())
pos = [0]
reads = []
def read(n):
    reads.append(n)
    if pos[0] >= len(data):
        raise SystemExit("read past the end of the stream")
    chunk = data[pos[0]:pos[0] + n]
    pos[0] += len(chunk)
    return chunk
out = []
br = b.Bridge(out.append, None, None, "test")
b.serve_stream(br, read)
print(json.dumps({"out": b"".join(out).hex(), "reads": reads}))
`;
  const res = JSON.parse(
    execFileSync("python3", ["-c", script], {
      input: Buffer.from(stream).toString("hex"),
      encoding: "utf8",
      cwd: mkdtempSync(join(tmpdir(), "tidepool-bridge-")),
    }),
  );
  const replies: Frame[] = [];
  new FrameSplitter((f) => replies.push(f)).push(Buffer.from(res.out, "hex"));
  return { replies, reads: res.reads };
}

describe("bridge line reading", () => {
  it("answers every request reading one COBS block per call", () => {
    const body = new Uint8Array(900).map((_, i) => (i % 7 === 0 ? 0 : i & 0xff)); // zeros: several COBS blocks
    const frames = [encodeFrame(T.STATS, 1), encodeFrame(0x33, 2, body), encodeFrame(T.STATS, 3), encodeFrame(T.EXIT, 4)];
    const stream = Buffer.concat(frames);
    const { replies, reads } = runBridge(stream);
    expect(replies.map((f) => [f.seq, f.type])).toEqual([
      [1, R.STATS],
      [2, R.ERR],
      [3, R.STATS],
      [4, R.ACK],
    ]);
    expect(new TextDecoder().decode(replies[1].body)).toMatch(/unknown frame type 51/);
    expect(reads.reduce((a, b) => a + b, 0)).toBe(stream.length); // never a byte past the last frame
    expect(reads.length).toBeLessThan(stream.length / 6); // 7-byte COBS blocks in the body: one read each
  });

  it("recovers from garbage and a cut frame: the next good frame is answered", () => {
    const good = encodeFrame(T.STATS, 9);
    const cut = encodeFrame(T.STATS, 8).subarray(0, 6);
    const stream = Buffer.concat([Buffer.from([0xfe, 1, 2, 3]), Buffer.from([0]), cut, Buffer.from([0]), good, encodeFrame(T.EXIT, 10)]);
    const { replies } = runBridge(stream);
    expect(replies.map((f) => f.seq)).toEqual([9, 10]);
    const stats = JSON.parse(new TextDecoder().decode(replies[0].body));
    expect(stats.bad_frames).toBeGreaterThanOrEqual(1);
  });
});
