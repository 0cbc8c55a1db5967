// Binaryen pass that makes a module count its own execution: every basic block (straight-line
// segment between branches) gets an exported i64 counter incremented when the segment starts, and,
// given a cost table, adds the segment's static cost to an exported i64 `__cost`.
// Segments are cut after any child that may branch, so each counted instruction executes exactly
// when its segment's increment does; `br_if` is rewritten to `if (cond) { taken++; br }` so taken
// and not-taken branches are told apart. `memory.fill`/`memory.copy` cost per byte, known only at
// run time: each such site counts its bytes in `__bulk_bytesN` and adds their cost (per-byte cost
// in 1/16 cycle, rounded down per call) to `__cost` and to `__bulk_costN`.
import binaryen from "binaryen";
import { CATEGORIES, type Category, type CategoryCounts } from "./categories.ts";
import { definedFunctionNames } from "../../core/wasm-binary.ts";

export interface Segment {
  fn: string;
  counts: CategoryCounts;
}
/** A memory.fill / memory.copy site: its bytes and their cost are counted at run time. */
export interface BulkSite {
  fn: string;
}
export interface Instrumented {
  wasm: Uint8Array;
  segments: Segment[];
  bulkSites: BulkSite[];
  functions: string[];
}
export type CostTable = Record<Category, number>;

// The typings omit the raw C API (`_Binaryen…`), which the pass needs to edit expressions in place.
type RawApi = { [k: `_Binaryen${string}`]: (...args: any[]) => any };
const b = binaryen as typeof binaryen & RawApi;
const I = {
  Block: b.BlockId,
  If: b.IfId,
  Loop: b.LoopId,
  Break: b.BreakId,
  Switch: b.SwitchId,
  Call: b.CallId,
  CallIndirect: b.CallIndirectId,
  LocalGet: b.LocalGetId,
  LocalSet: b.LocalSetId,
  GlobalGet: b.GlobalGetId,
  GlobalSet: b.GlobalSetId,
  Load: b.LoadId,
  Store: b.StoreId,
  Const: b.ConstId,
  Unary: b.UnaryId,
  Binary: b.BinaryId,
  Select: b.SelectId,
  Drop: b.DropId,
  Return: b.ReturnId,
  Nop: b.NopId,
  Unreachable: b.UnreachableId,
  MemoryFill: b.MemoryFillId,
  MemoryCopy: b.MemoryCopyId,
  MemorySize: b.MemorySizeId,
  MemoryGrow: b.MemoryGrowId,
};
const MUL = new Set([b.MulInt32, b.MulInt64]);
const DIV = new Set([b.DivSInt32, b.DivUInt32, b.RemSInt32, b.RemUInt32, b.DivSInt64, b.DivUInt64, b.RemSInt64, b.RemUInt64]);

function add(c: CategoryCounts, k: Category, n = 1) {
  c[k] = (c[k] ?? 0) + n;
}

function arith(info: any, kind: "unary" | "binary"): Category {
  const t = kind === "binary" ? b.getExpressionType(info.left) : b.getExpressionType(info.value);
  const isFloat = t === b.f32 || t === b.f64 || info.type === b.f32 || info.type === b.f64;
  if (isFloat) return "float";
  const wide = t === b.i64 || info.type === b.i64;
  if (kind === "binary" && MUL.has(info.op)) return wide ? "mul64" : "mul32";
  if (kind === "binary" && DIV.has(info.op)) return wide ? "div64" : "div32";
  return wide ? "alu64" : "alu32";
}

/** True when evaluating `e` may leave the enclosing segment early (a branch, return or trap). */
function mayBranch(e: number): boolean {
  const info: any = b.getExpressionInfo(e);
  switch (info.id) {
    case I.Break:
    case I.Switch:
    case I.Return:
    case I.Unreachable:
      return true;
    case I.Call:
    case I.CallIndirect:
      return false;
  }
  return childrenOf(info).some(mayBranch);
}

function childrenOf(info: any): number[] {
  const out: number[] = [];
  const push = (x: number | undefined | null) => {
    if (x) out.push(x);
  };
  switch (info.id) {
    case I.Block:
      return [...info.children];
    case I.If:
      push(info.condition);
      push(info.ifTrue);
      push(info.ifFalse);
      return out;
    case I.Loop:
      push(info.body);
      return out;
    case I.Break:
      push(info.condition);
      push(info.value);
      return out;
    case I.Switch:
      push(info.condition);
      push(info.value);
      return out;
    case I.Call:
      return [...info.operands];
    case I.CallIndirect:
      return [info.target, ...info.operands];
    case I.LocalSet:
    case I.GlobalSet:
    case I.Drop:
    case I.Unary:
      push(info.value);
      return out;
    case I.Return:
      push(info.value);
      return out;
    case I.Load:
      push(info.ptr);
      return out;
    case I.Store:
      push(info.ptr);
      push(info.value);
      return out;
    case I.Binary:
      push(info.left);
      push(info.right);
      return out;
    case I.Select:
      push(info.ifTrue);
      push(info.ifFalse);
      push(info.condition);
      return out;
    case I.MemoryFill:
      push(info.dest);
      push(info.value);
      push(info.size);
      return out;
    case I.MemoryCopy:
      push(info.dest);
      push(info.source);
      push(info.size);
      return out;
    case I.MemoryGrow:
      push(info.delta);
      return out;
  }
  return out;
}

export interface InstrumentOptions {
  /** Adds each segment's cost under this table to an exported i64 `__cost`. */
  costTable?: CostTable;
  /** Tracks call depth in exported i32 globals `__depth` / `__max_depth`. */
  trackDepth?: boolean;
}

export function instrument(wasm: Uint8Array, opts: InstrumentOptions = {}): Instrumented {
  const { costTable, trackDepth = false } = opts;
  const mod = binaryen.readBinary(wasm);
  mod.setFeatures(binaryen.Features.All);
  const segments: Segment[] = [];
  const bulkSites: BulkSite[] = [];
  const functions: string[] = [];
  let fn = "";
  let fnRef = 0; // the function being instrumented (for scratch locals)

  const newSegment = (counts: CategoryCounts): number => {
    const id = segments.length;
    segments.push({ fn, counts });
    return id;
  };
  const bump = (name: string, by: bigint) => mod.global.set(name, mod.i64.add(mod.global.get(name, b.i64), mod.i64.const(by as never)));
  const incrementFor = (seg: number): number => {
    const stmts = [bump(`__bb${seg}`, 1n)];
    if (costTable) {
      let cost = 0;
      for (const [k, v] of Object.entries(segments[seg].counts)) cost += (costTable[k as Category] ?? 0) * (v as number);
      stmts.push(bump("__cost", BigInt(Math.round(cost))));
    }
    return stmts.length === 1 ? stmts[0] : mod.block(null, stmts, b.none);
  };

  /** Counts `e` into `c`, instrumenting the control-flow regions nested in it. Returns a replacement when `e` is rewritten. */
  function count(e: number, c: CategoryCounts): number | null {
    const info: any = b.getExpressionInfo(e);
    switch (info.id) {
      case I.Block:
        instrumentBlock(e);
        return null;
      case I.Loop:
        add(c, "loop");
        b._BinaryenLoopSetBody(e, region(info.body));
        return null;
      case I.If: {
        count(info.condition, c);
        add(c, "if");
        b._BinaryenIfSetIfTrue(e, region(info.ifTrue, info.ifFalse ? { br: 1 } : {}));
        if (info.ifFalse) b._BinaryenIfSetIfFalse(e, region(info.ifFalse, { else_taken_extra: 1 }));
        else if (info.type === b.none) b._BinaryenIfSetIfFalse(e, incrementFor(newSegment({ else_taken_extra: 1 })));
        return null;
      }
      case I.Break: {
        if (info.condition && !info.value) {
          count(info.condition, c);
          add(c, "br_if");
          // br_if -> if (cond) { taken++; br }: taken and fall-through are counted apart.
          const taken = newSegment({ br_taken_extra: 1 });
          return mod.if(info.condition, mod.block(null, [incrementFor(taken), mod.br(info.name)], b.none));
        }
        for (const x of childrenOf(info)) count(x, c);
        add(c, info.condition ? "br_if" : "br");
        return null;
      }
      case I.Switch:
        for (const x of childrenOf(info)) count(x, c);
        add(c, "br_table");
        return null;
      case I.Call:
        for (const x of childrenOf(info)) count(x, c);
        add(c, "call");
        return null;
      case I.CallIndirect:
        for (const x of childrenOf(info)) count(x, c);
        add(c, "call_indirect");
        return null;
      case I.Const:
        add(c, "const");
        return null;
      case I.LocalGet:
        add(c, "local");
        return null;
      case I.LocalSet:
        count(info.value, c);
        add(c, "local");
        return null;
      case I.GlobalGet:
        add(c, "global");
        return null;
      case I.GlobalSet:
        count(info.value, c);
        add(c, "global");
        return null;
      case I.Load:
        count(info.ptr, c);
        add(c, `load${info.bytes * 8}` as Category);
        return null;
      case I.Store:
        count(info.ptr, c);
        count(info.value, c);
        add(c, `store${info.bytes * 8}` as Category);
        return null;
      case I.Unary:
        count(info.value, c);
        add(c, arith(info, "unary"));
        return null;
      case I.Binary:
        count(info.left, c);
        count(info.right, c);
        add(c, arith(info, "binary"));
        return null;
      case I.Select:
        for (const x of childrenOf(info)) count(x, c);
        add(c, "select");
        return null;
      case I.Drop:
        count(info.value, c);
        return null; // no machine work
      case I.Return: {
        if (info.value) count(info.value, c);
        add(c, "return");
        return trackDepth ? mod.block(null, [depthBy(-1), e], b.unreachable) : null;
      }
      case I.MemoryFill:
      case I.MemoryCopy:
        for (const x of childrenOf(info)) count(x, c);
        add(c, "memory_bulk");
        return bulkSite(info);
      case I.Nop:
        return null;
      default:
        for (const x of childrenOf(info)) count(x, c);
        add(c, "other");
        return null;
    }
  }

  /** Rewrites memory.fill/copy to count its bytes (and their cost) at run time; operands are evaluated once, in order. */
  function bulkSite(info: any): number {
    const site = bulkSites.length;
    bulkSites.push({ fn });
    const isCopy = info.id === I.MemoryCopy;
    const [d, x, n] = [b.i32, b.i32, b.i32].map((t) => b._BinaryenFunctionAddVar(fnRef, t));
    const bytes = b._BinaryenFunctionAddVar(fnRef, b.i64);
    const stmts = [
      mod.local.set(d, info.dest),
      mod.local.set(x, isCopy ? info.source : info.value),
      mod.local.set(n, info.size),
      mod.local.set(bytes, mod.i64.extend_u(mod.local.get(n, b.i32))),
      mod.global.set(`__bulk_bytes${site}`, mod.i64.add(mod.global.get(`__bulk_bytes${site}`, b.i64), mod.local.get(bytes, b.i64))),
    ];
    if (costTable) {
      const sixteenths = BigInt(Math.round((costTable.memory_byte ?? 0) * 16));
      const cost = () => mod.i64.shr_u(mod.i64.mul(mod.local.get(bytes, b.i64), mod.i64.const(sixteenths as never)), mod.i64.const(4n as never));
      stmts.push(
        mod.global.set(`__bulk_cost${site}`, mod.i64.add(mod.global.get(`__bulk_cost${site}`, b.i64), cost())),
        mod.global.set("__cost", mod.i64.add(mod.global.get("__cost", b.i64), cost())),
      );
    }
    const args = [mod.local.get(d, b.i32), mod.local.get(x, b.i32), mod.local.get(n, b.i32)] as const;
    stmts.push(isCopy ? mod.memory.copy(...args) : mod.memory.fill(...args));
    return mod.block(null, stmts, b.none);
  }

  /** Instruments a region's body (function, loop, if arm): a block is cut into segments; anything else gets one segment. */
  function region(e: number, extra: CategoryCounts = {}): number {
    if (b._BinaryenExpressionGetId(e) === I.Block) {
      instrumentBlock(e, extra);
      return e;
    }
    const c: CategoryCounts = { ...extra };
    const replaced = count(e, c);
    const body = replaced ?? e;
    return mod.block(null, [incrementFor(newSegment(c)), body], b.getExpressionType(body));
  }

  function instrumentBlock(block: number, extra: CategoryCounts = {}) {
    const n = b._BinaryenBlockGetNumChildren(block);
    const cuts: Array<{ at: number; seg: number }> = [];
    let c: CategoryCounts = { ...extra },
      start = 0,
      any = Object.keys(extra).length > 0;
    for (let i = 0; i < n; i++) {
      const child = b._BinaryenBlockGetChildAt(block, i);
      const branches = mayBranch(child);
      const replaced = count(child, c);
      if (replaced) b._BinaryenBlockSetChildAt(block, i, replaced);
      any = true;
      if (branches && i < n - 1) {
        cuts.push({ at: start, seg: newSegment(c) });
        c = {};
        start = i + 1;
        any = false;
      }
    }
    if (any || cuts.length === 0) cuts.push({ at: start, seg: newSegment(c) });
    for (const { at, seg } of cuts.reverse()) b._BinaryenBlockInsertChildAt(block, at, incrementFor(seg));
  }

  function depthBy(delta: number): number {
    return mod.global.set("__depth", mod.i32.add(mod.global.get("__depth", b.i32), mod.i32.const(delta)));
  }
  if (trackDepth) {
    mod.addGlobal("__depth", b.i32, true, mod.i32.const(0));
    mod.addGlobal("__max_depth", b.i32, true, mod.i32.const(0));
    mod.addGlobalExport("__depth", "__depth");
    mod.addGlobalExport("__max_depth", "__max_depth");
  }
  /** Wraps a function body so entering raises the call depth and leaving lowers it. */
  function withDepth(f: number, body: number): number {
    const enter = [
      depthBy(1),
      mod.if(
        mod.i32.gt_s(mod.global.get("__depth", b.i32), mod.global.get("__max_depth", b.i32)),
        mod.global.set("__max_depth", mod.global.get("__depth", b.i32)),
      ),
    ];
    const result = b._BinaryenFunctionGetResults(f);
    if (result === b.none) return mod.block(null, [...enter, body, depthBy(-1)], b.none);
    const tmp = b._BinaryenFunctionAddVar(f, result);
    return mod.block(null, [...enter, mod.local.set(tmp, body), depthBy(-1), mod.local.get(tmp, result)], result);
  }

  const names = definedFunctionNames(wasm);
  const nf = b._BinaryenGetNumFunctions(mod.ptr);
  let defined = 0;
  for (let i = 0; i < nf; i++) {
    const f = b._BinaryenGetFunctionByIndex(mod.ptr, i);
    const body = b._BinaryenFunctionGetBody(f);
    if (!body) continue; // an import
    fn = names[defined++] ?? `func${i}`;
    fnRef = f;
    functions.push(fn);
    const counted = region(body, { call: 0 });
    b._BinaryenFunctionSetBody(f, trackDepth ? withDepth(f, counted) : counted);
  }
  for (let k = 0; k < segments.length; k++) {
    mod.addGlobal(`__bb${k}`, b.i64, true, mod.i64.const(0n as never));
    mod.addGlobalExport(`__bb${k}`, `__bb${k}`);
  }
  for (let k = 0; k < bulkSites.length; k++) {
    for (const g of [`__bulk_bytes${k}`, ...(costTable ? [`__bulk_cost${k}`] : [])]) {
      mod.addGlobal(g, b.i64, true, mod.i64.const(0n as never));
      mod.addGlobalExport(g, g);
    }
  }
  if (costTable) {
    mod.addGlobal("__cost", b.i64, true, mod.i64.const(0n as never));
    mod.addGlobalExport("__cost", "__cost");
  }
  if (!mod.validate()) throw new Error("instrumented module does not validate");
  const out = mod.emitBinary();
  mod.dispose();
  return { wasm: out, segments, bulkSites, functions };
}

export { CATEGORIES };
