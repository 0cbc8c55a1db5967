// Real services for the gateway tests, started and stopped by the test: Debian's mosquitto broker and
// a throw-away PostgreSQL cluster (initdb + pg_ctl in a temporary directory). Each helper says which
// system binary is missing, so a test can skip with that reason.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

const which = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, "127.0.0.1");
      c.once("connect", () => {
        c.destroy();
        r(true);
      });
      c.once("error", () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- mosquitto ----

export const MOSQUITTO_MISSING =
  which("mosquitto") && which("mosquitto_passwd") ? null : "Debian package mosquitto is not installed (mosquitto, mosquitto_passwd)";

export interface Broker {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** A mosquitto on a free loopback port that only lets `users` in (MQTT 3.1.1 and 5, shared subscriptions). */
export async function startMosquitto(users: Record<string, string>): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), "tidepool-mqtt-"));
  const port = await freePort();
  const pw = join(dir, "passwd");
  writeFileSync(pw, "");
  for (const [u, p] of Object.entries(users)) {
    const r = spawnSync("mosquitto_passwd", ["-b", pw, u, p]);
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
  }
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      `password_file ${pw}`,
      "persistence false",
      "max_queued_messages 1000000",
      `user ${userInfo().username}`,
      "log_dest none",
      "",
    ].join("\n"),
  );
  let child: ChildProcess | null = null;
  const broker: Broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      child = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr!.on("data", (d) => {
        err += d;
      });
      const exited = new Promise<never>((_, reject) => child!.once("exit", (code) => reject(new Error(`mosquitto exited (${code}): ${err}`))));
      await Promise.race([waitForPort(port), exited]);
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((r) => {
        c.once("exit", () => r());
        c.kill("SIGTERM");
      });
      child = null;
    },
    async close() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

// ---- PostgreSQL ----

function pgBin(): string | null {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  for (const v of readdirSync(base).sort().reverse()) if (existsSync(join(base, v, "bin", "initdb"))) return join(base, v, "bin");
  return null;
}

const isRoot = process.getuid?.() === 0;
export const POSTGRES_MISSING = !pgBin()
  ? "Debian package postgresql is not installed (/usr/lib/postgresql/*/bin/initdb)"
  : isRoot && !(which("runuser") && spawnSync("id", ["postgres"]).status === 0)
    ? "running as root, and there is no postgres user or runuser to run initdb as"
    : null;

export interface Postgres {
  url: string;
  close(): Promise<void>;
}

/** A throw-away PostgreSQL cluster on a free loopback port (trust auth, no fsync). */
export async function startPostgres(): Promise<Postgres> {
  const bin = pgBin()!;
  const dir = mkdtempSync(join(tmpdir(), "tidepool-pg-"));
  const port = await freePort();
  // PostgreSQL refuses to run as root: as root, run it as the postgres user.
  if (isRoot) {
    const uid = Number(spawnSync("id", ["-u", "postgres"]).stdout),
      gid = Number(spawnSync("id", ["-g", "postgres"]).stdout);
    chownSync(dir, uid, gid);
  }
  const run = (args: string[]) => {
    const r = isRoot ? spawnSync("runuser", ["-u", "postgres", "--", ...args], { encoding: "utf8" }) : spawnSync(args[0], args.slice(1), { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  };
  run([join(bin, "initdb"), "-D", join(dir, "data"), "-A", "trust", "-U", "tidepool", "--no-sync", "-E", "UTF8"]);
  run([
    join(bin, "pg_ctl"),
    "-D",
    join(dir, "data"),
    "-l",
    join(dir, "log"),
    "-w",
    "-t",
    "30",
    "-o",
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off`,
    "start",
  ]);
  return {
    url: `postgres://tidepool@127.0.0.1:${port}/postgres`,
    async close() {
      try {
        run([join(bin, "pg_ctl"), "-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
