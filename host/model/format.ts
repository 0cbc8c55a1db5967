// Reader and writer of the Tidepool model file, format version 1 (docs/model-format.md).
import { crc32 } from "../core/crc32.ts";
import type { Activation, ConvLayer, Model } from "../core/model-types.ts";
import { TidepoolError } from "../core/errors.ts";

export const MODEL_MAGIC = "TPMD";
export const MODEL_VERSION = 1;
const ACTIVATIONS: Activation[] = ["linear", "relu", "latent"];
export const MIN_SHIFT = 16;
export const MAX_SHIFT = 62;

export class ModelFormatError extends TidepoolError {
  constructor(
    message: string,
    readonly source = "model file",
  ) {
    super("model-format", `${source}: ${message}`);
  }
}

// ---------- writer ----------

class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) {
    this.ensure(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u16(v: number) {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number) {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }
  i32(v: number) {
    this.ensure(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number) {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  ascii(s: string) {
    for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i));
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function section(out: ByteWriter, tag: string, body: (w: ByteWriter) => void) {
  const w = new ByteWriter();
  body(w);
  out.ascii(tag);
  out.u32(w.length);
  out.bytes(w.result());
}

export function writeModel(model: Model): Uint8Array {
  validateModel(model);
  const sections: Array<[string, (w: ByteWriter) => void]> = [];
  sections.push([
    "INPT",
    (w) => {
      w.u8(model.input.channels);
      for (let c = 0; c < model.input.channels; c++) {
        w.u8(model.input.zeroPoints[c]);
        w.f32(model.input.scales[c]);
      }
    },
  ]);
  for (const l of model.layers) {
    sections.push([
      "CONV",
      (w) => {
        w.u8(l.kernel);
        w.u8(l.stride);
        w.u8(l.padding);
        w.u8(ACTIVATIONS.indexOf(l.activation));
        w.u16(l.inChannels);
        w.u16(l.outChannels);
        w.f32(l.outScale);
        w.bytes(new Uint8Array(l.weights.buffer, l.weights.byteOffset, l.weights.byteLength));
        for (const v of l.bias) w.i32(v);
        for (const v of l.multiplier) w.i32(v);
        w.bytes(l.shift);
      },
    ]);
  }
  sections.push([
    "QLAT",
    (w) => {
      const q = model.latent;
      w.u16(q.levels.length);
      w.u8(q.bits);
      for (let c = 0; c < q.levels.length; c++) {
        w.i32(q.offsets[c]);
        w.u16(q.levels[c]);
        w.f32(q.steps[c]);
      }
    },
  ]);
  if (model.entropy) sections.push(["ENTR", (w) => w.bytes(model.entropy!)]);
  if (model.policy) sections.push(["PLCY", (w) => w.bytes(model.policy!)]);
  sections.push(["META", (w) => w.bytes(new TextEncoder().encode(JSON.stringify(model.meta)))]);

  const out = new ByteWriter();
  out.ascii(MODEL_MAGIC);
  out.u16(MODEL_VERSION);
  out.u16(sections.length);
  for (const [tag, body] of sections) section(out, tag, body);
  const bytes = out.result();
  out.u32(crc32(bytes));
  return out.result();
}

// ---------- reader ----------

class ByteReader {
  private view: DataView;
  pos: number;
  constructor(
    private buf: Uint8Array,
    start: number,
    readonly end: number,
    private where: string,
    private source: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }
  private need(n: number, what: string) {
    if (this.pos + n > this.end)
      throw new ModelFormatError(`truncated ${this.where}: ${what} needs ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} left`, this.source);
  }
  u8(what: string) {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u16(what: string) {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what: string) {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(what: string) {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f32(what: string) {
    this.need(4, what);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  bytes(n: number, what: string) {
    this.need(n, what);
    const b = this.bytes_(this.pos, n);
    this.pos += n;
    return b;
  }
  private bytes_(at: number, n: number) {
    return this.buf.slice(at, at + n);
  }
  ascii(n: number, what: string) {
    return String.fromCharCode(...this.bytes(n, what));
  }
}

export function readModel(bytes: Uint8Array, source = "model file"): Model {
  if (bytes.length < 12) throw new ModelFormatError(`truncated: ${bytes.length} bytes is shorter than the 12-byte header and CRC`, source);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== MODEL_MAGIC)
    throw new ModelFormatError(`wrong magic ${JSON.stringify(magic)} at offset 0 (expected "${MODEL_MAGIC}"): not a Tidepool model file`, source);
  const head = new ByteReader(bytes, 4, bytes.length, "header", source);
  const version = head.u16("version");
  if (version === 2)
    // version 2 is a split-computing head (host/model/head-format.ts), not an encoder
    throw new ModelFormatError(
      `unsupported version 2 at offset 4 (this build reads version ${MODEL_VERSION} as an encoder; version 2 is a split head, docs/split-computing.md)`,
      source,
    );
  if (version !== MODEL_VERSION) throw new ModelFormatError(`unsupported version ${version} at offset 4 (this build reads version ${MODEL_VERSION})`, source);
  const count = head.u16("section count");
  const body = bytes.length - 4;
  const stored = new DataView(bytes.buffer, bytes.byteOffset).getUint32(body, true);
  const actual = crc32(bytes, 0, body);

  const model: Partial<Model> & { layers: ConvLayer[] } = { layers: [], entropy: null, meta: {} };
  let pos = 8;
  for (let s = 0; s < count; s++) {
    const sh = new ByteReader(bytes, pos, body, `section ${s} header`, source);
    const tag = sh.ascii(4, "tag");
    const len = sh.u32("length");
    const start = sh.pos;
    if (start + len > body)
      throw new ModelFormatError(`truncated: section ${s} (${tag}) at offset ${pos} declares ${len} bytes but only ${body - start} remain`, source);
    const r = new ByteReader(bytes, start, start + len, `section ${tag} at offset ${pos}`, source);
    readSection(tag, r, model, source, pos);
    if (r.pos !== r.end)
      throw new ModelFormatError(`section ${tag} at offset ${pos}: ${r.end - r.pos} unexpected trailing bytes (shapes disagree with its length)`, source);
    pos = start + len;
  }
  if (pos !== body) throw new ModelFormatError(`${body - pos} stray bytes after the last section at offset ${pos}`, source);
  if (stored !== actual)
    throw new ModelFormatError(`CRC mismatch: stored 0x${stored.toString(16)} at offset ${body}, computed 0x${actual.toString(16)} (file corrupted)`, source);
  if (!model.input) throw new ModelFormatError("missing INPT section", source);
  if (!model.latent) throw new ModelFormatError("missing QLAT section", source);
  validateModel(model as Model, source);
  return model as Model;
}

function readSection(tag: string, r: ByteReader, model: Partial<Model> & { layers: ConvLayer[] }, source: string, at: number) {
  switch (tag) {
    case "INPT": {
      const channels = r.u8("channels");
      const zeroPoints: number[] = [],
        scales: number[] = [];
      for (let c = 0; c < channels; c++) {
        zeroPoints.push(r.u8("zero point"));
        scales.push(r.f32("scale"));
      }
      model.input = { channels, zeroPoints, scales };
      return;
    }
    case "CONV": {
      const kernel = r.u8("kernel"),
        stride = r.u8("stride"),
        padding = r.u8("padding"),
        act = r.u8("activation");
      if (act >= ACTIVATIONS.length) throw new ModelFormatError(`CONV section at offset ${at}: unknown activation code ${act}`, source);
      const inChannels = r.u16("in channels"),
        outChannels = r.u16("out channels"),
        outScale = r.f32("out scale");
      const nW = outChannels * kernel * kernel * inChannels;
      const wb = r.bytes(nW, `${nW} weights (${outChannels}x${kernel}x${kernel}x${inChannels})`);
      const weights = new Int8Array(wb.buffer, wb.byteOffset, nW);
      const bias = new Int32Array(outChannels),
        multiplier = new Int32Array(outChannels);
      for (let i = 0; i < outChannels; i++) bias[i] = r.i32("bias");
      for (let i = 0; i < outChannels; i++) multiplier[i] = r.i32("multiplier");
      const shift = r.bytes(outChannels, "shifts");
      model.layers.push({ kernel, stride, padding, activation: ACTIVATIONS[act], inChannels, outChannels, outScale, weights, bias, multiplier, shift });
      return;
    }
    case "QLAT": {
      const channels = r.u16("channels"),
        bits = r.u8("bits");
      const offsets = new Int32Array(channels),
        levels = new Uint16Array(channels),
        steps = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        offsets[c] = r.i32("offset");
        levels[c] = r.u16("levels");
        steps[c] = r.f32("step");
      }
      model.latent = { bits, offsets, levels, steps };
      return;
    }
    case "ENTR":
      model.entropy = r.bytes(r.end - r.pos, "entropy tables");
      return;
    case "PLCY":
      // Parsed and checked by host/build/policy/section.ts (the build, the gateway); kept as bytes here.
      model.policy = r.bytes(r.end - r.pos, "policy");
      return;
    case "META": {
      const text = new TextDecoder().decode(r.bytes(r.end - r.pos, "metadata"));
      try {
        model.meta = JSON.parse(text);
      } catch {
        throw new ModelFormatError(`META section at offset ${at} is not valid JSON`, source);
      }
      return;
    }
    default:
      throw new ModelFormatError(`unknown section tag ${JSON.stringify(tag)} at offset ${at}`, source);
  }
}

/** Checks shapes and ranges; throws ModelFormatError naming the first inconsistency. */
export function validateModel(m: Model, source = "model"): void {
  const fail = (msg: string) => {
    throw new ModelFormatError(msg, source);
  };
  if (m.input.channels !== 1 && m.input.channels !== 3) fail(`input channels must be 1 or 3, got ${m.input.channels}`);
  if (m.input.zeroPoints.length !== m.input.channels || m.input.scales.length !== m.input.channels)
    fail(`input normalisation has ${m.input.zeroPoints.length} zero points for ${m.input.channels} channels`);
  if (m.layers.length === 0) fail("no CONV layers");
  let channels = m.input.channels;
  m.layers.forEach((l, i) => {
    const where = `layer ${i}`;
    if (l.kernel < 1 || l.kernel > 15) fail(`${where}: kernel ${l.kernel} outside 1..15`);
    if (l.stride < 1 || l.stride > l.kernel + 8) fail(`${where}: stride ${l.stride} invalid`);
    if (l.padding >= l.kernel) fail(`${where}: padding ${l.padding} must be smaller than kernel ${l.kernel}`);
    if (l.inChannels !== channels) fail(`${where}: expects ${l.inChannels} input channels but receives ${channels}`);
    if (l.outChannels < 1) fail(`${where}: no output channels`);
    if (l.weights.length !== l.outChannels * l.kernel * l.kernel * l.inChannels)
      fail(`${where}: ${l.weights.length} weights for shape ${l.outChannels}x${l.kernel}x${l.kernel}x${l.inChannels}`);
    for (const [name, arr] of [
      ["bias", l.bias],
      ["multiplier", l.multiplier],
      ["shift", l.shift],
    ] as const)
      if (arr.length !== l.outChannels) fail(`${where}: ${arr.length} ${name} values for ${l.outChannels} channels`);
    for (let c = 0; c < l.outChannels; c++) {
      if (l.multiplier[c] < 0) fail(`${where}: multiplier of channel ${c} is negative (${l.multiplier[c]})`);
      if (l.shift[c] < MIN_SHIFT || l.shift[c] > MAX_SHIFT) fail(`${where}: shift of channel ${c} is ${l.shift[c]}, outside ${MIN_SHIFT}..${MAX_SHIFT}`);
    }
    const last = i === m.layers.length - 1;
    if (last && l.activation !== "latent") fail(`${where}: the last layer must have activation "latent", got "${l.activation}"`);
    if (!last && l.activation === "latent") fail(`${where}: only the last layer may have activation "latent"`);
    channels = l.outChannels;
  });
  const q = m.latent;
  if (q.bits < 1 || q.bits > 8) fail(`latent bits ${q.bits} outside 1..8`);
  if (q.levels.length !== channels) fail(`latent quantizer has ${q.levels.length} channels but the last layer outputs ${channels}`);
  for (let c = 0; c < channels; c++)
    if (q.levels[c] < 2 || q.levels[c] > 1 << q.bits) fail(`latent channel ${c}: ${q.levels[c]} levels do not fit ${q.bits} bits`);
}
