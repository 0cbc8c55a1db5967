// How fast commands answer (issue #10 item 10): wall time of the real `tidepool` bin (a child process,
// as a user runs it) with every build and instrumented module already cached, against the same-run
// baselines of a bare Node start and a Node start with tsx's loader. Goal: any command on a cached
// build ≤ 3 s plus its own work.
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { repoPath } from "../host/core/paths.ts";
import { samplePhotos } from "../host/image/samples.ts";

const RUNS = 3;

function wall(cmd: string, args: string[]): { ms: number; ok: boolean } {
  const times: number[] = [];
  let ok = true;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { cwd: repoPath(), stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    times.push(performance.now() - t0);
    ok &&= r.status === 0;
  }
  return { ms: times.sort((a, b) => a - b)[Math.floor(RUNS / 2)], ok };
}

export default async function cliBench() {
  const photo = samplePhotos()[0];
  const bin = repoPath("bin", "tidepool.mjs");
  const tidepool = (...a: string[]): readonly [string, string[]] => [process.execPath, [bin, ...a]];
  const cases: Array<[string, readonly [string, string[]]]> = [
    ["node -e 0 (baseline)", [process.execPath, ["-e", "0"]] as const],
    ["node + tsx loader (baseline)", [process.execPath, ["--import", repoPath("node_modules", "tsx", "dist", "loader.mjs"), "-e", "0"]]],
    ["tidepool --help", tidepool("--help")],
    ["tidepool boards", tidepool("boards")],
    ["tidepool build --board gap8 --json", tidepool("build", "--board", "gap8", "--json", "--out", repoPath("build", "bench-cli"))],
    ["tidepool encode --board k210 PHOTO --json", tidepool("encode", "--board", "k210", photo, "--json")],
    ["tidepool profile --board openmv-h7 --frame 64x48 PHOTO --json", tidepool("profile", "--board", "openmv-h7", "--frame", "64x48", photo, "--json")],
  ];
  // Warm every cache first (compiled modules, instrumented modules, tsx's transform cache).
  for (const [, [cmd, args]] of cases) spawnSync(cmd, args, { cwd: repoPath(), stdio: "ignore" });
  console.log(`settings: Node ${process.version}; wall time of the bin as a child process, median of ${RUNS} runs after one warm-up run; caches warm\n`);
  console.log("command                                                          wall ms  exit");
  for (const [name, [cmd, args]] of cases) {
    const r = wall(cmd, args);
    console.log(`${name.padEnd(64)} ${r.ms.toFixed(0).padStart(7)}  ${r.ok ? "0" : "FAILED"}`);
  }
}
