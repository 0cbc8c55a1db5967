// The progress display of `tidepool eval`: one redrawn line on a terminal, plain lines elsewhere.
import { describe, expect, it } from "vitest";
import { formatDuration, Progress } from "../../host/cli/progress.ts";

function stream(isTTY: boolean) {
  const s = {
    isTTY,
    columns: 200,
    text: "",
    write(x: string) {
      s.text += x;
      return true;
    },
  };
  return s;
}

describe("eval progress", () => {
  it("prints one plain line per image with an ETA when stderr is not a terminal", () => {
    let t = 0;
    const out = stream(false);
    const p = new Progress(4, out, () => t);
    p.log("tidepool: loading");
    t = 10_000;
    p.image("[1/4] a.png 768x512 (10.0 s)");
    t = 20_000;
    p.image("[2/4] b.png 768x512 (10.0 s)");
    t = 40_000;
    p.image("[3/4] c.png 768x512 (20.0 s)");
    t = 50_000;
    p.image("[4/4] d.png 768x512 (10.0 s)");
    p.finish();
    expect(out.text).toBe(
      [
        "tidepool: loading",
        "[1/4] a.png 768x512 (10.0 s) ETA 30s",
        "[2/4] b.png 768x512 (10.0 s) ETA 20s",
        "[3/4] c.png 768x512 (20.0 s) ETA 13s",
        "[4/4] d.png 768x512 (10.0 s)",
        "",
      ].join("\n"),
    );
    expect(out.text).not.toContain("\r");
  });

  it("redraws one line on a terminal: bar, images done / total, elapsed and ETA; messages go above it", () => {
    let t = 0;
    const out = stream(true);
    const p = new Progress(3, out, () => t);
    t = 5_000;
    p.partial(0.5);
    expect(out.text.split("\r\x1b[K").pop()).toBe("[####--------------------] 0/3 images  5s elapsed, ETA 25s");
    t = 10_000;
    p.image("[1/3] a.png 768x512 (10.0 s)");
    expect(out.text.split("\r\x1b[K").pop()).toBe("[########----------------] 1/3 images  10s elapsed, ETA 20s  last: [1/3] a.png 768x512 (10.0 s)");
    p.log("a warning");
    expect(out.text).toContain("\r\x1b[Ka warning\n");
    t = 30_000;
    p.image("[2/3] b.png");
    p.image("[3/3] c.png");
    p.finish();
    expect(out.text.endsWith("[########################] 3/3 images  done in 30s  last: [3/3] c.png\n")).toBe(true);
    expect(out.text.split("\n").length).toBe(3); // the message, the finished bar, the final newline
  });

  it("keeps the line within the terminal's width", () => {
    const out = stream(true);
    out.columns = 40;
    const p = new Progress(2, out, () => 0);
    p.image(`[1/2] ${"x".repeat(100)}.png`);
    p.finish();
    for (const frame of out.text.replaceAll("\r\x1b[K", "\n").split("\n")) expect(frame.length).toBeLessThan(40);
  });

  it("draws the line when the terminal reports no width (some ptys say 0 columns)", () => {
    const out = stream(true);
    out.columns = 0;
    const p = new Progress(2, out, () => 0);
    p.image("[1/2] a.png");
    expect(out.text.split("\r\x1b[K").pop()).toContain("1/2 images");
    p.finish();
  });

  it("formats durations", () => {
    expect(formatDuration(12.4)).toBe("12s");
    expect(formatDuration(245)).toBe("4m05s");
    expect(formatDuration(3720)).toBe("1h02m");
  });
});
