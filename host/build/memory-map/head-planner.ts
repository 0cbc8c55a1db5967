// Lays out a split head's static arena for one board and frame: plan block, input table, parameters,
// stream state, camera row, one ring of rows per tensor (sized by head-rings.ts), the split tensor
// whole, stack reserve. Same region/map types as the encoder's planner so maps render alike.
import type { Board } from "../../core/boards.ts";
import type { HeadModel } from "../../core/head-types.ts";
import { headShapes } from "../../model/head-geometry.ts";
import { BYTES_PER_PIXEL, type PixelFormat } from "../../core/pixel-format.ts";
import { checkArenaBudget, type MemoryMap, type Region, type RegionKind } from "./planner.ts";
import { headRingRows } from "./head-rings.ts";
import {
  HA,
  HEAD_HEADER_WORDS,
  HEAD_OP_WORDS,
  HEAD_PLAN_MAGIC,
  HEAD_PLAN_VERSION,
  HEAD_STATE_TENSOR_WORDS,
  HEAD_TENSOR_WORDS,
  HH,
  HO,
  HT,
  OP_KIND,
} from "./head-plan-layout.ts";

const align = (n: number, a: number) => Math.ceil(n / a) * a;

export interface HeadPlanOptions {
  head: HeadModel;
  board: Board;
  width: number;
  height: number;
  format: PixelFormat;
  /** Keep only the split tensor's rows one camera row releases (the host reads them after each row). */
  streamOutput?: boolean;
}

export interface HeadMemoryMap extends MemoryMap {
  ringRows: number[];
}

export function planHeadArena({ head, board, width, height, format, streamOutput = false }: HeadPlanOptions): HeadMemoryMap {
  const shapes = headShapes(head, width, height);
  const ringRows = headRingRows(head, width, height, streamOutput);
  const regions: Region[] = [];
  let cursor = 0;
  const add = (name: string, kind: RegionKind, size: number, purpose: string, alignment = 16) => {
    cursor = align(cursor, alignment);
    const r = { name, kind, offset: cursor, size, purpose };
    regions.push(r);
    cursor += size;
    return r;
  };
  const T = head.ops.length + 1;
  add("null-guard", "reserved", 16, "never used: keeps address 0 invalid");
  const plan = add(
    "plan",
    "plan",
    4 * (HEAD_HEADER_WORDS + HEAD_TENSOR_WORDS * T + HEAD_OP_WORDS * head.ops.length),
    `split-head plan: header + ${T} tensor and ${head.ops.length} op descriptors (read-only)`,
  );
  const lut = add(
    "input.table",
    "weights",
    256 * head.input.channels,
    `${head.input.channels}x256 camera value -> uint8 table (normalisation + QuantizeLinear)`,
    4,
  );
  const params = head.ops.map((o, i) => {
    if (o.op === "add") return null;
    const tag = `op${i}`;
    const shape = o.depthwise ? `${o.outChannels}x${o.kernel}x${o.kernel} depthwise` : `${o.outChannels}x${o.kernel}x${o.kernel}x${o.inChannels}`;
    const w = add(`${tag}.weights`, "weights", o.weights.length, `int8 weights ${shape} (${o.name})`, 4);
    const b = add(`${tag}.bias`, "weights", 4 * o.outChannels, "int32 bias per output channel", 4);
    const m = add(`${tag}.requant`, "weights", 8 * o.outChannels, "int32 multiplier + int32 shift per output channel", 4);
    return { w, b, m };
  });
  const initEnd = cursor;
  const state = add("state", "state", 4 * (HEAD_STATE_TENSOR_WORDS * T + head.ops.length), "per-tensor sizes and rows produced, per-op next row");
  const stage = add("input.row", "input", width * BYTES_PER_PIXEL[format], `one camera row, ${width} px ${format}, written by the host before tp_push_row`);
  const rings = shapes.map((s, t) => {
    const last = t === T - 1;
    const producer = t === 0 ? "input" : `${head.ops[t - 1].op} ${head.ops[t - 1].name}`;
    return add(
      last ? "output" : `tensor${t}.lines`,
      last ? "latent" : "line-buffer",
      ringRows[t] * s.width * s.channels,
      last
        ? `${head.compressor ? "latent symbols" : "split tensor"} ${s.channels} ch x ${ringRows[t]} of ${s.height} rows x ${s.width}, pixel-interleaved (${producer})`
        : `${ringRows[t]} of ${s.height} rows x ${s.width} px x ${s.channels} ch (${producer})`,
    );
  });
  add("stack", "stack", board.stackReserveBytes, "reserve for the runtime's operand/call stack and the host bridge");
  const arenaBytes = align(cursor, 16);
  const budget = board.memory.arenaBudgetBytes;
  checkArenaBudget("split head arena", board.name, regions, arenaBytes, budget);

  const init = new Uint8Array(initEnd - plan.offset);
  const dv = new DataView(init.buffer);
  const word = (byteOffset: number, v: number) => dv.setInt32(byteOffset - plan.offset, v, true);
  const hw = (i: number, v: number) => word(plan.offset + 4 * i, v);
  hw(HH.magic, HEAD_PLAN_MAGIC);
  hw(HH.version, HEAD_PLAN_VERSION);
  hw(HH.opCount, head.ops.length);
  hw(HH.tensorCount, T);
  hw(HH.maxWidth, width);
  hw(HH.maxHeight, height);
  hw(HH.inChannels, head.input.channels);
  hw(HH.rowStageOffset, stage.offset);
  hw(HH.rowStageBytes, stage.size);
  hw(HH.lutOffset, lut.offset);
  hw(HH.stateOffset, state.offset);
  shapes.forEach((s, t) => {
    const tw = (k: number, v: number) => word(plan.offset + 4 * (HEAD_HEADER_WORDS + HEAD_TENSOR_WORDS * t + k), v);
    tw(HT.channels, s.channels);
    tw(HT.ringOffset, rings[t].offset);
    tw(HT.ringRows, ringRows[t]);
    tw(HT.rowBytes, s.width * s.channels);
  });
  init.set(head.input.lut, lut.offset - plan.offset);
  head.ops.forEach((o, i) => {
    const ow = (k: number, v: number) => word(plan.offset + 4 * (HEAD_HEADER_WORDS + HEAD_TENSOR_WORDS * T + HEAD_OP_WORDS * i + k), v);
    ow(HO.outZeroPoint, o.outZeroPoint);
    ow(HO.clampLo, o.clampLo);
    ow(HO.clampHi, o.clampHi);
    if (o.op === "add") {
      ow(HO.kind, OP_KIND.add);
      ow(HO.in0, o.inputs[0]);
      ow(HO.in1, o.inputs[1]);
      ow(HO.outChannels, o.channels);
      ow(HA.zeroPointA, o.zeroPoints[0]);
      ow(HA.zeroPointB, o.zeroPoints[1]);
      ow(HA.multiplierA, o.multipliers[0]);
      ow(HA.multiplierB, o.multipliers[1]);
      ow(HA.shift, o.shift);
      return;
    }
    const p = params[i]!;
    ow(HO.kind, OP_KIND.conv);
    ow(HO.in0, o.input);
    ow(HO.in1, o.input);
    ow(HO.kernel, o.kernel);
    ow(HO.stride, o.stride);
    // Without padding every tap is inside the frame, so sum w * (x - zp) = sum w * x - zp * sum w: the
    // zero point goes into the bias here (same int32 result, wrap included) and the device skips it.
    const fold = !o.depthwise && o.padding === 0 && o.inZeroPoint !== 0;
    ow(HO.padding, o.padding);
    ow(HO.depthwise, o.depthwise ? 1 : 0);
    ow(HO.inZeroPoint, fold ? 0 : o.inZeroPoint);
    ow(HO.outChannels, o.outChannels);
    ow(HO.weightsOffset, p.w.offset);
    ow(HO.biasOffset, p.b.offset);
    ow(HO.multiplierOffset, p.m.offset);
    ow(HO.shiftOffset, p.m.offset + 4 * o.outChannels);
    init.set(new Uint8Array(o.weights.buffer, o.weights.byteOffset, o.weights.length), p.w.offset - plan.offset);
    for (let c = 0; c < o.outChannels; c++) {
      let bias = o.bias[c];
      if (fold) {
        const taps = o.weights.length / o.outChannels;
        for (let j = 0; j < taps; j++) bias -= o.inZeroPoint * o.weights[c * taps + j];
      }
      word(p.b.offset + 4 * c, bias | 0);
      word(p.m.offset + 4 * c, o.multiplier[c]);
      word(p.m.offset + 4 * (o.outChannels + c), o.shift[c]);
    }
  });
  return {
    board: board.name,
    width,
    height,
    format,
    regions,
    arenaBytes,
    arenaBudgetBytes: budget,
    headroomBytes: budget - arenaBytes,
    init,
    initOffset: plan.offset,
    planOffset: plan.offset,
    ringRows,
  };
}
