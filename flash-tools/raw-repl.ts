// MicroPython raw REPL client, speaking the protocol as mpremote does (transport_serial.py):
// enter with Ctrl-C + Ctrl-A (optionally soft reset with Ctrl-D), exec with the raw-paste probe
// (`\x05A\x01`) and flow control when the board offers it, plain raw mode otherwise.
import type { SerialLink } from "./serial-link.ts";
import { TidepoolError, EXIT_FAILURE } from "../host/core/errors.ts";

export interface ReplTimeouts {
  enterMs: number;
  execMs: number;
  interCharMs: number;
}
// Generous: a slow board (or a virtual one on a busy host) hashing a file must not be mistaken for a dead one.
export const DEFAULT_TIMEOUTS: ReplTimeouts = { enterMs: 30_000, execMs: 30_000, interCharMs: 30_000 };

export class RawReplError extends TidepoolError {
  constructor(m: string) {
    super("raw-repl", m, EXIT_FAILURE);
  }
}
/** The board ran the code and it raised: `stderr` holds the traceback. */
export class RemoteExecError extends TidepoolError {
  constructor(
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super("board-exception", `board raised: ${stderr.trim().split("\n").at(-1)}`, EXIT_FAILURE);
  }
}

const BANNER = "raw REPL; CTRL-B to exit\r\n";

export class RawRepl {
  /** null until probed; then whether the board supports raw-paste. */
  rawPaste: boolean | null = null;
  inRaw = false;

  constructor(
    readonly link: SerialLink,
    readonly timeouts: ReplTimeouts = DEFAULT_TIMEOUTS,
  ) {}

  async enter(softReset = true) {
    await this.link.write("\r\x03");
    await sleep(100);
    await this.link.write("\x03");
    await sleep(100);
    this.link.drain();
    await this.link.write("\r\x01");
    try {
      await this.link.readUntil(BANNER, this.timeouts.enterMs, "could not enter raw REPL");
      if (softReset) {
        await this.link.write("\x04");
        await this.link.readUntil("soft reboot\r\n", this.timeouts.enterMs, "could not enter raw REPL (soft reset)");
        await this.link.readUntil(BANNER, this.timeouts.enterMs, "could not enter raw REPL (after soft reset)");
      }
    } catch (e) {
      throw new RawReplError((e as Error).message);
    }
    this.inRaw = true;
  }

  async exit() {
    await this.link.write("\r\x02");
    this.inRaw = false;
  }

  /** Ctrl-C: interrupts a running script; the board answers with a KeyboardInterrupt traceback. */
  async interrupt() {
    await this.link.write("\x03");
  }

  /** Sends code without waiting for it to finish (the caller follows or talks to it). */
  async execNoFollow(code: string) {
    const data = Buffer.from(code, "utf8");
    await this.link.readUntil(">", this.timeouts.enterMs, "raw REPL prompt");
    if (this.rawPaste !== false) {
      await this.link.write("\x05A\x01");
      const reply = await this.link.readExactly(2, this.timeouts.enterMs, "raw-paste probe");
      if (reply[0] === 0x52 && reply[1] === 0x01) {
        this.rawPaste = true;
        await this.rawPasteWrite(data);
        return;
      }
      if (reply[0] === 0x52 && reply[1] === 0x00) this.rawPaste = false;
      else {
        // Board predates raw-paste (MicroPython < 1.14): it echoed the probe; wait for its prompt again.
        this.rawPaste = false;
        await this.link.readUntil("w REPL; CTRL-B to exit\r\n>", this.timeouts.enterMs, "raw REPL after probe");
      }
    }
    for (let i = 0; i < data.length; i += 256) {
      await this.link.write(data.subarray(i, i + 256));
      await sleep(10);
    }
    await this.link.write("\x04");
    const ok = await this.link.readExactly(2, this.timeouts.execMs, "could not exec command");
    if (ok.toString("latin1") !== "OK") throw new RawReplError(`could not exec command: got ${JSON.stringify(ok.toString("latin1"))}`);
  }

  private async rawPasteWrite(data: Buffer) {
    const win = (await this.link.readExactly(3, this.timeouts.enterMs, "raw-paste window")).readUInt16LE(0);
    let credit = win; // the device sent its window size, then \x01: one window is free at start
    let i = 0;
    while (i < data.length) {
      while (credit === 0) {
        const b = await this.link.readExactly(1, this.timeouts.execMs, "raw-paste flow control");
        if (b[0] === 0x01) credit += win;
        else if (b[0] === 0x04) {
          await this.link.write("\x04");
          throw new RawReplError("board ended raw-paste early");
        }
      }
      const n = Math.min(credit, data.length - i);
      await this.link.write(data.subarray(i, i + n));
      i += n;
      credit -= n;
    }
    await this.link.write("\x04");
    await this.link.readUntil("\x04", this.timeouts.execMs, "raw-paste end");
  }

  /** Reads stdout up to \x04 and stderr up to \x04 (then the prompt). */
  async follow(timeoutMs = this.timeouts.execMs): Promise<{ stdout: string; stderr: string }> {
    const out = await this.link.readUntil("\x04", timeoutMs, "waiting for command output");
    const err = await this.link.readUntil("\x04", timeoutMs, "waiting for command errors");
    return { stdout: out.subarray(0, -1).toString("utf8"), stderr: err.subarray(0, -1).toString("utf8") };
  }

  /** Runs code; returns stdout; throws RemoteExecError with the traceback if it raised. */
  async exec(code: string, timeoutMs = this.timeouts.execMs): Promise<string> {
    await this.execNoFollow(code);
    const { stdout, stderr } = await this.follow(timeoutMs);
    if (stderr) throw new RemoteExecError(stdout, stderr);
    return stdout;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
