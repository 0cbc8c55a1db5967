import { describe, expect, it } from "vitest";
import { airtimeS, fairUseShareS, imageAirtimeS, imagesPerDay, linkBudget, loraRadio, type LinkState } from "../../host/wire/link/budget.ts";
import { LINK_PRESETS } from "../../host/wire/link/presets.ts";

const state = (over: Partial<LinkState> = {}): LinkState => ({
  radio: loraRadio(7),
  deadlineS: 3600,
  offTimeS: 0,
  fairUseS: 30,
  usedTodayS: 0,
  secondsLeftToday: 86400,
  ...over,
});

describe("link and deadline budget", () => {
  it("matches the link presets' airtime and the issue's figures (1.2 kB: ~2 s at SF7, ~17 s at SF10)", () => {
    for (const sf of [7, 9, 12]) expect(airtimeS(loraRadio(sf), 40)).toBeCloseTo(LINK_PRESETS[`lora-sf${sf}`].airtime(40), 9);
    expect(imageAirtimeS(loraRadio(7), 1200)).toBeGreaterThan(1.8);
    expect(imageAirtimeS(loraRadio(7), 1200)).toBeLessThan(2.4);
    expect(imageAirtimeS(loraRadio(10), 1200)).toBeGreaterThan(15);
    expect(imageAirtimeS(loraRadio(10), 1200)).toBeLessThan(19);
    expect(imagesPerDay(loraRadio(7), 1200)).toBeCloseTo(30 / imageAirtimeS(loraRadio(7), 1200), 9);
  });

  it("spreads today's fair use over the images still to come", () => {
    expect(fairUseShareS(state())).toBeCloseTo(30 / 24, 9);
    expect(fairUseShareS(state({ usedTodayS: 29, secondsLeftToday: 3600 }))).toBeCloseTo(1, 9);
    expect(linkBudget(state({ usedTodayS: 30 })).bytes).toBe(0);
  });

  it("is limited by the fair-use share, then by the deadline, with a partial last packet", () => {
    const fair = linkBudget(state());
    expect(fair.limitedBy).toBe("fair-use");
    expect(fair.airtimeS).toBeLessThanOrEqual(30 / 24 + 1e-9);
    expect(fair.bytes).toBeGreaterThan(2 * 222);
    // A 2-minute deadline at SF12 with 1 % duty cycle: one 51-byte packet per ~280 s, so just one fits.
    const dl = linkBudget(state({ radio: loraRadio(12), deadlineS: 120, fairUseS: 1e9 }));
    expect(dl).toMatchObject({ packets: 1, bytes: 51, limitedBy: "deadline" });
    // The duty-cycle off-time left from the last packet leaves 0.5 s: not even a 12-byte packet (1.2 s at SF12) fits.
    expect(linkBudget(state({ radio: loraRadio(12), deadlineS: 120, offTimeS: 119.5, fairUseS: 1e9 })).bytes).toBe(0);
    // Without a fair-use limit: every full packet that ends by the deadline (+ a shorter one if it still fits).
    const free = linkBudget(state({ deadlineS: 3600, fairUseS: 1e9 }));
    const a = airtimeS(loraRadio(7), 222),
      full = Math.floor((3600 - a) / (a / 0.01)) + 1;
    expect(free.bytes - 222 * full).toBeGreaterThanOrEqual(0);
    expect(free.bytes - 222 * full).toBeLessThan(222);
    expect(free.packets - full).toBe(free.bytes > 222 * full ? 1 : 0);
  });

  it("rejects a bad link state naming the fields", () => {
    expect(() => linkBudget(state({ deadlineS: 0 }))).toThrow(/deadline 0 s/);
    expect(() => linkBudget(state({ radio: { ...loraRadio(7), payloadBytes: 5 } }))).toThrow(/payload 5 B/);
  });
});
