import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePolicySpec } from "../../host/eval/adaptive/compare.ts";
import { writeModel } from "../../host/model/format.ts";
import { SHARED_DIR } from "../../host/core/paths.ts";
import { runCliInProcess as runCli } from "../helpers/cli.ts";
import { shippedModel } from "./fixtures.ts";

const tmp = mkdtempSync(join(tmpdir(), "tidepool-adaptive-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const images = join(SHARED_DIR, "datasets", "kodak");

describe("tidepool simulate --policy: bad input", () => {
  it("parses fixed:K, adaptive, oracle, adacompress-jpeg and names what is wrong otherwise", () => {
    expect(parsePolicySpec("fixed:3", 12)).toEqual({ kind: "fixed", k: 3 });
    expect(parsePolicySpec("oracle", 12)).toEqual({ kind: "oracle" });
    expect(() => parsePolicySpec("fixed:13", 12)).toThrow(/policy "fixed:13": k must be 1..12/);
    expect(() => parsePolicySpec("greedy", 12)).toThrow(/policy "greedy" is not fixed:K, fixed:best, adaptive, oracle or adacompress-jpeg/);
  });

  // Refused before any image is measured: one message naming the thing, exit 2.
  it("the CLI exits 2 on an unknown policy and on a model without a policy", async () => {
    const plain = join(tmp, "no-policy.tpm");
    writeFileSync(plain, writeModel({ ...shippedModel().model, policy: null }));
    // In-process runs capture the console, so one at a time.
    const bad = await runCli(["simulate", "--images", images, "--policy", "adaptive,fixed:13", "--interval", "600"]);
    const noPolicy = await runCli(["simulate", "--images", images, "--policy", "adaptive", "--model", plain]);
    expect(bad.code, bad.out).toBe(2);
    expect(bad.stderr).toMatch(/policy "fixed:13": k must be 1..12/);
    expect(noPolicy.code, noPolicy.out).toBe(2);
    expect(noPolicy.stderr).toMatch(/no-policy\.tpm has no PLCY section/);
  });
});
