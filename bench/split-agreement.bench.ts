// How the imported split head's integers compare with onnxruntime's: the int8 MobileNetV2 cut at the
// split tensor in memory, both fed the classifier's 224x224 view of imagenet-sample TEST-split photos
// exactly as the host classifier feeds onnxruntime. Counts equal / off-by-one / worse uint8 values of
// the quantized input and of the split tensor. Settings: SPLIT_AGREE_IMAGES (default 5), splits 1 3 6 17.
import { readFileSync } from "node:fs";
import { DEFAULT_SPLIT_ONNX, importAllSplits } from "../host/build/split-choice.ts";
import { headAtSplit } from "../host/model/import/onnx-import.ts";
import { SplitOracle, headAgreement, type Agreement } from "../host/eval/split-agreement.ts";
import { classifierView } from "../host/receiver/classifier.ts";
import { imagenetSplit } from "../host/core/dataset-split.ts";

const pct = (a: Agreement, k: "equal" | "offByOne" | "worse") => `${((100 * a[k]) / a.elements).toFixed(4)} %`;

export default async function splitAgreementBench() {
  const onnx = new Uint8Array(readFileSync(DEFAULT_SPLIT_ONNX));
  const all = importAllSplits();
  const n = Number(process.env.SPLIT_AGREE_IMAGES ?? 5);
  const images = await Promise.all(
    imagenetSplit("test")
      .slice(0, n)
      .map((im) => classifierView(im.path)),
  );
  console.log(`onnxruntime vs the split head's integer reference, ${n} imagenet-sample test-split images at 224x224`);
  console.log("| split | tensor | elements | equal | off by one | worse | max |abs| | input equal |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const split of [1, 3, 6, 17]) {
    const head = headAtSplit(all, split);
    const tensor = all.splitPoints[split].tensor;
    const oracle = await SplitOracle.load(onnx, [all.inputTensor, tensor], head.meta.mean as number[], head.meta.std as number[]);
    let acc: Awaited<ReturnType<typeof headAgreement>> | undefined;
    for (const im of images) acc = await headAgreement(head, oracle, { input: all.inputTensor, split: tensor }, im, acc);
    const a = acc!.split;
    console.log(
      `| ${split} | ${tensor} | ${a.elements} | ${pct(a, "equal")} | ${pct(a, "offByOne")} | ${pct(a, "worse")} | ${a.maxAbs} | ${pct(acc!.input, "equal")} |`,
    );
  }
}
