// `npm start` end to end on one photo: build → gateway → virtual board with a LoRa-E5 → uplinks →
// the gateway decodes → the page and out/…/index.html. Runs the real host/main-job.ts in a child Node.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { repoPath } from "../../host/core/paths.ts";
import { runCommand } from "../helpers/cli.ts";

const out = mkdtempSync(join(tmpdir(), "tidepool-npm-start-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm start", () => {
  it("sends a photo from the virtual board over the simulated LoRaWAN link to the gateway and writes the page", async () => {
    const tsx = repoPath("node_modules", "tsx", "dist", "cli.mjs");
    const r = await runCommand(process.execPath, [tsx, repoPath("host", "main-job.ts")], {
      env: { TIDEPOOL_PHOTOS: "1", TIDEPOOL_OUT: out, TIDEPOOL_LOSS: "none", TIDEPOOL_LINK: "lora-sf9" },
      timeoutMs: 200_000,
    });
    expect(r.code, r.out).toBe(0);
    for (let n = 1; n <= 9; n++) expect(r.stdout).toMatch(new RegExp(`^${n}\\. `, "m"));
    expect(r.stdout).toMatch(/packets = host WASM/);
    expect(r.stdout).toMatch(/2\. gateway http:\/\/127\.0\.0\.1:\d+\//);
    expect(r.stdout).toMatch(/7\. radio: (\d+) uplinks, 0 lost on the air, \1 delivered to the gateway/);
    const page = readFileSync(join(out, "index.html"), "utf8");
    expect(page).toMatch(/acanthus-mollis-camera\.png/);
    if (existsSync(repoPath("models", "decoder.onnx"))) {
      expect(page).toMatch(/acanthus-mollis-decoded\.png/);
      const meta = await sharp(join(out, "acanthus-mollis-decoded.png")).metadata();
      expect([meta.width, meta.height]).toEqual([320, 240]);
    }
  });
});
