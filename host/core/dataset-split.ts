// The imagenet-sample split, one source of truth (dataset-split.json, which training/data.py reads too):
// training never sees a test image. labels.csv rows: file,label_index,name.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TidepoolError } from "./errors.ts";
import { SHARED_DIR } from "./paths.ts";

const RULE = JSON.parse(readFileSync(new URL("./dataset-split.json", import.meta.url), "utf8")) as {
  dataset: string;
  labels: string;
  modulus: number;
  testRemainder: number;
};

export const IMAGENET_DIR = join(SHARED_DIR, "datasets", RULE.dataset);

export interface LabelledImage {
  path: string;
  label: number;
  name: string;
}

export class DatasetError extends TidepoolError {
  constructor(message: string) {
    super("dataset", message);
  }
}

export function isTestLabel(label: number): boolean {
  return label % RULE.modulus === RULE.testRemainder;
}

/** Every labelled row of a folder's labels.csv (any folder laid out like imagenet-sample). */
export function labelledImages(dir: string): LabelledImage[] {
  const csv = join(dir, RULE.labels);
  let text: string;
  try {
    text = readFileSync(csv, "utf8");
  } catch {
    throw new DatasetError(`${csv}: cannot read the labels file (expected CSV rows file,label_index,name)`);
  }
  const rows = text.trim().split(/\r?\n/).slice(1);
  return rows.map((line, i) => {
    const [file, idx, name] = line.split(",");
    const label = Number(idx);
    if (!file || !/^\d+$/.test(idx ?? "") || label > 999)
      throw new DatasetError(`${csv}:${i + 2}: malformed row "${line}" (expected file,label_index 0-999,name)`);
    return { path: join(dir, file), label, name };
  });
}

/** labels.csv rows of one split. */
export function imagenetSplit(split: "train" | "test", dir = IMAGENET_DIR): LabelledImage[] {
  return labelledImages(dir).filter((r) => (split === "test") === isTestLabel(r.label));
}
