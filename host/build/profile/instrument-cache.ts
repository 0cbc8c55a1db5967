// Instrumented modules, cached like compiled ones (build/.cache): the key is the module, the options and
// the instrumenter's own source, so a cache hit never loads binaryen (seconds of JavaScript compile).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../../core/atomic-write.ts";
import { repoPath } from "../../core/paths.ts";
import type { InstrumentOptions, Instrumented } from "./instrument.ts";

const CACHE_DIR = repoPath("build", ".cache", "instrumented");
const INSTRUMENTER = new URL("./instrument.ts", import.meta.url);

function cacheKey(wasm: Uint8Array, opts: InstrumentOptions): string {
  return createHash("sha256").update(readFileSync(INSTRUMENTER)).update(JSON.stringify(opts)).update(wasm).digest("hex").slice(0, 32);
}

export async function instrumentCached(wasm: Uint8Array, opts: InstrumentOptions = {}): Promise<Instrumented> {
  const key = cacheKey(wasm, opts);
  const wasmFile = join(CACHE_DIR, `${key}.wasm`),
    metaFile = join(CACHE_DIR, `${key}.json`);
  if (existsSync(wasmFile) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as Omit<Instrumented, "wasm">;
    return { ...meta, wasm: new Uint8Array(readFileSync(wasmFile)) };
  }
  const { instrument } = await import("./instrument.ts");
  const ins = instrument(wasm, opts);
  mkdirSync(CACHE_DIR, { recursive: true });
  atomicWrite(wasmFile, ins.wasm); // the module first: the metadata marks a complete entry
  atomicWrite(metaFile, JSON.stringify({ segments: ins.segments, bulkSites: ins.bulkSites, functions: ins.functions }));
  return ins;
}
