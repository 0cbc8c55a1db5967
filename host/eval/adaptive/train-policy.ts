// `npm run train -- --config training/configs/policy.json`: trains the adaptive policy on the outcome
// table of the training images (imagenet-sample train split + photos-train), picks λ by 5-fold
// cross-validation, quantizes, and writes the PLCY section into the model (temp file + rename).
// Prints and saves (RUN_DIR/report.json) the fixed budgets, the oracle and the λ sweep.
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { modelTables } from "../../wire/bitstream/tables.ts";
import { costTable } from "../../build/policy/reference.ts";
import { serializePolicy, type Policy } from "../../build/policy/section.ts";
import { trainPolicy, type PolicySample } from "../../build/policy/train.ts";
import { TidepoolError } from "../../core/errors.ts";
import { readModel, writeModel } from "../../model/format.ts";
import { repoPath } from "../../core/paths.ts";
import { OUTCOME_PACKET_SIZES, type ImageOutcome } from "./outcomes.ts";
import { precomputeOutcomes } from "./precompute.ts";
import { adaptiveStrategy, fixedStrategy, oracleStrategy, packetIndex, policySamples } from "./strategies.ts";
import { atomicWrite } from "../../core/atomic-write.ts";

export interface PolicyConfig {
  run_dir: string;
  model?: string;
  images?: number;
  hidden?: number;
  epochs?: number;
  seed?: number;
  packet_bytes?: number;
  lambdas?: number[];
  /** Agreement the chosen λ may lose against the best fixed budget (default 0.01: one point). */
  max_loss?: number;
}

export const DEFAULT_LAMBDAS = [0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1];

export interface SweepPoint {
  lambda: number;
  bytes: number;
  agreement: number;
  meanLevel: number;
}

type Sample = PolicySample & { outcome: ImageOutcome };

/** Cross-validated λ sweep: one probability model per fold serves every λ (λ only enters the argmax). */
export function crossValidatedSweep(
  samples: Sample[],
  o: { tablesId: number; hidden: number; epochs: number; seed: number; folds: number; lambdas: number[]; p: number },
): SweepPoint[] {
  const per = o.lambdas.map(() => ({ bytes: 0, agree: 0, level: 0 }));
  for (let f = 0; f < o.folds; f++) {
    const test = samples.filter((_, i) => i % o.folds === f),
      train = samples.filter((_, i) => i % o.folds !== f);
    const { policy } = trainPolicy(train, { tablesId: o.tablesId, lambda: 0, hidden: o.hidden, epochs: o.epochs, seed: o.seed + f });
    o.lambdas.forEach((l, li) => {
      const r = adaptiveStrategy(test, policy, o.p, Math.round(l * 256));
      per[li].bytes += r.bytes * test.length;
      per[li].agree += r.agreement * test.length;
      per[li].level += r.meanLevel * test.length;
    });
  }
  return o.lambdas.map((lambda, li) => ({
    lambda,
    bytes: per[li].bytes / samples.length,
    agreement: per[li].agree / samples.length,
    meanLevel: per[li].level / samples.length,
  }));
}

/** Best fixed budget: the smallest k whose agreement is within `maxLoss` of sending every channel. */
export function bestFixed(outcomes: ImageOutcome[], p: number, maxLoss: number) {
  const C = outcomes[0].tpTop1.length;
  const all = Array.from({ length: C }, (_, i) => fixedStrategy(outcomes, i + 1, p));
  const best = all.find((r) => r.agreement >= all[C - 1].agreement - maxLoss)!;
  return { all, best };
}

export async function trainPolicyFromConfig(
  configPath: string,
  log = (s: string) => console.log(s),
): Promise<{ policy: Policy; report: Record<string, unknown> }> {
  let cfg: PolicyConfig;
  try {
    cfg = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (e) {
    throw new TidepoolError("config", `policy config ${configPath}: ${(e as Error).message}`);
  }
  const modelPath = resolve(repoPath(), cfg.model ?? "models/default.tpm");
  const model = readModel(new Uint8Array(readFileSync(modelPath)), modelPath);
  if (!model.entropy) throw new TidepoolError("model", `${modelPath} has no ENTR section: fit the bitstream tables first (tidepool fit-tables)`);
  const tables = modelTables(model, modelPath);
  const costs = costTable(tables);
  const P = cfg.packet_bytes ?? 222,
    p = packetIndex(P);
  const hidden = cfg.hidden ?? 16,
    epochs = cfg.epochs ?? 400,
    seed = cfg.seed ?? 1,
    maxLoss = cfg.max_loss ?? 0.01;
  const lambdas = cfg.lambdas ?? DEFAULT_LAMBDAS;

  const outcomes = await precomputeOutcomes({ set: "train", scene: "day", count: cfg.images ?? 2300, log, modelPath });
  log(`${outcomes.length} training images (imagenet-sample train split + photos-train); bytes of ${P}-byte packets`);
  const samples = policySamples(outcomes, costs);
  const { all, best } = bestFixed(outcomes, p, maxLoss);
  const oracle = oracleStrategy(outcomes, p);
  const sweep = crossValidatedSweep(samples, { tablesId: tables.id, hidden, epochs, seed, folds: 5, lambdas, p });
  const ok = sweep.filter((s) => s.agreement >= best.agreement - maxLoss);
  const chosen = ok.length ? ok.reduce((a, b) => (b.bytes < a.bytes ? b : a)) : sweep[0];

  const { policy } = trainPolicy(samples, { tablesId: tables.id, lambda: chosen.lambda, hidden, epochs, seed });
  const payload = serializePolicy(policy);
  const fit = adaptiveStrategy(samples, policy, p);
  atomicWrite(modelPath, writeModel({ ...model, policy: payload }));

  const fmt = (b: number, a: number) => `${b.toFixed(0).padStart(6)} B  agreement ${a.toFixed(3)}`;
  log(`fixed budgets (k channels):`);
  for (const r of all) log(`  ${r.name.padEnd(9)} ${fmt(r.bytes, r.agreement)}`);
  log(`best fixed budget (within ${maxLoss * 100} pt of all channels): ${best.name} ${fmt(best.bytes, best.agreement)}`);
  log(`oracle (each image's smallest k that keeps the answer): ${fmt(oracle.bytes, oracle.agreement)}, mean k ${oracle.meanLevel.toFixed(2)}`);
  log(`λ sweep (5-fold cross-validation):`);
  for (const s of sweep)
    log(`  λ ${s.lambda.toFixed(2).padStart(4)}  ${fmt(s.bytes, s.agreement)}  mean k ${s.meanLevel.toFixed(2)}${s === chosen ? "  <- chosen" : ""}`);
  log(
    `policy: ${policy.hidden} hidden, λ ${chosen.lambda}, PLCY ${payload.length} B; on its training images ${fmt(fit.bytes, fit.agreement)}; written to ${modelPath}`,
  );

  const report = {
    images: outcomes.length,
    packetBytes: P,
    hidden,
    epochs,
    seed,
    lambda: chosen.lambda,
    sectionBytes: payload.length,
    fixed: all.map((r) => ({ k: r.meanLevel, bytes: r.bytes, agreement: r.agreement })),
    bestFixed: { k: best.meanLevel, bytes: best.bytes, agreement: best.agreement },
    oracle: { bytes: oracle.bytes, agreement: oracle.agreement, meanLevel: oracle.meanLevel },
    sweep,
    trainFit: { bytes: fit.bytes, agreement: fit.agreement },
  };
  const dir = resolve(repoPath(), cfg.run_dir);
  mkdirSync(dir, { recursive: true });
  atomicWrite(resolve(dir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  return { policy, report };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--config");
  trainPolicyFromConfig(process.argv[i + 1]).catch((e) => {
    console.error(`train policy: ${(e as Error).message}`);
    process.exit(e instanceof TidepoolError ? e.exitCode : 1);
  });
}

export { OUTCOME_PACKET_SIZES };
