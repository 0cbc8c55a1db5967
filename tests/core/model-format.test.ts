import { describe, expect, it } from "vitest";
import { readModel, writeModel, ModelFormatError, MODEL_VERSION } from "../../host/model/format.ts";
import { crc32 } from "../../host/core/crc32.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { macs, parameterCount } from "../../host/model/geometry.ts";

function withFixedCrc(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out, 0, out.length - 4), true);
  return out;
}

describe("model file", () => {
  it("round-trips every field", () => {
    const m = randomModel({ seed: 7 });
    m.entropy = new Uint8Array([1, 2, 3, 250]);
    const back = readModel(writeModel(m));
    expect(back.input).toEqual(m.input);
    expect(back.layers.length).toBe(2);
    back.layers.forEach((l, i) => {
      const o = m.layers[i];
      expect([l.kernel, l.stride, l.padding, l.activation, l.inChannels, l.outChannels]).toEqual([
        o.kernel,
        o.stride,
        o.padding,
        o.activation,
        o.inChannels,
        o.outChannels,
      ]);
      expect(Array.from(l.weights)).toEqual(Array.from(o.weights));
      expect(Array.from(l.bias)).toEqual(Array.from(o.bias));
      expect(Array.from(l.multiplier)).toEqual(Array.from(o.multiplier));
      expect(Array.from(l.shift)).toEqual(Array.from(o.shift));
    });
    expect(Array.from(back.latent.levels)).toEqual(Array.from(m.latent.levels));
    expect(Array.from(back.latent.offsets)).toEqual(Array.from(m.latent.offsets));
    expect(Array.from(back.entropy!)).toEqual([1, 2, 3, 250]);
    expect(back.meta).toEqual(m.meta);
  });

  it("is deterministic for a seed and differs across seeds", () => {
    expect(writeModel(randomModel({ seed: 3 }))).toEqual(writeModel(randomModel({ seed: 3 })));
    expect(writeModel(randomModel({ seed: 3 }))).not.toEqual(writeModel(randomModel({ seed: 4 })));
  });

  it("default architecture stays within the MCU budget at 224x224", () => {
    const m = randomModel();
    expect(parameterCount(m)).toBeLessThanOrEqual(15_000);
    expect(macs(m, 224, 224)).toBeLessThanOrEqual(20_000_000);
  });

  it("rejects a wrong magic", () => {
    const b = writeModel(randomModel());
    b[0] = 0x50;
    expect(() => readModel(b, "x.tpm")).toThrow(/x\.tpm: wrong magic "PPMD" at offset 0/);
  });

  it("rejects a wrong version", () => {
    const b = writeModel(randomModel());
    b[4] = MODEL_VERSION + 1;
    expect(() => readModel(b)).toThrow(/unsupported version 2 at offset 4/);
  });

  it("rejects truncation at every length with a typed error", () => {
    const b = writeModel(randomModel());
    for (let n = 0; n < b.length; n += 97) {
      expect(() => readModel(b.subarray(0, n))).toThrow(ModelFormatError);
    }
    expect(() => readModel(b.subarray(0, 500))).toThrow(/truncated/);
  });

  it("rejects a corrupted byte through the CRC", () => {
    const b = writeModel(randomModel());
    b[300] ^= 0x10;
    expect(() => readModel(b)).toThrow(/CRC mismatch/);
  });

  it("rejects inconsistent shapes naming the layer", () => {
    const m = randomModel();
    m.layers[1].inChannels = 8;
    m.layers[1].weights = new Int8Array(12 * 3 * 3 * 8);
    expect(() => writeModel(m)).toThrow(/layer 1: expects 8 input channels but receives 16/);
    const m2 = randomModel();
    m2.latent.levels = new Uint16Array(5).fill(16);
    m2.latent.offsets = new Int32Array(5);
    m2.latent.steps = new Float32Array(5);
    expect(() => writeModel(m2)).toThrow(/latent quantizer has 5 channels but the last layer outputs 12/);
    const m3 = randomModel();
    m3.layers[0].shift[2] = 3;
    expect(() => writeModel(m3)).toThrow(/layer 0: shift of channel 2 is 3/);
  });

  it("detects a shape that disagrees with a section's length even with a valid CRC", () => {
    const b = writeModel(randomModel());
    // INPT starts at 8: tag(4) len(4) channels(1). Claim 1 channel: the section has stray bytes.
    b[16] = 1;
    expect(() => readModel(withFixedCrc(b))).toThrow(/section INPT at offset 8: 10 unexpected trailing bytes/);
  });
});
