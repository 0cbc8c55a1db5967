// Durability: `tidepool gateway` as a child process, SIGKILLed in the middle of an image and started
// again on the same SQLite file: every acknowledged uplink is still there and the image completes.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { repoPath } from "../../host/core/paths.ts";
import { runCli } from "../helpers/cli.ts";
import { chirpstackUp, photoPackets } from "./packets.ts";
import { waitFor } from "./services.ts";

const dir = mkdtempSync(join(tmpdir(), "tidepool-gw-kill-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the CLI in its own Node (not through bin/, whose wrapper would take the SIGKILL instead). */
function startGatewayProcess(db: string): Promise<{ child: ChildProcess; url: string }> {
  const loader = pathToFileURL(repoPath("node_modules", "tsx", "dist", "loader.mjs")).href;
  const child = spawn(process.execPath, ["--import", loader, repoPath("host", "cli", "main.ts"), "gateway", "--port", "0", "--db", db, "--no-labels"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "",
    err = "";
  child.stderr!.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ child, url: out.slice(0, nl).trim() });
    });
    child.once("exit", (code) => reject(new Error(`gateway exited (${code}) before printing its URL: ${err}`)));
  });
}

describe("tidepool gateway", () => {
  it("refuses to listen beyond loopback without a token, and bad flags, with exit status 2", async () => {
    const open = await runCli(["gateway", "--host", "0.0.0.0", "--db", join(dir, "x.db")]);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/needs an ingest token/);
    const frame = await runCli(["gateway", "--frame", "0101010101010101=big"]);
    expect(frame.code).toBe(2);
    expect(frame.stderr).toMatch(/DEVICE=WIDTHxHEIGHT/);
  });
});

describe("gateway killed mid-image", () => {
  it("loses no acknowledged uplink and completes the image after a restart", async () => {
    const db = join(dir, "gw.db"),
      dev = "70b3d57ed0000021";
    const packets = await photoPackets({ imageId: 11, packetBytes: 51, photo: 4 });
    const order = packets.map((_, i) => i).sort((a, b) => ((a * 7) % packets.length) - ((b * 7) % packets.length)); // shuffled
    const post = (url: string, i: number) =>
      fetch(new URL("/ingest/chirpstack?event=up", url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chirpstackUp(packets[i], { devEui: dev, fCnt: i + 1 })),
      });

    const first = await startGatewayProcess(db);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const acked: number[] = [];
    const cut = Math.floor(order.length * 0.6);
    // The last uplinks go out together and the kill lands while they are in flight: only acknowledged ones count.
    for (const i of order.slice(0, cut - 4)) {
      if ((await post(first.url, i)).status === 200) acked.push(i);
    }
    const inFlight = order.slice(cut - 4, cut).map((i) =>
      post(first.url, i).then(
        (r) => {
          if (r.status === 200) acked.push(i);
        },
        () => {},
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    first.child.kill("SIGKILL");
    await Promise.all(inFlight);
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode ? r(null) : first.child.once("exit", r)));

    const second = await startGatewayProcess(db);
    // 51-B packets are compact (no packet index): the uplink's frame counter (i + 1) says which packet it was.
    const stored = (await (await fetch(new URL(`/api/uplinks?device=${dev}&limit=500`, second.url))).json()) as { fCnt: number }[];
    const storedIdx = new Set(stored.map((u) => u.fCnt - 1));
    for (const i of acked) expect(storedIdx.has(i), `acknowledged packet ${i} was lost`).toBe(true);
    for (const i of order) if (!storedIdx.has(i)) expect((await post(second.url, i)).status).toBe(200);
    const image = await waitFor(
      "the image to complete",
      async () => {
        const [im] = (await (await fetch(new URL(`/api/images?device=${dev}`, second.url))).json()) as any[];
        return im?.complete && im.preview?.packets === packets.length && im;
      },
      60_000,
    );
    expect(image.received).toHaveLength(packets.length);
    expect(image.missing).toEqual([]);
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
  });
});
