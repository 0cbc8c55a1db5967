// The device's status codes and ENTR layout have one definition (assembly/abi.ts); the host mirrors
// them. This reads the device file and checks each mirror value by value, both ways.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEVICE_STATUS, describeDeviceStatus } from "../../host/core/device-status.ts";
import { repoPath } from "../../host/core/paths.ts";
import { ENTR_LAYOUT, serializeTables } from "../../host/wire/bitstream/tables.ts";

function deviceConstants(): Map<string, number> {
  const src = readFileSync(repoPath("assembly", "abi.ts"), "utf8");
  return new Map([...src.matchAll(/^export const (\w+): i32 = (-?(?:0x)?[0-9a-fA-F]+);/gm)].map((m) => [m[1], Number(m[2])]));
}

describe("device ABI mirrors", () => {
  const device = deviceConstants();

  it("every device status code is mirrored on the host with the same value, and no other", () => {
    const deviceCodes = [...device].filter(([n]) => n.startsWith("E_"));
    expect(deviceCodes.length).toBeGreaterThan(10);
    expect(Object.fromEntries(Object.entries(DEVICE_STATUS).map(([n, s]) => [n, s.code]))).toEqual(Object.fromEntries(deviceCodes));
    expect(describeDeviceStatus(-3)).toContain("E_FRAME_TOO_LARGE");
  });

  it("the ENTR layout the device reads is the host's", () => {
    const deviceLayout = Object.fromEntries([...device].filter(([n]) => n.startsWith("ENTR_")));
    expect(deviceLayout).toEqual({ ...ENTR_LAYOUT });
  });

  it("serialised tables carry their fields at those offsets", () => {
    const cum = [Uint16Array.from([0, 16384, 32768])];
    const ch = { levels: 2, classes: 1, classMap: Uint8Array.from([0, 0]), cum: [cum[0], cum[0], cum[0], cum[0]] };
    const bytes = serializeTables({ blockWidth: 2, blockHeight: 3, seed: 0xdeadbeef, channels: [ch, ch] });
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(dv.getUint32(0, true)).toBe(ENTR_LAYOUT.ENTR_MAGIC);
    expect(dv.getUint16(ENTR_LAYOUT.ENTR_CHANNELS_AT, true)).toBe(2);
    expect([bytes[ENTR_LAYOUT.ENTR_BLOCK_WIDTH_AT], bytes[ENTR_LAYOUT.ENTR_BLOCK_HEIGHT_AT]]).toEqual([2, 3]);
    expect(dv.getUint32(ENTR_LAYOUT.ENTR_SEED_AT, true)).toBe(0xdeadbeef);
    const mapAt = dv.getUint32(ENTR_LAYOUT.ENTR_HEADER_BYTES + ENTR_LAYOUT.ENTR_ENTRY_MAP_AT, true);
    expect(mapAt).toBe(ENTR_LAYOUT.ENTR_HEADER_BYTES + 2 * ENTR_LAYOUT.ENTR_ENTRY_BYTES);
  });
});

describe("docs/device-abi.md", () => {
  it("lists every export of a built encoder module", async () => {
    const { buildEncoder } = await import("../../host/build/build.ts");
    const { modelWithTables } = await import("../bitstream/fixtures.ts");
    const built = await buildEncoder({ board: "k210", model: modelWithTables(3).model, width: 32, height: 24, format: "rgb565" });
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(built.wasm as Uint8Array<ArrayBuffer>)).map((e) => e.name);
    const doc = readFileSync(repoPath("docs", "device-abi.md"), "utf8");
    const table = doc.slice(doc.indexOf("## Exports"), doc.indexOf("## Pixel formats"));
    const documented = new Set([...table.matchAll(/`(\w+)(?:\(|`)/g)].map((m) => m[1]));
    expect(exports.filter((e) => !documented.has(e))).toEqual([]);
  });
});
