// Regenerates tests/adaptive/fixtures/outcomes-small.jsonl.gz from the outcome cache (training images
// only: day and night variants): `npx tsx tests/adaptive/make-fixtures.ts`. Keeps each image's outcome
// row and the policy features (not the latent), so tests never run the encoder, decoder or classifier.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { gzipSync } from "node:zlib";
import { costTable } from "../../host/build/policy/reference.ts";
import { encoderKey, outcomeCachePath } from "../../host/eval/adaptive/precompute.ts";
import { readOutcomes } from "../../host/eval/adaptive/outcomes.ts";
import { policySamples } from "../../host/eval/adaptive/strategies.ts";
import { shippedModel, SMALL_OUTCOMES } from "./fixtures.ts";

const { model, tables } = shippedModel();
const costs = costTable(tables);
const rows: string[] = [];
for (const [scene, n] of [
  ["day", 160],
  ["night", 120],
] as const) {
  const outcomes = readOutcomes(outcomeCachePath("train", scene, encoderKey(model))).slice(0, n);
  if (outcomes.length < n)
    throw new Error(`only ${outcomes.length} ${scene} training outcomes cached; run npx tsx host/eval/adaptive/precompute.ts train ${scene} ${n}`);
  for (const s of policySamples(outcomes, costs)) {
    const { latent: _latent, ...o } = s.outcome;
    rows.push(JSON.stringify({ ...o, features: Array.from(s.features), fraction: Array.from(s.fraction) }));
  }
}
mkdirSync(dirname(SMALL_OUTCOMES), { recursive: true });
writeFileSync(SMALL_OUTCOMES, gzipSync(rows.join("\n") + "\n", { level: 9 }));
console.log(`${rows.length} rows -> ${SMALL_OUTCOMES}`);
