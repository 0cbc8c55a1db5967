// Minimal reading and patching of the WebAssembly binary format: enough to append the arena's
// initialised data segment at a fixed offset and to read the memory limits. Everything else about
// a module is inspected with binaryen / wabt.
import { TidepoolError } from "./errors.ts";

export class WasmFormatError extends TidepoolError {
  constructor(m: string) {
    super("wasm-format", m);
  }
}

interface Section {
  id: number;
  start: number;
  payloadStart: number;
  end: number;
}

function readU32(b: Uint8Array, pos: number): [number, number] {
  let result = 0,
    shift = 0,
    byte: number;
  do {
    if (pos >= b.length) throw new WasmFormatError("truncated LEB128");
    byte = b[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, pos];
}

function u32leb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

function s32leb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(byte & 0x40)) || (v === -1 && byte & 0x40)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function sections(b: Uint8Array): Section[] {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) throw new WasmFormatError("not a WebAssembly module (bad magic)");
  const list: Section[] = [];
  let pos = 8;
  while (pos < b.length) {
    const id = b[pos];
    const [size, p] = readU32(b, pos + 1);
    list.push({ id, start: pos, payloadStart: p, end: p + size });
    pos = p + size;
  }
  return list;
}

/** Appends an active data segment (memory 0) holding `data` at `offset`; keeps existing segments. */
export function appendDataSegment(wasm: Uint8Array, offset: number, data: Uint8Array): Uint8Array {
  const secs = sections(wasm);
  const segment = [0x00, 0x41, ...s32leb(offset), 0x0b, ...u32leb(data.length)];
  const parts: Uint8Array[] = [];
  let cursor = 0;
  const data11 = secs.find((s) => s.id === 11);
  let newDataSection: Uint8Array;
  let existingCount = 0;
  let existingBody: Uint8Array = new Uint8Array(0);
  if (data11) {
    const [count, p] = readU32(wasm, data11.payloadStart);
    existingCount = count;
    existingBody = wasm.subarray(p, data11.end);
  }
  const payload = concat([new Uint8Array(u32leb(existingCount + 1)), existingBody, new Uint8Array(segment), data]);
  newDataSection = concat([new Uint8Array([11, ...u32leb(payload.length)]), payload]);
  // Data count section (id 12) must agree when present.
  const dc = secs.find((s) => s.id === 12);
  for (const s of secs) {
    if (s === data11 || s === dc) {
      parts.push(wasm.subarray(cursor, s.start));
      cursor = s.end;
      if (s === dc) {
        const body = u32leb(existingCount + 1);
        parts.push(new Uint8Array([12, ...u32leb(body.length), ...body]));
      }
      if (s === data11) parts.push(newDataSection);
    }
  }
  parts.push(wasm.subarray(cursor));
  if (!data11) {
    // Insert after the code section (id 10), where the data section belongs.
    const all = concat(parts);
    const code = sections(all).find((s) => s.id === 10);
    const at = code ? code.end : all.length;
    return concat([all.subarray(0, at), newDataSection, all.subarray(at)]);
  }
  return concat(parts);
}

function readS32(b: Uint8Array, pos: number): [number, number] {
  let result = 0,
    shift = 0,
    byte: number;
  do {
    if (pos >= b.length) throw new WasmFormatError("truncated LEB128");
    byte = b[pos++];
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  if (shift < 32 && byte & 0x40) result |= -1 << shift;
  return [result, pos];
}

/** Active data segments with a constant offset: [offset, length]; passive segments are skipped. */
export function dataSegments(wasm: Uint8Array): Array<{ offset: number; length: number }> {
  const sec = sections(wasm).find((s) => s.id === 11);
  if (!sec) return [];
  let [count, p] = readU32(wasm, sec.payloadStart);
  const out: Array<{ offset: number; length: number }> = [];
  for (let i = 0; i < count; i++) {
    const flags = wasm[p++];
    let offset = -1;
    if (flags === 0 || flags === 2) {
      if (flags === 2) [, p] = readU32(wasm, p); // memory index
      if (wasm[p] !== 0x41) throw new WasmFormatError(`data segment ${i}: offset is not an i32.const`);
      [offset, p] = readS32(wasm, p + 1);
      if (wasm[p++] !== 0x0b) throw new WasmFormatError(`data segment ${i}: offset expression not terminated`);
    }
    const [len, q] = readU32(wasm, p);
    p = q + len;
    if (offset >= 0) out.push({ offset, length: len });
  }
  return out;
}

/** Names of the module's defined functions, in definition order: from the name section when present, else `func<index>`. */
export function definedFunctionNames(wasm: Uint8Array): string[] {
  return functionNames(wasm).names;
}

/** The module without its "name" custom section (the code and every other section byte for byte). */
export function stripNameSection(wasm: Uint8Array): Uint8Array {
  const keep = sections(wasm).filter((s) => {
    if (s.id !== 0) return true;
    const [n, p] = readU32(wasm, s.payloadStart);
    return new TextDecoder().decode(wasm.subarray(p, p + n)) !== "name";
  });
  return concat([wasm.subarray(0, 8), ...keep.map((s) => wasm.subarray(s.start, s.end))]);
}

/** Function index (imports counted first, as calls and wasm2c's `w2c_f<index>` number them) of each named defined function. */
export function functionIndexByName(wasm: Uint8Array): Map<string, number> {
  const { names, imported } = functionNames(wasm);
  return new Map(names.map((n, k) => [n, imported + k]));
}

function functionNames(wasm: Uint8Array): { names: string[]; imported: number } {
  const secs = sections(wasm);
  let imported = 0;
  const imp = secs.find((s) => s.id === 2);
  if (imp) {
    let [count, p] = readU32(wasm, imp.payloadStart);
    for (let i = 0; i < count; i++) {
      let n: number;
      [n, p] = readU32(wasm, p);
      p += n; // module
      [n, p] = readU32(wasm, p);
      p += n; // field
      const kind = wasm[p++];
      if (kind === 0) {
        imported++;
        [, p] = readU32(wasm, p);
      } else if (kind === 1) {
        p++;
        const f = wasm[p++];
        [, p] = readU32(wasm, p);
        if (f & 1) [, p] = readU32(wasm, p);
      } else if (kind === 2) {
        const f = wasm[p++];
        [, p] = readU32(wasm, p);
        if (f & 1) [, p] = readU32(wasm, p);
      } else if (kind === 3) {
        p += 2;
      } else throw new WasmFormatError(`unknown import kind ${kind}`);
    }
  }
  const fsec = secs.find((s) => s.id === 3);
  const defined = fsec ? readU32(wasm, fsec.payloadStart)[0] : 0;
  const names = new Map<number, string>();
  for (const s of secs.filter((x) => x.id === 0)) {
    let [n, p] = readU32(wasm, s.payloadStart);
    if (new TextDecoder().decode(wasm.subarray(p, p + n)) !== "name") continue;
    p += n;
    while (p < s.end) {
      const sub = wasm[p++];
      const [size, q] = readU32(wasm, p);
      if (sub === 1) {
        let [count, r] = readU32(wasm, q);
        for (let i = 0; i < count; i++) {
          let idx: number, len: number;
          [idx, r] = readU32(wasm, r);
          [len, r] = readU32(wasm, r);
          names.set(idx, new TextDecoder().decode(wasm.subarray(r, r + len)));
          r += len;
        }
      }
      p = q + size;
    }
  }
  return { names: Array.from({ length: defined }, (_, k) => names.get(imported + k) ?? `func${imported + k}`), imported };
}

/** Memory limits of the module's own (defined) memory, in 64 KiB pages. */
export function memoryLimits(wasm: Uint8Array): { initial: number; maximum: number | null } | null {
  const mem = sections(wasm).find((s) => s.id === 5);
  if (!mem) return null;
  let [count, p] = readU32(wasm, mem.payloadStart);
  if (count < 1) return null;
  const flags = wasm[p++];
  const [initial, p2] = readU32(wasm, p);
  if (flags & 1) {
    const [maximum] = readU32(wasm, p2);
    return { initial, maximum };
  }
  return { initial, maximum: null };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}
