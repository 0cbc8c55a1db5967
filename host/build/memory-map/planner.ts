// Lays out the encoder's static arena for one model, board, frame size and pixel format.
// Every buffer gets a fixed offset at build time; nothing is allocated on the device after init.
import type { Board } from "../../core/boards.ts";
import { layerShapes, latentShape } from "../../model/geometry.ts";
import type { Model } from "../../core/model-types.ts";
import { BYTES_PER_PIXEL, type PixelFormat } from "../../core/pixel-format.ts";
import { ACTIVATION_CODE, H, L, PLAN_HEADER_WORDS, PLAN_LAYER_WORDS, PLAN_MAGIC, PLAN_VERSION, STATE_LAYER_WORDS } from "./plan-layout.ts";
import { TidepoolError } from "../../core/errors.ts";

export type RegionKind = "reserved" | "plan" | "weights" | "state" | "input" | "line-buffer" | "latent" | "output" | "scratch" | "stack";

export interface Region {
  name: string;
  kind: RegionKind;
  offset: number;
  size: number;
  purpose: string;
}

export interface ExtraRegion {
  name: string;
  kind: RegionKind;
  size: number;
  purpose: string;
}

export interface MemoryMap {
  board: string;
  width: number;
  height: number;
  format: PixelFormat;
  regions: Region[];
  /** Bytes from offset 0 to the end of the last region. */
  arenaBytes: number;
  arenaBudgetBytes: number;
  headroomBytes: number;
  /** Initialised bytes (plan + parameters), to be placed at `initOffset` by a data segment. */
  init: Uint8Array;
  initOffset: number;
  planOffset: number;
}

/** The model does not fit the board: bad input for this board (exit 2), naming the region and bytes over. */
export class ArenaOverflowError extends TidepoolError {
  constructor(
    readonly region: string,
    readonly overBytes: number,
    message: string,
  ) {
    super("arena-overflow", message);
  }
}

/**
 * Throws ArenaOverflowError when the arena passes the board's budget, naming the region that
 * crosses it and the largest ones (`what` says which arena: "arena", "split head arena").
 */
export function checkArenaBudget(what: string, boardName: string, regions: Region[], arenaBytes: number, budget: number) {
  if (arenaBytes <= budget) return;
  const crossing = regions.find((r) => r.offset + r.size > budget)!;
  throw new ArenaOverflowError(
    crossing.name,
    arenaBytes - budget,
    `${what} for ${boardName} does not fit: ${arenaBytes} bytes needed, budget ${budget} bytes (${arenaBytes - budget} bytes over); ` +
      `region "${crossing.name}" (${crossing.size} bytes at offset ${crossing.offset}, ${crossing.purpose}) crosses the budget. ` +
      `Largest regions: ${[...regions]
        .sort((a, b) => b.size - a.size)
        .slice(0, 3)
        .map((r) => `${r.name} ${r.size} B`)
        .join(", ")}`,
  );
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** How one layer's parameters are laid out for its kernel (host/build/kernels/layout.ts); default: as in the model. */
export interface ParamLayout {
  weights: Uint8Array;
  weightsPurpose: string;
  multiplier: ArrayLike<number>;
  shift: ArrayLike<number>;
  lanes: number;
}

export interface PlanOptions {
  model: Model;
  board: Board;
  width: number;
  height: number;
  format: PixelFormat;
  extra?: ExtraRegion[];
  params?: ParamLayout[];
  /** Give each line-buffer row `padding` zero columns on both sides (the specialised kernels read them instead of clipping). */
  paddedRings?: boolean;
}

export function planArena({ model, board, width, height, format, extra = [], params: layouts, paddedRings = false }: PlanOptions): MemoryMap {
  const shapes = layerShapes(model, width, height);
  const lat = latentShape(model, width, height);
  const regions: Region[] = [];
  let cursor = 0;
  const add = (name: string, kind: RegionKind, size: number, purpose: string, alignment = 16) => {
    cursor = align(cursor, alignment);
    const r = { name, kind, offset: cursor, size, purpose };
    regions.push(r);
    cursor += size;
    return r;
  };

  add("null-guard", "reserved", 16, "never used: keeps address 0 invalid");
  const planBytes = 4 * (PLAN_HEADER_WORDS + PLAN_LAYER_WORDS * model.layers.length);
  const plan = add("plan", "plan", planBytes, `encoder plan: header + ${model.layers.length} layer descriptors (read-only)`);
  const layout = model.layers.map(
    (l, i): ParamLayout =>
      layouts?.[i] ?? {
        weights: new Uint8Array(l.weights.buffer, l.weights.byteOffset, l.weights.length),
        weightsPurpose: `int8 weights ${l.outChannels}x${l.kernel}x${l.kernel}x${l.inChannels}`,
        multiplier: l.multiplier,
        shift: l.shift,
        lanes: 1,
      },
  );
  const params = model.layers.map((l, i) => {
    const w = add(`layer${i}.weights`, "weights", layout[i].weights.length, layout[i].weightsPurpose, layout[i].lanes > 1 ? 8 : 4);
    const b = add(`layer${i}.bias`, "weights", 4 * l.outChannels, "int32 bias per output channel", 4);
    const m = add(`layer${i}.requant`, "weights", 8 * l.outChannels, "int32 multiplier + int32 shift per output channel", 4);
    return { w, b, m };
  });
  const qOff = add("latent.quantizer", "weights", 8 * lat.channels, "int32 offset + int32 level count per latent channel", 4);
  const initEnd = cursor;
  const state = add("state", "state", 4 * STATE_LAYER_WORDS * model.layers.length, "per-layer stream position (rows in, next output row, sizes)");
  const stage = add("input.row", "input", width * BYTES_PER_PIXEL[format], `one camera row, ${width} px ${format}, written by the host before tp_push_row`);
  const pad = (i: number) => (paddedRings ? model.layers[i].padding : 0);
  const ringRowBytes = (i: number) => (shapes[i].inWidth + 2 * pad(i)) * model.layers[i].inChannels;
  const rings = model.layers.map((l, i) =>
    add(
      `layer${i}.lines`,
      "line-buffer",
      l.kernel * ringRowBytes(i),
      `${l.kernel} input rows x ${shapes[i].inWidth}${pad(i) ? ` (+${pad(i)}+${pad(i)} zero)` : ""} px x ${l.inChannels} ch (ring: only the rows the ${l.kernel}x${l.kernel} kernel needs)`,
    ),
  );
  const latent = add(
    "latent",
    "latent",
    lat.width * lat.height * lat.channels,
    `latent symbols ${lat.channels} ch x ${lat.height} x ${lat.width}, channel-major`,
  );
  for (const e of extra) add(e.name, e.kind, e.size, e.purpose);
  add("stack", "stack", board.stackReserveBytes, "reserve for the runtime's operand/call stack and the host bridge");
  const arenaBytes = align(cursor, 16);

  const budget = board.memory.arenaBudgetBytes;
  checkArenaBudget("arena", board.name, regions, arenaBytes, budget);

  // Initialised block: plan + parameters, from plan.offset to initEnd.
  const init = new Uint8Array(initEnd - plan.offset);
  const dv = new DataView(init.buffer);
  const word = (byteOffset: number, v: number) => dv.setInt32(byteOffset - plan.offset, v, true);
  const hw = (i: number, v: number) => word(plan.offset + 4 * i, v);
  hw(H.magic, PLAN_MAGIC);
  hw(H.version, PLAN_VERSION);
  hw(H.layerCount, model.layers.length);
  hw(H.maxWidth, width);
  hw(H.maxHeight, height);
  hw(H.inChannels, model.input.channels);
  for (let c = 0; c < 3; c++) hw(H.zp0 + c, model.input.zeroPoints[Math.min(c, model.input.channels - 1)]);
  hw(H.rowStageOffset, stage.offset);
  hw(H.rowStageBytes, stage.size);
  hw(H.latentOffset, latent.offset);
  hw(H.latentBytes, latent.size);
  hw(H.stateOffset, state.offset);
  hw(H.latentOffsetsOffset, qOff.offset);
  hw(H.latentLevelsOffset, qOff.offset + 4 * lat.channels);
  model.layers.forEach((l, i) => {
    const lw = (k: number, v: number) => word(plan.offset + 4 * (PLAN_HEADER_WORDS + PLAN_LAYER_WORDS * i + k), v);
    lw(L.kernel, l.kernel);
    lw(L.stride, l.stride);
    lw(L.padding, l.padding);
    lw(L.activation, ACTIVATION_CODE[l.activation]);
    lw(L.inChannels, l.inChannels);
    lw(L.outChannels, l.outChannels);
    lw(L.inSigned, i === 0 || model.layers[i - 1].activation === "linear" ? 1 : 0);
    lw(L.ringOffset, rings[i].offset + pad(i) * l.inChannels);
    lw(L.ringRowBytes, ringRowBytes(i));
    lw(L.weightsOffset, params[i].w.offset);
    lw(L.biasOffset, params[i].b.offset);
    lw(L.multiplierOffset, params[i].m.offset);
    lw(L.shiftOffset, params[i].m.offset + 4 * l.outChannels);
    lw(L.maxInWidth, shapes[i].inWidth);
    lw(L.weightLanes, layout[i].lanes);
    init.set(layout[i].weights, params[i].w.offset - plan.offset);
    for (let c = 0; c < l.outChannels; c++) {
      word(params[i].b.offset + 4 * c, l.bias[c]);
      word(params[i].m.offset + 4 * c, layout[i].multiplier[c]);
      word(params[i].m.offset + 4 * (l.outChannels + c), layout[i].shift[c]);
    }
  });
  for (let c = 0; c < lat.channels; c++) {
    word(qOff.offset + 4 * c, model.latent.offsets[c]);
    word(qOff.offset + 4 * (lat.channels + c), model.latent.levels[c]);
  }

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
  };
}
