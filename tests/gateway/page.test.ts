// The page in a real headless Chromium (Debian's, driven by puppeteer-core): an image appears after
// uplinks are posted, refines as more arrive, and the device table shows the radio figures and labels.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../host/receiver/gateway/gateway.ts";
import { chirpstackUp, photoPackets } from "./packets.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const missing = CHROMIUM ? null : "Debian package chromium is not installed (/usr/bin/chromium)";

describe.skipIf(missing)(missing ? `gateway page (skipped: ${missing})` : "gateway page in Chromium", () => {
  let dir: string, gw: Gateway, browser: Browser;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tidepool-gw-page-"));
    gw = await startGateway({ port: 0, db: join(dir, "gw.db"), minRenderIntervalMs: 0, log: () => {} });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows an image appear and refine as uplinks arrive, with the device's radio figures and top-5 labels", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(gw.url, { waitUntil: "domcontentloaded" });
    await page.waitForFunction(() => document.querySelector("#images")?.textContent?.includes("no images yet"));
    const packets = await photoPackets({ imageId: 4, photo: 5 });
    const dev = "70b3d57ed0000041";
    const post = (i: number) =>
      fetch(new URL("/ingest/chirpstack?event=up", gw.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chirpstackUp(packets[i], { devEui: dev, fCnt: i + 1, rssi: -97, snr: 3.5, sf: 7 })),
      });
    for (const i of [0, 1]) await post(i);
    // The first preview appears (a decoded PNG the browser could load).
    const first = await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>("#images img");
        return img?.complete && img.naturalWidth > 0 && img.getAttribute("src");
      },
      { timeout: 90_000 },
    );
    const firstSrc = await first.jsonValue();
    expect(firstSrc).toMatch(/^\/api\/images\/\d+\/png\?v=\d+$/);
    for (let i = 2; i < packets.length; i++) await post(i);
    const done = `v=${packets.length}`;
    await page.waitForFunction((v) => document.querySelector<HTMLImageElement>("#images img")?.getAttribute("src")?.endsWith(v), { timeout: 90_000 }, done);
    await page.waitForFunction(() => document.querySelectorAll("#images .labels li").length === 5, { timeout: 90_000 });
    const { w, h } = await page.$eval("#images img", (img) => ({ w: (img as HTMLImageElement).naturalWidth, h: (img as HTMLImageElement).naturalHeight }));
    expect([w, h]).toEqual([320, 240]);
    const card = await page.$eval("#images .card", (el) => el.textContent ?? "");
    expect(card).toContain(`${packets.length} packets received`);
    expect(card).toContain("100.0 % of symbols");
    const row = await page.$eval(`tr[data-device="${dev}"]`, (el) => el.textContent ?? "");
    expect(row).toMatch(/-97 dBm \/ 3\.5 dB \/ SF7/);
    expect(row).toMatch(/\d+\.\d\d s \/ 30 s/);
    expect(errors).toEqual([]);
  });
});
