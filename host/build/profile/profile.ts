// Runs a workload (a built module + a driver) on the instrumented module and turns the counters
// into cycles for a board and runtime mode: total, per function, per instruction category.
import type { Board } from "../../core/boards.ts";
import { CATEGORIES, NOT_INSTRUCTIONS, type Category } from "./categories.ts";
import { costTable, NATIVE_CPI, type RuntimeMode } from "./cost-models.ts";
import type { CostTable, Instrumented } from "./instrument.ts";
import { instrumentCached } from "./instrument-cache.ts";
import { BYTES_PER_PIXEL, FORMAT_CODE, type PixelFormat } from "../../core/pixel-format.ts";

export interface Workload {
  name: string;
  wasm: Uint8Array;
  /** Bytes below this offset hold initialised data (plan, weights, tables): not canary-filled. */
  initEnd: number;
  /** End of the static arena; the compiler's own static data after it is left alone. */
  arenaEnd: number;
  /** Initialised blocks above initEnd (bitstream tables, policy) written back after the canary fill. */
  restore?: { offset: number; bytes: Uint8Array }[];
  /** Pixels per frame, for per-pixel figures. */
  pixels: number;
  /** Runs one frame on the instance's exports; returns the output size in bytes. */
  run(exports: Record<string, any>, frameIndex: number): number;
  frames: number;
  /** Conv layers to report instructions per MAC for: the functions whose instructions count as the layer's, and its MACs per frame. */
  layers?: LayerWork[];
}

export interface LayerWork {
  name: string;
  functions: (fn: string) => boolean;
  macsPerFrame: number;
  /**
   * Ahead-of-time code on a board with a QEMU target: the layer's kernel shape priced per MAC from
   * native instructions counted for that shape (host/build/kernels/choice.ts), which replaces the
   * category model for the layer's functions (× the core's CPI): the per-shape calibration.
   */
  nativePerMac?: { instructions: number; source: "counted" | "fitted per kernel shape" };
}

/** One layer's executed WebAssembly instructions against its multiply-accumulates (docs/profiling.md). */
export interface LayerCost {
  name: string;
  macsPerFrame: number;
  instructionsPerFrame: number;
  instructionsPerMac: number;
  cyclesPerFrame: number;
  cyclesPerMac: number;
  /** How the layer's cycles were modelled: WebAssembly categories × the cost table, or per kernel shape from counted native instructions × CPI. */
  pricedBy: "categories" | "per-shape counts" | "per-shape fit";
}

export interface FunctionCost {
  name: string;
  cycles: number;
  share: number;
}

export interface ProfileResult {
  board: string;
  runtime: RuntimeMode;
  workload: string;
  frames: number;
  clockHz: number;
  cycles: number;
  ms: number;
  cyclesPerFrame: number;
  msPerFrame: number;
  instructions: number;
  instructionsByCategory: Partial<Record<Category, number>>;
  cyclesPerPixel: number;
  instructionsPerPixel: number;
  functions: FunctionCost[];
  layers?: LayerCost[];
  arenaHighWaterBytes: number;
  arenaTouchedBytes: number;
  maxCallDepth: number;
  outputBytes: number[];
}

const CANARY = 0xa5;

/** Cost of one execution of each segment, rounded as the in-module `__cost` counter rounds it. */
export function segmentCosts(ins: Instrumented, table: CostTable): number[] {
  return ins.segments.map((s) => {
    let c = 0;
    for (const [k, v] of Object.entries(s.counts)) c += (table[k as Category] ?? 0) * (v as number);
    return Math.round(c);
  });
}

export async function profileWorkload(w: Workload, board: Board, runtime: RuntimeMode): Promise<ProfileResult> {
  const table = costTable(board.costModel, runtime);
  const ins = await instrumentCached(w.wasm, { costTable: table, trackDepth: true });
  const mod = await WebAssembly.compile(ins.wasm as Uint8Array<ArrayBuffer>);
  const instance = await WebAssembly.instantiate(mod, {
    env: {
      abort: () => {
        throw new Error(`${w.name} aborted`);
      },
    },
  });
  const ex = instance.exports as Record<string, any>;
  const mem = new Uint8Array(ex.memory.buffer);
  mem.fill(CANARY, w.initEnd, w.arenaEnd); // untouched bytes keep the canary: the high-water mark is the last byte that changed
  for (const r of w.restore ?? []) mem.set(r.bytes, r.offset);
  const outputBytes: number[] = [];
  for (let f = 0; f < w.frames; f++) outputBytes.push(w.run(ex, f));

  const execs = ins.segments.map((_, k) => Number(ex[`__bb${k}`].value as bigint));
  const costs = segmentCosts(ins, table);
  const byFn = new Map<string, number>();
  const insByFn = new Map<string, number>();
  const byCat: Partial<Record<Category, number>> = {};
  let cycles = 0,
    instructions = 0;
  ins.segments.forEach((s, k) => {
    const c = execs[k] * costs[k];
    cycles += c;
    byFn.set(s.fn, (byFn.get(s.fn) ?? 0) + c);
    for (const [cat, n] of Object.entries(s.counts) as Array<[Category, number]>) {
      byCat[cat] = (byCat[cat] ?? 0) + execs[k] * n;
      if (!NOT_INSTRUCTIONS.has(cat)) {
        instructions += execs[k] * n;
        insByFn.set(s.fn, (insByFn.get(s.fn) ?? 0) + execs[k] * n);
      }
    }
  });
  ins.bulkSites.forEach((site, k) => {
    const bytes = Number(ex[`__bulk_bytes${k}`].value as bigint),
      c = Number(ex[`__bulk_cost${k}`].value as bigint);
    cycles += c;
    byFn.set(site.fn, (byFn.get(site.fn) ?? 0) + c);
    if (bytes) byCat.memory_byte = (byCat.memory_byte ?? 0) + bytes;
  });
  const counted = Number(ex.__cost.value as bigint);
  if (counted !== cycles) throw new Error(`cost counter ${counted} disagrees with the segment and bulk-site sum ${cycles}`);
  let high = 0,
    touched = 0;
  for (let i = w.initEnd; i < w.arenaEnd; i++)
    if (mem[i] !== CANARY) {
      high = i + 1;
      touched++;
    }
  const clockHz = board.cpu.clockHz;
  const ordered: Partial<Record<Category, number>> = {};
  for (const k of CATEGORIES) if (byCat[k]) ordered[k] = byCat[k];
  const cpi = NATIVE_CPI[board.costModel]?.cpi ?? 1;
  const layers = w.layers?.map((l): LayerCost => {
    const sum = (m: Map<string, number>) => [...m].reduce((t, [fn, v]) => (l.functions(fn) ? t + v : t), 0) / w.frames;
    const ins = sum(insByFn);
    let cyc = sum(byFn);
    let pricedBy: LayerCost["pricedBy"] = "categories";
    // (Only where the layer's functions were found: a module without its name section keeps the category model.)
    if (runtime === "aot" && l.nativePerMac && ins > 0) {
      // Per-shape calibration: the layer's functions cost its counted instructions per MAC × MACs × CPI.
      const priced = l.nativePerMac.instructions * l.macsPerFrame * cpi;
      const scale = cyc > 0 ? priced / cyc : 0;
      for (const [fn, v] of byFn) if (l.functions(fn)) byFn.set(fn, v * scale);
      cycles += (priced - cyc) * w.frames;
      cyc = priced;
      pricedBy = l.nativePerMac.source === "counted" ? "per-shape counts" : "per-shape fit";
    }
    return {
      pricedBy,
      name: l.name,
      macsPerFrame: l.macsPerFrame,
      instructionsPerFrame: ins,
      instructionsPerMac: ins / l.macsPerFrame,
      cyclesPerFrame: cyc,
      cyclesPerMac: cyc / l.macsPerFrame,
    };
  });
  const functions = [...byFn]
    .filter(([, c]) => c > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, c]) => ({ name: name.replace(/^assembly\//, "").replace(/^~lib\/tidepool-kernels\//, "kernels/"), cycles: c, share: c / cycles }));
  return {
    board: board.name,
    runtime,
    workload: w.name,
    frames: w.frames,
    clockHz,
    cycles,
    ms: (cycles / clockHz) * 1000,
    cyclesPerFrame: cycles / w.frames,
    msPerFrame: ((cycles / clockHz) * 1000) / w.frames,
    instructions,
    instructionsByCategory: ordered,
    cyclesPerPixel: cycles / (w.frames * w.pixels),
    instructionsPerPixel: instructions / (w.frames * w.pixels),
    functions,
    ...(layers ? { layers } : {}),
    arenaHighWaterBytes: high,
    arenaTouchedBytes: touched + w.initEnd,
    maxCallDepth: ex.__max_depth.value as number,
    outputBytes,
  };
}

/** Pushes one camera frame row by row through a module's row ABI (tp_init, tp_row_ptr, tp_push_row). */
export function pushFrame(ex: Record<string, any>, frame: Uint8Array, width: number, height: number, format: PixelFormat): void {
  if (ex.tp_init(width, height, FORMAT_CODE[format]) < 0) throw new Error("tp_init failed");
  const rowBytes = width * BYTES_PER_PIXEL[format];
  const mem = new Uint8Array(ex.memory.buffer);
  const ptr = ex.tp_row_ptr();
  for (let y = 0; y < height; y++) {
    mem.set(frame.subarray(y * rowBytes, (y + 1) * rowBytes), ptr);
    if (ex.tp_push_row() < 0) throw new Error("tp_push_row failed");
  }
}
