// Reference logits of the int8 MobileNetV2 from onnxruntime-node, for training/teacher_check.py.
// usage: node training/teacher-reference.mjs <input.f32> <output.f32> [model.onnx] [--batch 16] [--threads 1] [--all-outputs]
// <input.f32>: raw little-endian float32 NCHW [N,3,224,224], already normalised (README pipeline).
// <output.f32>: raw float32 logits [N,1000]. The session options match host/receiver/classifier.ts.
// --all-outputs: also write every other graph output <name> to <output.f32>.<name> (raw float32, batches
// concatenated); teacher_check.py uses it with a copy of the graph that exposes intermediate tensors.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHARED_DIR = process.env.TIDEPOOL_SHARED ?? join(REPO_ROOT, "..", "shared");
const DEFAULT_MODEL = join(SHARED_DIR, "models", "mobilenetv2-12-int8", "mobilenetv2-12-int8.onnx");
const PLANE = 3 * 224 * 224;

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const allOutputs = flag("--all-outputs");
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
  return v;
};
const batch = opt("--batch", 16),
  threads = opt("--threads", 1);
const [inPath, outPath, modelPath = DEFAULT_MODEL] = args;
if (!inPath || !outPath) {
  console.error("usage: node training/teacher-reference.mjs <input.f32> <output.f32> [model.onnx] [--batch 16] [--threads 1] [--all-outputs]");
  process.exit(2);
}

const buf = readFileSync(inPath);
if (buf.length % (PLANE * 4) !== 0) throw new Error(`${inPath}: ${buf.length} bytes is not a whole number of 3x224x224 float32 images`);
const n = buf.length / (PLANE * 4);
const input = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)); // aligned copy

let session;
try {
  session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1 });
} catch (e) {
  throw new Error(`cannot load ${modelPath}: ${e.message}`);
}
const logits = new Float32Array(n * 1000);
const extra = new Map(); // output name -> Float32Array chunks
for (let s = 0; s < n; s += batch) {
  const m = Math.min(batch, n - s);
  const x = new ort.Tensor("float32", input.subarray(s * PLANE, (s + m) * PLANE), [m, 3, 224, 224]);
  const res = await session.run({ [session.inputNames[0]]: x });
  const out = res[session.outputNames[0]].data;
  if (out.length !== m * 1000) throw new Error(`unexpected output size ${out.length} for batch ${m}`);
  logits.set(out, s * 1000);
  if (allOutputs)
    for (const name of session.outputNames.slice(1)) {
      if (!extra.has(name)) extra.set(name, []);
      extra.get(name).push(Float32Array.from(res[name].data));
    }
}
writeFileSync(outPath, Buffer.from(logits.buffer));
for (const [name, chunks] of extra) writeFileSync(`${outPath}.${name}`, Buffer.concat(chunks.map((c) => Buffer.from(c.buffer))));
console.log(`teacher-reference: ${n} images -> ${outPath}`);
