// Every row of docs/errors.md §Bad inputs: the command, the start of its message, its exit code.
// In-process (the CLI's own main()); tests/core/cli.test.ts checks the bin's exit status as a process.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { crc32 } from "../../host/core/crc32.ts";
import { repoPath } from "../../host/core/paths.ts";
import { writeModel } from "../../host/model/format.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { writeContainer } from "../../host/wire/container.ts";
import { runCliInProcess } from "../helpers/cli.ts";
import { decodeOnnx, encodeOnnx } from "../../host/model/import/onnx-proto.ts";
import { DEFAULT_SPLIT_ONNX } from "../../host/build/split-choice.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-bad-"));
const at = (name: string) => join(tmp, name);

/** Rows of the table in docs/errors.md: the example column's file names are made here. */
const ROWS: Array<{ input: string; args: () => string[]; message: RegExp }> = [
  { input: "unknown command", args: () => ["frobnicate"], message: /unknown command "frobnicate" \(commands: / },
  { input: "unknown option", args: () => ["build", "--bogus"], message: /Unknown option '--bogus'[\s\S]*usage: tidepool build/ },
  { input: "missing required option", args: () => ["build"], message: /--board is required/ },
  { input: "unknown board", args: () => ["build", "--board", "esp8266"], message: /unknown board "esp8266": known boards are / },
  { input: "bad frame size", args: () => ["build", "--board", "k210", "--frame", "big"], message: /invalid frame size "big": expected WIDTHxHEIGHT/ },
  {
    input: "unknown pixel format",
    args: () => ["build", "--board", "k210", "--format", "yuv"],
    message: /unknown pixel format "yuv": expected one of gray8, rgb565, rgb888/,
  },
  { input: "missing model file", args: () => ["build", "--board", "k210", "--model", at("nope.tpm")], message: /model file .*nope\.tpm: no such file/ },
  { input: "corrupt model file", args: () => ["build", "--board", "k210", "--model", at("bad.tpm")], message: /bad\.tpm: truncated/ },
  {
    input: "model too big for the board",
    args: () => ["build", "--board", "gap8", "--frame", "2000x2000"],
    message: /arena for gap8 does not fit: .* bytes over\); region "/,
  },
  {
    input: "native module for a board with no native target",
    args: () => ["flash", "--board", "esp32s3-cam", "--port", "/dev/null", "--mpy"],
    message: /board esp32s3-cam \(.*\) has no native module target: Debian ships no compiler for its core/,
  },
  { input: "missing image", args: () => ["encode", "--board", "k210", at("nope.jpg")], message: /nope\.jpg: file not found/ },
  { input: "not an image", args: () => ["encode", "--board", "k210", at("junk.png")], message: /junk\.png: cannot decode image \(/ },
  { input: "truncated image", args: () => ["encode", "--board", "k210", at("trunc.png")], message: /trunc\.png: cannot decode image \(/ },
  {
    input: "absurd image",
    args: () => ["encode", "--board", "k210", at("huge.png")],
    message: /huge\.png: 30000x30000 is 900 MP, more than the 100 MP Tidepool reads/,
  },
  {
    input: "image too small for MS-SSIM",
    args: () => ["eval", "--images", at("tiny")],
    message: /tiny\.png is 17x9: 5-scale MS-SSIM needs both sides >= 161 px/,
  },
  { input: "empty or missing image folder", args: () => ["eval", "--images", at("empty")], message: /image folder .*empty: no image files/ },
  { input: "missing labelled folder", args: () => ["eval", "--task", "--images", at("nope-dir")], message: /labelled image folder .*nope-dir: no such folder/ },
  {
    input: "labelled folder without labels.csv",
    args: () => ["eval", "--task", "--images", at("tiny")],
    message: /tiny\/labels\.csv: cannot read the labels file \(expected CSV rows file,label_index,name\)/,
  },
  {
    input: "malformed labels row",
    args: () => ["eval", "--task", "--images", at("lab-bad")],
    message: /labels\.csv:2: malformed row "a\.jpg,cat,x" \(expected file,label_index 0-999,name\)/,
  },
  {
    input: "labelled image missing",
    args: () => ["eval", "--task", "--images", at("lab-gone")],
    message: /labels\.csv:2: images\/gone\.JPEG: no such image file/,
  },
  {
    input: "bad budget list",
    args: () => ["eval", "--task", "--images", at("lab-gone"), "--budgets", "500,x"],
    message: /invalid budget list "500,x": expected byte counts like 500,1000,1500/,
  },
  {
    input: "bad loss rate",
    args: () => ["eval", "--task", "--images", at("lab-gone"), "--loss", "1.5"],
    message: /--loss must be a packet loss rate in \[0, 1\), got "1\.5"/,
  },
  {
    input: "unknown task route",
    args: () => ["eval", "--task", "--images", at("lab-gone"), "--routes", "tidepool,fax"],
    message: /--routes: unknown route fax; known: tidepool, /,
  },
  { input: "unknown link", args: () => ["simulate", "--images", at("tiny"), "--link", "wifi"], message: /unknown link "wifi"; known: / },
  {
    input: "unmappable ONNX node",
    args: () => ["import", "--onnx", at("mul.onnx"), "--split", "1", "-o", at("head.tpm")],
    message: /mul\.onnx: node "Conv_2_quant" \(QLinearMul\): operator QLinearMul is not mapped on the device/,
  },
  {
    input: "not a feature compressor",
    args: () => ["import", "--onnx", DEFAULT_SPLIT_ONNX, "--split", "2", "--compressor", at("fc.json"), "-o", at("fc.tpm")],
    message: /fc\.json: not a feature compressor \(expected format "tidepool-feature-compressor" version 1\)/,
  },
  {
    input: "bad calibration file",
    args: () => ["profile", "--board", "k210", "--frame", "32x24", "--calibrate", at("t.json"), at("a.png"), at("b.png")],
    message: /t\.json: not JSON/,
  },
  { input: "not a packet file", args: () => ["decode", at("junk.tpk")], message: /junk\.tpk: not a Tidepool container \(expected magic "TPIC"/ },
  { input: "truncated packet file", args: () => ["decode", at("cut.tpk")], message: /cut\.tpk: truncated: packet 1 at offset \d+ needs 20 bytes, \d+ remain/ },
  { input: "damaged packet file header", args: () => ["decode", at("flip.tpk")], message: /flip\.tpk: header CRC-32 mismatch at offset \d+/ },
  {
    input: "packet file from another model",
    args: () => ["decode", at("other.tpk")],
    message: /other\.tpk: coded with entropy tables 12345678, .* has tables [0-9a-f]{8}/,
  },
  { input: "bad drop list", args: () => ["decode", at("ok.tpk"), "--drop", "1,x"], message: /invalid drop list "1,x": expected packet indices like 0,3,5-7/ },
  { input: "bad drift setting", args: () => ["gateway", "--reference-p", "2"], message: /--reference-p must be a number in 0\.\.1, got "2"/ },
];

beforeAll(async () => {
  writeFileSync(at("bad.tpm"), writeModel(randomModel()).subarray(0, 200));
  writeFileSync(at("junk.png"), "not a png");
  const png = await sharp(Buffer.alloc(17 * 9 * 3, 90), { raw: { width: 17, height: 9, channels: 3 } })
    .png()
    .toBuffer();
  writeFileSync(at("trunc.png"), png.subarray(0, 40));
  // A valid PNG header that claims 30000×30000 (IHDR width/height and its CRC rewritten).
  const huge = Buffer.from(png);
  huge.writeUInt32BE(30000, 16);
  huge.writeUInt32BE(30000, 20);
  huge.writeUInt32BE(crc32(huge.subarray(12, 29)) >>> 0, 29);
  writeFileSync(at("huge.png"), huge);
  mkdirSync(at("tiny"));
  writeFileSync(join(at("tiny"), "tiny.png"), png);
  mkdirSync(at("empty"));
  writeFileSync(at("a.png"), png);
  writeFileSync(at("b.png"), png);
  writeFileSync(at("t.json"), "[{");
  writeFileSync(at("fc.json"), '{"format": "something else"}');
  // Packet files: a well-formed container (packets need not decode for these rows), then damaged copies.
  const container = {
    board: "host",
    format: "rgb888" as const,
    width: 64,
    height: 48,
    tablesId: 0x12345678,
    modelId: "0123456789abcdef",
    imageId: 0,
    packetBytes: 51,
    packets: [new Uint8Array(20).fill(7), new Uint8Array(20).fill(9)],
  };
  const file = writeContainer(container);
  writeFileSync(at("junk.tpk"), "just some text");
  writeFileSync(at("cut.tpk"), file.subarray(0, file.length - 5));
  const flipped = Uint8Array.from(file);
  flipped[7] ^= 0x40;
  writeFileSync(at("flip.tpk"), flipped);
  writeFileSync(at("other.tpk"), file);
  writeFileSync(at("ok.tpk"), file);
  // Labelled folders for `eval --task`: a row that is not file,label_index,name; a row naming a missing image.
  mkdirSync(at("lab-bad"), { recursive: true });
  writeFileSync(at("lab-bad/labels.csv"), "file,label_index,label_name\na.jpg,cat,x\n");
  mkdirSync(at("lab-gone"), { recursive: true });
  writeFileSync(at("lab-gone/labels.csv"), "file,label_index,label_name\nimages/gone.JPEG,3,tiger_shark\n");
  // The int8 MobileNetV2 with one QLinearConv turned into an operator the split head does not have.
  const onnx = decodeOnnx(readFileSync(DEFAULT_SPLIT_ONNX));
  onnx.graph.node.find((n) => n.name === "Conv_2_quant")!.op_type = "QLinearMul";
  writeFileSync(at("mul.onnx"), encodeOnnx(onnx));
});

describe("bad inputs (docs/errors.md)", () => {
  it("the table in docs/errors.md lists exactly these rows", () => {
    const doc = readFileSync(repoPath("docs", "errors.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Bad inputs"));
    const documented = [...section.matchAll(/^\| ([a-z][^|]*?) \| `?[^|]*\| [^|]*\| (\d) \|$/gm)].map((m) => m[1]);
    expect(documented).toEqual(ROWS.map((r) => r.input));
  });

  for (const row of ROWS) {
    it(`${row.input}: one clear message, exit 2`, async () => {
      const r = await runCliInProcess(row.args());
      expect(r.stderr, r.out).toMatch(row.message);
      expect(r.code).toBe(2);
    });
  }
});
