// Cycle cost per instruction category, per board core and runtime mode (docs/cost-models.md).
// "aot": the module compiled to native code (wasm2c + the board's C compiler); "interp": a
// wasm3-like threaded interpreter, costing a dispatch per executed instruction on top of the work.
import type { Category } from "./categories.ts";
import type { CostTable } from "./instrument.ts";
import { GROUPS } from "./calibrate.ts";

export type RuntimeMode = "interp" | "aot";

type Native = Record<Category, number>;

const base: Native = {
  const: 0.5,
  local: 0.25,
  global: 2,
  alu32: 1,
  alu64: 4,
  mul32: 1,
  mul64: 13,
  div32: 19,
  div64: 200,
  float: 30,
  load8: 2,
  load16: 2,
  load32: 2,
  load64: 3,
  store8: 1,
  store16: 1,
  store32: 1,
  store64: 2,
  br_if: 1,
  br_taken_extra: 2,
  br: 2,
  br_table: 6,
  if: 1,
  else_taken_extra: 2,
  loop: 0,
  call: 6,
  call_indirect: 8,
  return: 2,
  select: 2,
  memory_bulk: 10,
  memory_byte: 0.75,
  other: 1,
};

/** Native costs by core; each names its source in docs/cost-models.md. */
export const NATIVE: Record<string, Native> = {
  // RI5CY (GAP8): ALU 1, mul 1, mulh 5, div 3-35, load 1 + 1 use stall, taken branch 3, jump 2; RV32: i64 ops in pairs; no FPU.
  ri5cy: base,
  // CV32E40P (GAP9): RI5CY's successor, same pipeline; GAP9 cores have an FPU.
  cv32e40p: { ...base, float: 3 },
  // K210: RV64GC, 64-bit ALU, hardware mul (~4 cycles) and div (~34), FPU.
  "rv64gc-k210": { ...base, memory_byte: 0.375, alu64: 1, mul32: 4, mul64: 4, div32: 34, div64: 66, float: 4, load64: 2, store64: 1, global: 2 },
  // Xtensa LX7 (ESP32-S3): MULL 2, QUOS ~10 avg, windowed call8 ~6, taken branch ~3, single-precision FPU.
  "xtensa-lx7": { ...base, memory_byte: 0.5, alu64: 3, mul32: 2, mul64: 10, div32: 10, div64: 150, float: 4, call: 7, call_indirect: 9 },
  // Cortex-M7 (STM32H743): dual-issue, branch predictor, UMULL 1, SDIV 2-12, FPv5 single/double.
  "cortex-m7": {
    ...base,
    memory_byte: 0.25,
    const: 0.3,
    local: 0.2,
    alu32: 0.6,
    alu64: 1.5,
    mul32: 1,
    mul64: 3,
    div32: 6,
    div64: 120,
    float: 1,
    load8: 1.2,
    load16: 1.2,
    load32: 1.2,
    load64: 2,
    store8: 1,
    store16: 1,
    store32: 1,
    store64: 1.5,
    br_taken_extra: 1.5,
    br: 1.5,
    call: 4,
    call_indirect: 6,
    return: 1.5,
    select: 1,
  },
};

/** Interpreter dispatch (fetch next op handler + indirect jump + operand slots) per core. */
// Cortex-M7 and RI5CY/CV32E40P: calibrated so the model matches wasm3 (built from source) counted under
// QEMU on the 320x240 openmv-h7 module in the feasibility run (../shared/references/real-isa-feasibility.md):
// 4,138 M instructions on Cortex-M7 (model was 2,135 M: -48 %), 3,482 M on RV32 (x CPI 1.3; model was
// -32 %). Hand-made before: 8 and 12. K210 and Xtensa have no wasm3 count and keep their hand-made
// figures, which are likely optimistic by the same margin.
export const DISPATCH: Record<string, number> = { ri5cy: 19, cv32e40p: 19, "rv64gc-k210": 10, "xtensa-lx7": 14, "cortex-m7": 17.7 };

/** wasm3 folds local.get/const into the consuming op's operand slots: no dispatch of their own. */
const FOLDED: ReadonlySet<Category> = new Set(["const", "local", "br_taken_extra", "else_taken_extra", "loop"]);
/** Bytes moved by memory.fill/copy: the interpreter calls the C library's memset/memcpy, native speed. */
const NATIVE_IN_INTERP: ReadonlySet<Category> = new Set(["memory_byte"]);

/**
 * Cycles per native instruction of each core for this scalar integer code: modelled from the cores'
 * pipeline documents (docs/cost-models.md), not measured. QEMU counts instructions; counted
 * instructions x CPI are the cycles the AOT model is calibrated to.
 */
export const NATIVE_CPI: Record<string, { cpi: number; why: string }> = {
  ri5cy: { cpi: 1.3, why: "single-issue 4-stage; load-use stall 1 cycle, taken branch 3 cycles (cv32e40p pipeline.rst)" },
  cv32e40p: { cpi: 1.3, why: "RI5CY's pipeline" },
  "rv64gc-k210": { cpi: 1.3, why: "single-issue in-order 5-stage (Rocket class); load-use and taken-branch bubbles" },
  "xtensa-lx7": { cpi: 1.3, why: "no instruction-set emulator here: not calibrated" },
  "cortex-m7": { cpi: 1.0, why: "dual-issue 6-stage with branch prediction: pairs of ALU/load instructions hide load-use and branch bubbles" },
};

/**
 * Per-group factors on the AOT tables, fitted against QEMU counts (wasm2c + GCC 12 -O2, bounds checks
 * off, RISC-V with aligned accesses; the generic-kernel encoder + device JPEG q10/q20/q50, 3 sample
 * photos at the camera frame: the code the categories price, since the specialised kernels are priced
 * per kernel shape from their own counts, docs/kernels.md) by `npm run bench -- native`
 * (host/build/profile/native-calibration.ts, ridge toward 1 with lambda 0.1), 2026-12-02.
 * GAP9's CV32E40P runs the same RV32IMC code as GAP8's RI5CY. Xtensa (ESP32-S3) has no emulated
 * instruction set here and keeps its hand-made table.
 */
const RV32_SCALES = { alu: 0.572, muldiv: 0.853, memory: 0.796, control: 0.869 };
export const AOT_SCALES: Record<string, Record<string, number>> = {
  "cortex-m7": { alu: 0.798, muldiv: 0.94, memory: 0.917, control: 0.933 },
  ri5cy: RV32_SCALES,
  cv32e40p: RV32_SCALES,
  "rv64gc-k210": { alu: 0.708, muldiv: 0.649, memory: 0.781, control: 0.915 },
};

/** The cost table before calibration (the hand-made model). */
export function rawCostTable(model: string, runtime: RuntimeMode): CostTable {
  const native = NATIVE[model];
  if (!native) throw new Error(`no cost model "${model}" (known: ${Object.keys(NATIVE).join(", ")})`);
  if (runtime === "aot") return { ...native };
  const d = DISPATCH[model];
  const t = {} as CostTable;
  for (const [k, v] of Object.entries(native) as Array<[Category, number]>) t[k] = NATIVE_IN_INTERP.has(k) ? v : FOLDED.has(k) ? v + 1 : v + d;
  return t;
}

export function costTable(model: string, runtime: RuntimeMode): CostTable {
  const t = rawCostTable(model, runtime);
  const scales = runtime === "aot" ? AOT_SCALES[model] : undefined;
  if (!scales) return t;
  for (const [group, cats] of Object.entries(GROUPS) as Array<[keyof typeof GROUPS, Category[]]>) for (const c of cats) t[c] *= scales[group];
  return t;
}
