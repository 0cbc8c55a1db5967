// The `--policy` mode of `tidepool simulate` (host/eval/adaptive/simulate-policy.ts): adaptive level per
// image vs fixed vs oracle vs AdaCompress on JPEG over LoRaWAN links with the link/deadline budget.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_MODEL_PATH } from "../build/build.ts";
import { listEvalImages } from "../eval/rd.ts";
import { formatCompare } from "../eval/adaptive/compare.ts";
import { ALL_POLICIES, simulatePolicies } from "../eval/adaptive/simulate-policy.ts";
import { readModel } from "../model/format.ts";
import { isTidepoolError } from "../core/errors.ts";
import { UserError } from "./command.ts";
import { imagenetSplit } from "../core/dataset-split.ts";

export async function runPolicySimulation(values: Record<string, string | boolean | undefined>): Promise<number> {
  const dir = resolve(String(values.images));
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UserError(`--limit: "${values.limit}" is not a positive integer`, 2);
  const interval = values.interval === undefined ? 10800 : Number(values.interval);
  if (!(interval > 0)) throw new UserError(`--interval: "${values.interval}" is not a positive number of seconds`, 2);
  const modelPath = resolve(String(values.model ?? DEFAULT_MODEL_PATH));
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new UserError((e as Error).message, isTidepoolError(e) ? e.exitCode : 2);
    }
  };
  const model = wrap(() => readModel(new Uint8Array(readFileSync(modelPath)), modelPath));
  const labelled = existsSync(join(dir, "labels.csv"));
  const all = labelled
    ? wrap(() => imagenetSplit("test", dir).concat(imagenetSplit("train", dir))).map((t) => ({ path: t.path, name: t.path.split("/").pop()!, label: t.label }))
    : wrap(() => listEvalImages(dir)).map((n) => ({ path: join(dir, n), name: n, label: null as number | null }));
  const images = limit ? all.slice(0, limit) : all;
  const policies = values.policy === "all" || values.policy === true ? ALL_POLICIES : String(values.policy);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const sim = await simulatePolicies(images, model, modelPath, { policies, intervalS: interval, log });
  if (values.json) {
    console.log(
      JSON.stringify({ settings: { images: sim.images, dir, intervalS: interval, policies: sim.specs, jpegLambda: sim.jpegLambda }, rows: sim.rows }),
    );
    return 0;
  }
  console.log(
    `${sim.images} images from ${dir} (224x224 classifier view); agreement: MobileNetV2 top-1 vs the original's; AdaCompress-on-JPEG λ ${sim.jpegLambda} (matched on the training images)`,
  );
  console.log(formatCompare(sim.rows, interval));
  return 0;
}
