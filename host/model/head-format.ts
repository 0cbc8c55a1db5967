// Reader and writer of split-head model files: the Tidepool model file, version 2 (docs/model-format.md).
// Same container as version 1 ("TPMD", u16 version, u16 section count, tagged sections, CRC-32) with
// the head's own sections: HINP (input table), HCNV (quantized conv), HADD (quantized add), META, and
// for a head with a learned feature compressor FCMP (its geometry), FEXP (the server's expander) and
// ENTR (the latent's entropy tables, as in version 1).
import { crc32 } from "../core/crc32.ts";
import { tensorChannels, type FeatureCompressor, type HeadAdd, type HeadConv, type HeadModel, type HeadOp } from "../core/head-types.ts";
import { MODEL_MAGIC, ModelFormatError, MIN_SHIFT, MAX_SHIFT } from "./format.ts";

export const HEAD_MODEL_VERSION = 2;
/** Largest shift of an add: keeps its float64 reference exact (docs/model-format.md). */
export const MAX_ADD_SHIFT = 46;
/** FCMP section: magic "TPFC" and its own version (docs/model-format.md §Feature compressor). */
export const FCMP_MAGIC = "TPFC";
export const FCMP_VERSION = 1;

class Writer {
  private parts: number[] = [];
  u8(v: number) {
    this.parts.push(v & 255);
  }
  u16(v: number) {
    this.u8(v);
    this.u8(v >> 8);
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.u8((v >>> (8 * i)) & 255);
  }
  f32(v: number) {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.u8(x);
  }
  bytes(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.u8(b[i]);
  }
  name(s: string) {
    const b = new TextEncoder().encode(s);
    this.u16(b.length);
    this.bytes(b);
  }
  result() {
    return Uint8Array.from(this.parts);
  }
}

export function writeHeadModel(m: HeadModel): Uint8Array {
  validateHeadModel(m);
  const sections: Array<[string, Uint8Array]> = [];
  const sec = (tag: string, fill: (w: Writer) => void) => {
    const w = new Writer();
    fill(w);
    sections.push([tag, w.result()]);
  };
  sec("HINP", (w) => {
    w.u8(m.input.channels);
    w.f32(m.input.scale);
    w.u8(m.input.zeroPoint);
    w.bytes(m.input.lut);
  });
  for (const o of m.ops) {
    if (o.op === "conv")
      sec("HCNV", (w) => {
        w.u16(o.input);
        w.u8(o.kernel);
        w.u8(o.stride);
        w.u8(o.padding);
        w.u8(o.depthwise ? 1 : 0);
        w.u16(o.inChannels);
        w.u16(o.outChannels);
        w.u8(o.inZeroPoint);
        w.u8(o.outZeroPoint);
        w.u8(o.clampLo);
        w.u8(o.clampHi);
        w.f32(o.outScale);
        w.name(o.name);
        w.bytes(new Uint8Array(o.weights.buffer, o.weights.byteOffset, o.weights.length));
        for (const v of o.bias) w.u32(v);
        for (const v of o.multiplier) w.u32(v);
        w.bytes(o.shift);
      });
    else
      sec("HADD", (w) => {
        w.u16(o.inputs[0]);
        w.u16(o.inputs[1]);
        w.u16(o.channels);
        w.u8(o.zeroPoints[0]);
        w.u8(o.zeroPoints[1]);
        w.u32(o.multipliers[0]);
        w.u32(o.multipliers[1]);
        w.u8(o.shift);
        w.u8(o.outZeroPoint);
        w.u8(o.clampLo);
        w.u8(o.clampHi);
        w.f32(o.outScale);
        w.name(o.name);
      });
  }
  const fc = m.compressor;
  if (fc) {
    sec("FCMP", (w) => {
      w.bytes(new TextEncoder().encode(FCMP_MAGIC));
      w.u8(FCMP_VERSION);
      w.u16(fc.headOps);
      w.u16(fc.levels);
      w.u8(fc.offset);
      w.u8(fc.ratio);
      w.u16(fc.expander.width);
    });
    sec("FEXP", (w) => {
      for (const c of [fc.expander.conv1, fc.expander.conv2, fc.expander.conv3]) {
        w.bytes(new Uint8Array(c.weight.buffer, c.weight.byteOffset, c.weight.byteLength));
        w.bytes(new Uint8Array(c.bias.buffer, c.bias.byteOffset, c.bias.byteLength));
      }
    });
    if (fc.entropy) sec("ENTR", (w) => w.bytes(fc.entropy!));
  }
  sec("META", (w) => w.bytes(new TextEncoder().encode(JSON.stringify(m.meta))));
  const out = new Writer();
  out.bytes(new TextEncoder().encode(MODEL_MAGIC));
  out.u16(HEAD_MODEL_VERSION);
  out.u16(sections.length);
  for (const [tag, body] of sections) {
    out.bytes(new TextEncoder().encode(tag));
    out.u32(body.length);
    out.bytes(body);
  }
  const bytes = out.result();
  const withCrc = new Uint8Array(bytes.length + 4);
  withCrc.set(bytes);
  new DataView(withCrc.buffer).setUint32(bytes.length, crc32(bytes), true);
  return withCrc;
}

class Reader {
  pos: number;
  private dv: DataView;
  constructor(
    private b: Uint8Array,
    start: number,
    readonly end: number,
    private what: string,
    private source: string,
  ) {
    this.pos = start;
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number, field: string) {
    if (this.pos + n > this.end)
      throw new ModelFormatError(`truncated: ${this.what} ends at offset ${this.end} while reading ${field} at offset ${this.pos}`, this.source);
  }
  u8(f: string) {
    this.need(1, f);
    return this.b[this.pos++];
  }
  u16(f: string) {
    this.need(2, f);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i32(f: string) {
    this.need(4, f);
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f32(f: string) {
    this.need(4, f);
    const v = this.dv.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  bytes(n: number, f: string) {
    this.need(n, f);
    const v = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  name(f: string) {
    return new TextDecoder().decode(this.bytes(this.u16(`${f} length`), f));
  }
}

/** True when `bytes` is a model file of the split-head version (lets callers pick the reader). */
export function isHeadModelFile(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && String.fromCharCode(...bytes.subarray(0, 4)) === MODEL_MAGIC && (bytes[4] | (bytes[5] << 8)) === HEAD_MODEL_VERSION;
}

export function readHeadModel(bytes: Uint8Array, source = "model file"): HeadModel {
  if (bytes.length < 12) throw new ModelFormatError(`truncated: ${bytes.length} bytes is shorter than the 12-byte header and CRC`, source);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== MODEL_MAGIC)
    throw new ModelFormatError(`wrong magic ${JSON.stringify(magic)} at offset 0 (expected "${MODEL_MAGIC}"): not a Tidepool model file`, source);
  const head = new Reader(bytes, 4, bytes.length, "header", source);
  const version = head.u16("version");
  if (version !== HEAD_MODEL_VERSION) throw new ModelFormatError(`version ${version} at offset 4 is not a split head (version ${HEAD_MODEL_VERSION})`, source);
  const count = head.u16("section count");
  const body = bytes.length - 4;
  const stored = new DataView(bytes.buffer, bytes.byteOffset).getUint32(body, true);
  if (stored !== crc32(bytes, 0, body)) throw new ModelFormatError(`CRC mismatch: stored 0x${stored.toString(16)} at offset ${body} (file corrupted)`, source);
  const m: Partial<HeadModel> & { ops: HeadOp[] } & Pending = { ops: [], meta: {} };
  let pos = 8;
  for (let s = 0; s < count; s++) {
    const sh = new Reader(bytes, pos, body, `section ${s} header`, source);
    const tag = String.fromCharCode(...sh.bytes(4, "tag"));
    const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(sh.pos, true);
    sh.pos += 4;
    if (sh.pos + len > body)
      throw new ModelFormatError(`truncated: section ${s} (${tag}) at offset ${pos} declares ${len} bytes but only ${body - sh.pos} remain`, source);
    const r = new Reader(bytes, sh.pos, sh.pos + len, `section ${tag} at offset ${pos}`, source);
    readSection(tag, r, m, source, pos);
    if (r.pos !== r.end) throw new ModelFormatError(`section ${tag} at offset ${pos}: ${r.end - r.pos} unexpected trailing bytes`, source);
    pos = sh.pos + len;
  }
  if (pos !== body) throw new ModelFormatError(`${body - pos} stray bytes after the last section at offset ${pos}`, source);
  if (!m.input) throw new ModelFormatError("missing HINP section", source);
  finishCompressor(m, source);
  validateHeadModel(m as HeadModel, source);
  return m as HeadModel;
}

/** Sections read before the ops they describe are known (FCMP, FEXP, ENTR); assembled after the loop. */
interface Pending {
  fcmp?: { headOps: number; levels: number; offset: number; ratio: number; width: number; at: number };
  fexp?: { bytes: Uint8Array; at: number };
  entr?: Uint8Array;
}

function finishCompressor(m: Partial<HeadModel> & { ops: HeadOp[] } & Pending, source: string) {
  const { fcmp, fexp, entr } = m;
  delete m.fcmp;
  delete m.fexp;
  delete m.entr;
  if (!fcmp) {
    if (fexp || entr) throw new ModelFormatError(`section ${fexp ? "FEXP" : "ENTR"} without an FCMP section`, source);
    return;
  }
  if (!fexp) throw new ModelFormatError(`FCMP section at offset ${fcmp.at} without its FEXP section`, source);
  const last = m.ops.at(-1),
    split = m.ops[fcmp.headOps - 1];
  if (fcmp.headOps !== m.ops.length - 1 || !last || last.op !== "conv" || !split)
    throw new ModelFormatError(
      `FCMP section at offset ${fcmp.at}: head of ${fcmp.headOps} ops, but the compressor must be the one op after it (${m.ops.length} ops)`,
      source,
    );
  const C = last.outChannels,
    W = fcmp.width,
    S = split.op === "conv" ? split.outChannels : split.channels;
  const sizes = [W * C * 9, W, W * W * 9, W, S * fcmp.ratio * fcmp.ratio * W, S * fcmp.ratio * fcmp.ratio];
  const total = sizes.reduce((a, b) => a + b, 0) * 4;
  if (fexp.bytes.length !== total)
    throw new ModelFormatError(
      `FEXP section at offset ${fexp.at} has ${fexp.bytes.length} bytes; an expander of width ${W} from ${C} to ${S} channels needs ${total}`,
      source,
    );
  const f32 = new Float32Array(fexp.bytes.buffer.slice(fexp.bytes.byteOffset, fexp.bytes.byteOffset + total));
  let at = 0;
  const take = (n: number) => f32.subarray(at, (at += n));
  const conv = (i: number) => ({ weight: take(sizes[2 * i]), bias: take(sizes[2 * i + 1]) });
  const expander = { width: W, conv1: conv(0), conv2: conv(1), conv3: conv(2) };
  m.compressor = { headOps: fcmp.headOps, levels: fcmp.levels, offset: fcmp.offset, ratio: fcmp.ratio, expander, entropy: entr ?? null };
}

function readSection(tag: string, r: Reader, m: Partial<HeadModel> & { ops: HeadOp[] } & Pending, source: string, at: number) {
  switch (tag) {
    case "FCMP": {
      const magic = new TextDecoder().decode(r.bytes(4, "FCMP magic"));
      if (magic !== FCMP_MAGIC) throw new ModelFormatError(`FCMP section at offset ${at}: magic ${JSON.stringify(magic)}, expected "${FCMP_MAGIC}"`, source);
      const version = r.u8("FCMP version");
      if (version !== FCMP_VERSION) throw new ModelFormatError(`FCMP section at offset ${at}: version ${version}, this reader knows ${FCMP_VERSION}`, source);
      m.fcmp = { headOps: r.u16("head ops"), levels: r.u16("levels"), offset: r.u8("offset"), ratio: r.u8("ratio"), width: r.u16("expander width"), at };
      return;
    }
    case "FEXP":
      m.fexp = { bytes: r.bytes(r.end - r.pos, "expander weights"), at };
      return;
    case "ENTR":
      m.entr = r.bytes(r.end - r.pos, "entropy tables");
      return;
    case "HINP": {
      const channels = r.u8("channels"),
        scale = r.f32("scale"),
        zeroPoint = r.u8("zero point");
      m.input = { channels, scale, zeroPoint, lut: r.bytes(channels * 256, `${channels}x256 input table`) };
      return;
    }
    case "HCNV": {
      const input = r.u16("input tensor"),
        kernel = r.u8("kernel"),
        stride = r.u8("stride"),
        padding = r.u8("padding"),
        depthwise = r.u8("depthwise") === 1;
      const inChannels = r.u16("in channels"),
        outChannels = r.u16("out channels");
      const inZeroPoint = r.u8("in zero point"),
        outZeroPoint = r.u8("out zero point"),
        clampLo = r.u8("clamp low"),
        clampHi = r.u8("clamp high");
      const outScale = r.f32("out scale"),
        name = r.name("name");
      const n = outChannels * kernel * kernel * (depthwise ? 1 : inChannels);
      const wb = r.bytes(n, `${n} weights`);
      const bias = new Int32Array(outChannels),
        multiplier = new Int32Array(outChannels);
      for (let c = 0; c < outChannels; c++) bias[c] = r.i32("bias");
      for (let c = 0; c < outChannels; c++) multiplier[c] = r.i32("multiplier");
      const shift = r.bytes(outChannels, "shifts");
      m.ops.push({
        op: "conv",
        name,
        input,
        kernel,
        stride,
        padding,
        depthwise,
        inChannels,
        outChannels,
        inZeroPoint,
        outZeroPoint,
        clampLo,
        clampHi,
        outScale,
        weights: new Int8Array(wb.buffer, wb.byteOffset, n),
        bias,
        multiplier,
        shift,
      });
      return;
    }
    case "HADD": {
      const a = r.u16("input a"),
        b = r.u16("input b"),
        channels = r.u16("channels"),
        za = r.u8("zero point a"),
        zb = r.u8("zero point b");
      const ma = r.i32("multiplier a"),
        mb = r.i32("multiplier b"),
        shift = r.u8("shift");
      const outZeroPoint = r.u8("out zero point"),
        clampLo = r.u8("clamp low"),
        clampHi = r.u8("clamp high"),
        outScale = r.f32("out scale");
      m.ops.push({
        op: "add",
        name: r.name("name"),
        inputs: [a, b],
        channels,
        zeroPoints: [za, zb],
        multipliers: [ma, mb],
        shift,
        outZeroPoint,
        clampLo,
        clampHi,
        outScale,
      });
      return;
    }
    case "META": {
      const text = new TextDecoder().decode(r.bytes(r.end - r.pos, "metadata"));
      try {
        m.meta = JSON.parse(text);
      } catch {
        throw new ModelFormatError(`META section at offset ${at} is not valid JSON`, source);
      }
      return;
    }
    default:
      throw new ModelFormatError(`unknown section tag ${JSON.stringify(tag)} at offset ${at} in a split head`, source);
  }
}

/** Checks wiring, shapes and ranges; throws ModelFormatError naming the op and field. */
export function validateHeadModel(m: HeadModel, source = "split head"): void {
  const fail = (msg: string) => {
    throw new ModelFormatError(msg, source);
  };
  if (m.input.channels !== 1 && m.input.channels !== 3) fail(`input channels must be 1 or 3, got ${m.input.channels}`);
  if (m.input.lut.length !== 256 * m.input.channels) fail(`input table has ${m.input.lut.length} bytes for ${m.input.channels} channels (256 each)`);
  if (m.ops.length === 0) fail("no ops");
  const channels = tensorChannels(m);
  m.ops.forEach((o, i) => {
    const where = `op ${i} (${o.name})`;
    const inputs = o.op === "conv" ? [o.input] : o.inputs;
    for (const t of inputs) if (!(t >= 0 && t <= i)) fail(`${where}: reads tensor ${t}, which is not computed before it`);
    if (o.clampLo > o.clampHi) fail(`${where}: clamp range [${o.clampLo}, ${o.clampHi}] is empty`);
    if (o.op === "conv") {
      if (o.kernel < 1 || o.kernel > 15) fail(`${where}: kernel ${o.kernel} outside 1..15`);
      if (o.stride < 1 || o.stride > o.kernel + 8) fail(`${where}: stride ${o.stride} invalid`);
      if (o.padding >= o.kernel) fail(`${where}: padding ${o.padding} must be smaller than kernel ${o.kernel}`);
      if (o.inChannels !== channels[o.input]) fail(`${where}: expects ${o.inChannels} input channels but tensor ${o.input} has ${channels[o.input]}`);
      if (o.depthwise && o.outChannels !== o.inChannels) fail(`${where}: depthwise with ${o.inChannels} in and ${o.outChannels} out channels`);
      const n = o.outChannels * o.kernel * o.kernel * (o.depthwise ? 1 : o.inChannels);
      if (o.weights.length !== n) fail(`${where}: ${o.weights.length} weights, expected ${n}`);
      for (const [field, arr] of [
        ["bias", o.bias],
        ["multiplier", o.multiplier],
        ["shift", o.shift],
      ] as const)
        if (arr.length !== o.outChannels) fail(`${where}: ${arr.length} ${field} values for ${o.outChannels} channels`);
      for (let c = 0; c < o.outChannels; c++) {
        if (o.multiplier[c] < 0) fail(`${where}: multiplier of channel ${c} is negative`);
        if (o.shift[c] < MIN_SHIFT || o.shift[c] > MAX_SHIFT) fail(`${where}: shift of channel ${c} is ${o.shift[c]}, outside ${MIN_SHIFT}..${MAX_SHIFT}`);
      }
    } else {
      const add = o as HeadAdd;
      for (const t of add.inputs) if (channels[t] !== add.channels) fail(`${where}: adds ${add.channels} channels but tensor ${t} has ${channels[t]}`);
      if (add.shift < 1 || add.shift > MAX_ADD_SHIFT) fail(`${where}: shift ${add.shift} outside 1..${MAX_ADD_SHIFT}`);
      for (const mm of add.multipliers) if (!(mm >= 0 && mm < 2 ** 31)) fail(`${where}: multiplier ${mm} outside [0, 2^31)`);
    }
  });
  if (m.compressor) validateCompressor(m, m.compressor, fail);
}

function validateCompressor(m: HeadModel, fc: FeatureCompressor, fail: (msg: string) => never) {
  const c = m.ops.at(-1)!;
  if (fc.headOps !== m.ops.length - 1 || c.op !== "conv") fail(`feature compressor: must be the last op, after ${m.ops.length - 1} head ops`);
  else {
    if (c.input !== fc.headOps) fail(`feature compressor: reads tensor ${c.input}, not the split tensor ${fc.headOps}`);
    if (c.depthwise || c.kernel !== fc.ratio || c.stride !== fc.ratio || c.padding !== 0)
      fail(`feature compressor: conv must be dense with kernel = stride = ratio ${fc.ratio}, padding 0`);
    if (fc.levels < 2 || fc.levels > 256 || fc.offset >= fc.levels) fail(`feature compressor: ${fc.levels} levels with offset ${fc.offset}`);
    if (c.clampLo !== 0 || c.clampHi !== fc.levels - 1 || c.outZeroPoint !== fc.offset)
      fail(`feature compressor: output must be symbols, clamp [0, ${fc.levels - 1}] with zero point ${fc.offset}`);
  }
}

export type { HeadConv, HeadAdd };
