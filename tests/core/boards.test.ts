import { describe, expect, it } from "vitest";
import { getBoard, loadBoards, parseBoard, BoardError } from "../../host/core/boards.ts";

describe("boards", () => {
  it("defines the five supported boards, all valid", () => {
    const names = loadBoards().map((b) => b.name);
    expect(names).toEqual(["esp32s3-cam", "gap8", "gap9", "k210", "openmv-h7"]);
    const gap8 = getBoard("gap8");
    expect(gap8.cpu.clockHz).toBe(250_000_000);
    expect(gap8.memory.totalBytes).toBe(512 * 1024);
    expect(gap8.camera).toMatchObject({ sensor: "HM01B0", format: "gray8", width: 324, height: 244 });
    expect(getBoard("k210").camera).toMatchObject({ sensor: "OV2640", format: "rgb565", width: 320, height: 240 });
  });

  it("names the known boards when asked for an unknown one", () => {
    expect(() => getBoard("k211")).toThrow(BoardError);
    expect(() => getBoard("k211")).toThrow('unknown board "k211": known boards are esp32s3-cam, gap8, gap9, k210, openmv-h7');
  });

  it("rejects an invalid definition naming the field", () => {
    const good = structuredClone(getBoard("k210")) as Record<string, any>;
    good.memory.arenaBudgetBytes = -5;
    expect(() => parseBoard(good, "bad.json")).toThrow(/bad\.json: invalid board definition at memory\.arenaBudgetBytes/);
    const bad2 = structuredClone(getBoard("k210")) as Record<string, any>;
    bad2.camera.format = "yuv422";
    expect(() => parseBoard(bad2, "bad.json")).toThrow(/at camera\.format/);
  });
});
