// The ONNX importer on the real int8 MobileNetV2: structure of the imported head, agreement with
// onnxruntime on the graph cut at the split tensor, the imported head on the device (WASM) equal to
// the reference, refusals naming the node, and the CLI (import, build --split N|auto).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headAtSplit, importOnnxHead, type ImportResult } from "../../host/model/import/onnx-import.ts";
import { decodeOnnx, encodeOnnx } from "../../host/model/import/onnx-proto.ts";
import { DEFAULT_SPLIT_ONNX, chooseSplit, splitPoints } from "../../host/build/split-choice.ts";
import { getBoard } from "../../host/core/boards.ts";
import { SplitOracle, headAgreement } from "../../host/eval/split-agreement.ts";
import { classifierView } from "../../host/receiver/classifier.ts";
import { imagenetSplit } from "../../host/core/dataset-split.ts";
import { buildHead } from "../../host/build/head-build.ts";
import { HeadInstance } from "../../host/build/runtime/head-instance.ts";
import { referenceHead } from "../../host/build/reference/head.ts";
import { readHeadModel } from "../../host/model/head-format.ts";
import type { HeadConv } from "../../host/core/head-types.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import { runCliInProcess } from "../helpers/cli.ts";

if (!existsSync(DEFAULT_SPLIT_ONNX)) throw new Error(`missing the int8 MobileNetV2 at ${DEFAULT_SPLIT_ONNX} (../shared/models/mobilenetv2-12-int8)`);
const onnx = new Uint8Array(readFileSync(DEFAULT_SPLIT_ONNX));

describe("ONNX importer (int8 MobileNetV2)", () => {
  let r: ImportResult;
  let dir: string;
  beforeAll(() => {
    r = importOnnxHead(onnx, { split: 3 });
    dir = mkdtempSync(join(tmpdir(), "tp-split-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("maps the stem and the first inverted-residual blocks, with the residual add of block 3", () => {
    expect(r.splitPoints.map((p) => p.ops)).toEqual([1, 3, 6, 10]);
    expect(r.splitTensor).toBe("339_quantized");
    const kinds = r.head.ops.map((o) => (o.op === "add" ? "add" : `${o.depthwise ? "dw" : "conv"}${o.kernel}s${o.stride}`));
    expect(kinds).toEqual(["conv3s2", "dw3s1", "conv1s1", "conv1s1", "dw3s2", "conv1s1", "conv1s1", "dw3s1", "conv1s1", "add"]);
    expect(r.head.ops[9]).toMatchObject({ op: "add", name: "Add_15_quant", inputs: [6, 9] });
    // ReLU6 is the uint8 range of a zero-point-0 output; the linear bottleneck keeps its zero point.
    expect((r.head.ops[0] as HeadConv).outZeroPoint).toBe(0);
    expect((r.head.ops[2] as HeadConv).outZeroPoint).toBe(119);
    expect(headAtSplit(r, 1).ops.length).toBe(3);
  });

  it("its integers equal onnxruntime's on the graph cut at the split tensor (test-split photo)", async () => {
    const oracle = await SplitOracle.load(onnx, [r.inputTensor, r.splitTensor], r.head.meta.mean as number[], r.head.meta.std as number[]);
    const im = await classifierView(imagenetSplit("test")[0].path);
    const a = await headAgreement(r.head, oracle, { input: r.inputTensor, split: r.splitTensor }, im);
    expect(a.input.equal).toBe(a.input.elements); // the input table reproduces QuantizeLinear exactly
    expect(a.split.elements).toBe(56 * 56 * 24);
    expect(a.split.worse).toBe(0);
    expect(a.split.equal / a.split.elements).toBeGreaterThan(0.999);
  });

  it("the imported head runs bit-exact on the device at an odd frame size", async () => {
    const head = headAtSplit(r, 3);
    const built = await buildHead({ board: "k210", head, width: 37, height: 29, format: "rgb565", streamOutput: true });
    const dev = await HeadInstance.load(built.wasm, built.board);
    const frame = packFrame(randomRgb(3, 37, 29), 37, 29, "rgb565");
    const got = dev.run(frame, 37, 29, "rgb565");
    expect(got.data).toEqual(referenceHead(head, frame, 37, 29, "rgb565").at(-1)!.data);
  });

  it("refuses what it cannot map, naming the node and why", () => {
    const mutate = (edit: (m: ReturnType<typeof decodeOnnx>) => void) => {
      const m = decodeOnnx(onnx);
      edit(m);
      return encodeOnnx(m);
    };
    const conv2 = (m: ReturnType<typeof decodeOnnx>) => m.graph.node.find((n) => n.name === "Conv_2_quant")!;
    expect(() =>
      importOnnxHead(
        mutate((m) => {
          conv2(m).attribute.find((a) => a.name === "dilations")!.ints = [2, 2];
        }),
        { split: 1 },
      ),
    ).toThrow(/node "Conv_2_quant" \(QLinearConv\): dilations 2,2/);
    expect(() =>
      importOnnxHead(
        mutate((m) => {
          conv2(m).op_type = "QLinearMul";
        }),
        { split: 1 },
      ),
    ).toThrow(/node "Conv_2_quant" \(QLinearMul\): operator QLinearMul is not mapped/);
    expect(() =>
      importOnnxHead(
        mutate((m) => {
          conv2(m).attribute.find((a) => a.name === "group")!.i = 4;
        }),
        { split: 1 },
      ),
    ).toThrow(/node "Conv_2_quant" \(QLinearConv\): group 4 with 32 input and 32 output channels/);
    try {
      importOnnxHead(onnx, { split: 18 });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/QLinearGlobalAveragePool is not mapped on the device .*17 inverted-residual blocks mapped before it/);
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it("tidepool import writes a split-head file; build --split auto picks the deepest fitting split, or says none fits", async () => {
    const out = join(dir, "head.tpm");
    const imp = await runCliInProcess(["import", "--onnx", DEFAULT_SPLIT_ONNX, "--split", "2", "-o", out]);
    expect(imp.code, imp.out).toBe(0);
    expect(readHeadModel(readFileSync(out)).ops.length).toBe(6);
    // The file builds like any model (the version picks the split-head build).
    const fromFile = await runCliInProcess(["build", "--board", "k210", "--model", out, "--frame", "64x48", "--out", dir, "--json"]);
    expect(fromFile.code, fromFile.out).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ board: "k210", split: 2, splitTensor: "489_quantized", frame: "64x48" });
    const bad = await runCliInProcess(["import", "--onnx", DEFAULT_SPLIT_ONNX, "--split", "30", "-o", join(dir, "x.tpm")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/17 inverted-residual blocks mapped before it/);
    // The shipped compressed block-2 head comes first, at the classifier's 224x224 view (92,848 of
    // 98,304 bytes); without it, GAP8 at its own 324x244 frame fits block 2 (97,344 bytes), not block 3.
    const auto = await runCliInProcess(["build", "--board", "gap8", "--split", "auto", "--out", dir, "--json"]);
    expect(auto.code, auto.out).toBe(0);
    const report = JSON.parse(auto.stdout);
    expect(report.split).toBe(2);
    expect(report.frame).toBe("224x224");
    expect(report.rule).toMatch(/compressed split heads/);
    expect(report.arenaBytes).toBeLessThanOrEqual(98304);
  });

  it("split auto refuses a board no split point fits, naming the smallest arena", () => {
    const gap8 = getBoard("gap8");
    const tiny = { ...gap8, memory: { ...gap8.memory, arenaBudgetBytes: 4000 } };
    const points = splitPoints(r, tiny, 96, 96, "gray8");
    expect(points.map((p) => p.split)).toEqual([0, 1, 2, 3]);
    expect(() => chooseSplit(points, tiny, 96, 96)).toThrow(/no split point fits gap8 at 96x96: the smallest arena is split 0 with \d+ bytes, budget 4000/);
    const roomy = { ...gap8, memory: { ...gap8.memory, arenaBudgetBytes: 1 << 20 } };
    expect(chooseSplit(splitPoints(r, roomy, 96, 96, "gray8"), roomy, 96, 96).split).toBe(3);
  });
});
