// The split head on the device (assembly/head.ts, built WASM) equals the whole-frame TypeScript
// reference bit for bit, on random MobileNetV2-like heads, every pixel format and odd frame sizes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoPath } from "../../host/core/paths.ts";
import { buildHead } from "../../host/build/head-build.ts";
import { HeadInstance } from "../../host/build/runtime/head-instance.ts";
import { referenceHead } from "../../host/build/reference/head.ts";
import { randomHead, type HeadSpec } from "../../host/model/random-head.ts";
import { headRingRows } from "../../host/build/memory-map/head-rings.ts";
import { PIXEL_FORMATS } from "../../host/core/pixel-format.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import type { HeadModel } from "../../host/core/head-types.ts";

function expectSame(head: HeadModel, dev: HeadInstance, w: number, h: number, format: (typeof PIXEL_FORMATS)[number], seed: number) {
  const frame = packFrame(randomRgb(seed, w, h), w, h, format);
  const got = dev.run(frame, w, h, format);
  const want = referenceHead(head, frame, w, h, format).at(-1)!;
  expect([got.width, got.height, got.channels]).toEqual([want.width, want.height, want.channels]);
  expect(
    got.data.findIndex((v, i) => v !== want.data[i]),
    "first mismatching element",
  ).toBe(-1);
  return want;
}

/** Skip branch far behind the main one: two stride-1 5x5 convs before the add. */
const LONG_SKIP: HeadSpec[] = [
  { op: "conv", kernel: 3, stride: 1, padding: 1, outChannels: 5, relu6: true },
  { op: "conv", kernel: 5, stride: 1, padding: 2, outChannels: 5, depthwise: true },
  { op: "conv", kernel: 5, stride: 1, padding: 2, outChannels: 5, relu6: true },
  { op: "add", inputs: [1, 3] },
  { op: "conv", kernel: 2, stride: 2, padding: 0, outChannels: 4 },
];

describe("split head: WASM equals the TypeScript reference", () => {
  for (const format of PIXEL_FORMATS)
    it(`MobileNetV2-like head (conv, depthwise s1/s2, pointwise, residual adds), ${format}`, async () => {
      const head = randomHead({ seed: 3 + format.length });
      const dev = await HeadInstance.load((await buildHead({ board: "k210", head, width: 45, height: 37, format })).wasm);
      for (const [w, h, seed] of [
        [45, 37, 1],
        [31, 23, 2],
        [17, 9, 3],
        [8, 8, 4],
      ] as const) {
        const out = expectSame(head, dev, w, h, format, seed);
        const distinct = new Set(out.data).size;
        expect(distinct, "the split tensor is not degenerate").toBeGreaterThan(10);
      }
    });

  it("a skip branch held far behind the main branch, and a grey 1-channel head", async () => {
    for (const [head, format] of [
      [randomHead({ seed: 11, specs: LONG_SKIP }), "rgb888"],
      [randomHead({ seed: 12, inputChannels: 1 }), "rgb565"],
    ] as const) {
      const dev = await HeadInstance.load((await buildHead({ board: "k210", head, width: 29, height: 33, format })).wasm);
      for (const [w, h, seed] of [
        [29, 33, 5],
        [13, 19, 6],
      ] as const)
        expectSame(head, dev, w, h, format, seed);
    }
  });

  it("a streamed split tensor (only the rows one camera row releases) gives the same tensor in a smaller arena", async () => {
    const head = randomHead({ seed: 21 });
    const whole = await buildHead({ board: "k210", head, width: 45, height: 37, format: "rgb565" });
    const streamed = await buildHead({ board: "k210", head, width: 45, height: 37, format: "rgb565", streamOutput: true });
    const rows = streamed.map.ringRows.at(-1)!;
    expect(rows).toBeLessThan(whole.map.ringRows.at(-1)!);
    expect(streamed.map.arenaBytes).toBeLessThan(whole.map.arenaBytes);
    const dev = await HeadInstance.load(streamed.wasm);
    for (const [w, h, seed] of [
      [45, 37, 7],
      [21, 30, 8],
    ] as const)
      expectSame(head, dev, w, h, "rgb565", seed);
  });

  it("rings hold only the rows the schedule needs; the add's skip ring covers the lag", () => {
    const rows = headRingRows(randomHead({ seed: 11, specs: LONG_SKIP }), 29, 33);
    // input feeds a 3x3: 3 rows; tensor 1 feeds a 5x5 (5 rows) and the add, which lags by 2 + 2 rows.
    expect(rows[0]).toBe(3);
    expect(rows[1]).toBeGreaterThanOrEqual(5);
    expect(rows[1]).toBeLessThan(33);
    expect(rows.at(-1)).toBe(16); // the split tensor is whole
  });

  it("docs/device-abi.md lists every export of a built split-head module", async () => {
    const built = await buildHead({ board: "k210", head: randomHead({ seed: 2 }), width: 20, height: 20, format: "gray8" });
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(built.wasm as Uint8Array<ArrayBuffer>)).map((e) => e.name);
    const section = readFileSync(repoPath("docs", "device-abi.md"), "utf8").split("## Split-head module")[1];
    const documented = new Set([...section.matchAll(/`(\w+)(?:\(|`)/g)].map((m) => m[1]));
    expect(exports.filter((e) => !documented.has(e))).toEqual([]);
  });

  it("refuses frames the plan was not made for", async () => {
    const head = randomHead({ seed: 2 });
    const dev = await HeadInstance.load((await buildHead({ board: "k210", head, width: 20, height: 20, format: "gray8" })).wasm);
    expect(() => dev.run(new Uint8Array(21 * 20), 21, 20, "gray8")).toThrow(/E_FRAME_TOO_LARGE/);
  });
});
