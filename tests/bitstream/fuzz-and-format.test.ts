import { describe, expect, it } from "vitest";
import { fitEntropyTables } from "../../host/wire/bitstream/fit-tables.ts";
import { fuzzDecoder } from "../../host/receiver/packet-fuzz.ts";
import { packetize } from "../../host/wire/bitstream/packetizer.ts";
import { modelTables, parseTables, serializeTables, TablesError } from "../../host/wire/bitstream/tables.ts";
import { readModel, writeModel } from "../../host/model/format.ts";
import { latentOf, modelWithTables } from "./fixtures.ts";

const { model, tables } = modelWithTables();
const latent = latentOf(model, 21, 160, 120);

describe("decoder fuzzing (a small share; bench/bitstream.bench.ts runs >= 10^5 cases)", () => {
  it("only the typed decode error ever escapes a packet, on every mutation kind", () => {
    for (const P of [12, 64, 222]) {
      const { packets } = packetize(latent, tables, { imageId: 4, packetBytes: P });
      const s = fuzzDecoder(packets, tables, latent, 400, P);
      expect(s.firstEscape).toBeNull();
      expect(s.escaped).toBe(0);
      expect(Object.keys(s.rejected)).toEqual(expect.arrayContaining(["crc", "truncated"]));
    }
  });
});

describe("entropy tables (ENTR payload)", () => {
  it("round-trip through the model file and are checked against the latent quantizer", () => {
    const back = readModel(writeModel(model));
    expect(modelTables(back)).toEqual(tables);
    const other = { ...model, latent: { ...model.latent, levels: model.latent.levels.map((l, c) => (c === 3 ? 8 : l)) as unknown as Uint16Array } };
    expect(() => modelTables(other)).toThrow(/channel 3 has 16 levels, the latent quantizer 8/);
    expect(() => modelTables({ ...model, entropy: null })).toThrow(/fit-tables/);
  });

  it("name what is wrong: magic, version, CRC, truncation, bad frequencies", () => {
    const b = model.entropy!;
    const bad = (f: (x: Uint8Array) => Uint8Array, re: RegExp) => expect(() => parseTables(f(b.slice()))).toThrow(re);
    bad((x) => {
      x[0] = 0x58;
      return x;
    }, /wrong magic/);
    bad((x) => {
      x[4] = 9;
      return x;
    }, /unsupported version 9/);
    bad((x) => {
      x[x.length - 1] ^= 1;
      return x;
    }, /CRC mismatch/);
    bad((x) => x.subarray(0, 10), /truncated/);
    bad((x) => x.subarray(0, 100), /directory of 12 channels needs 164 bytes/);
    bad((x) => x.subarray(0, 400), /CRC mismatch/);
    const t = parseTables(b);
    const broken = {
      ...t,
      channels: t.channels.map((ch, c) =>
        c === 2 ? { ...ch, cum: ch.cum.map((r, k) => (k === 1 ? Uint16Array.from(r, (v, s) => (s === 3 ? r[2] : v)) : r)) } : ch,
      ),
    };
    expect(() => serializeTables(broken)).toThrow(TablesError);
    expect(() => serializeTables(broken)).toThrow(/channel 2 context 1: symbol 2 has frequency 0/);
  });

  it("fitting is deterministic and every symbol keeps a non-zero frequency", () => {
    const lats = [latentOf(model, 31, 96, 64), latentOf(model, 32, 96, 64)];
    const a = fitEntropyTables(lats, model.latent.levels),
      b = fitEntropyTables(lats, model.latent.levels);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    for (const ch of a.tables.channels) for (const row of ch.cum) for (let s = 0; s < ch.levels; s++) expect(row[s + 1] - row[s]).toBeGreaterThanOrEqual(1);
  });
});
