// The stages of host/ and flash-tools/ import only downwards (docs/ARCHITECTURE.md §Folders):
// core < image < model < wire < build < flash-tools < receiver < eval < cli. An import that runs back
// up (or into a stage not listed here) fails this test, so the layering stays true as code lands.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../host/core/paths.ts";

const STAGES = ["host/core", "host/image", "host/model", "host/wire", "host/build", "flash-tools", "host/receiver", "host/eval", "host/cli"];
/** Files outside the stage folders that sit on top (entry points). */
const TOP = new Set(["host/main-job.ts"]);

function stageOf(file: string): number {
  if (TOP.has(file)) return STAGES.length;
  const i = STAGES.findIndex((s) => file.startsWith(`${s}/`));
  return i;
}

function sources(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(join(REPO_ROOT, rel)).isDirectory()) return sources(rel);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [rel] : [];
  });
}

const IMPORT = /(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g;

function importsOf(file: string): string[] {
  const src = readFileSync(join(REPO_ROOT, file), "utf8");
  return [...src.matchAll(IMPORT)].map((m) => relative(REPO_ROOT, resolve(dirname(join(REPO_ROOT, file)), m[1])));
}

describe("import layering", () => {
  const files = [...sources("host"), ...sources("flash-tools")];

  it("every source file belongs to a stage", () => {
    expect(files.filter((f) => stageOf(f) < 0)).toEqual([]);
  });

  it("imports only run down the stages", () => {
    const upward: string[] = [];
    for (const f of files) {
      for (const target of importsOf(f)) {
        const from = stageOf(f),
          to = stageOf(target);
        if (to < 0 || to > from) upward.push(`${f} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("the check sees an upward import", () => {
    // host/core importing the CLI would be caught: the rule, applied to a made-up pair.
    expect(stageOf("host/cli/main.ts")).toBeGreaterThan(stageOf("host/core/errors.ts"));
    expect(importsOf("host/eval/metrics.ts")).toContain("host/core/types.ts");
  });
});
