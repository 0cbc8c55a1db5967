// The raw REPL client against scripted boards on a real pseudo-terminal: one that offers raw-paste
// (window flow control) and one that predates it (MicroPython < 1.14 echoes the probe).
import pty from "node-pty";
import { closeSync, constants, openSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { SerialLink } from "../../flash-tools/serial-link.ts";
import { RawRepl, RawReplError } from "../../flash-tools/raw-repl.ts";

type Script = (data: Buffer, send: (s: string | Buffer) => void) => void;
const opened: Array<{ term: any; link: SerialLink; keep: number }> = [];

async function scriptedBoard(script: Script) {
  const term = (pty as unknown as { open(o: object): any }).open({ encoding: null });
  term._slave.setRawMode(true);
  const keep = openSync(term._pty, constants.O_RDWR | constants.O_NOCTTY); // hold the slave without reading it
  term._slave.destroy();
  const send = (s: string | Buffer) => setTimeout(() => term._master.write(typeof s === "string" ? Buffer.from(s, "latin1") : s), 5);
  term._master.on("data", (d: Buffer) => script(d, send));
  term._master.on("error", () => {});
  const link = await SerialLink.open(term._pty, 115200);
  opened.push({ term, link, keep });
  return new RawRepl(link, { enterMs: 2000, execMs: 2000, interCharMs: 2000 });
}

afterEach(async () => {
  for (const { term, link, keep } of opened.splice(0)) {
    await link.close();
    term._master.destroy();
    closeSync(keep);
  }
});

describe("raw REPL client", () => {
  it("uses raw-paste with the board's flow-control window when offered", async () => {
    let code = "",
      state = "idle",
      window = 0;
    const repl = await scriptedBoard((d, send) => {
      for (const b of d) {
        if (state === "idle" && b === 0x01) {
          send("\r\nraw REPL; CTRL-B to exit\r\n>");
          continue;
        }
        if (state === "idle" && b === 0x05) {
          state = "probe";
          continue;
        }
        if (state === "probe") {
          if (b === 0x01) {
            state = "paste";
            window = 8;
            send(Buffer.from([0x52, 0x01, 8, 0, 0x01]));
          }
          continue;
        }
        if (state === "paste") {
          if (b === 0x04) {
            state = "idle";
            send(Buffer.from([0x04]));
            send(`${code.length}\x04\x04>`);
            continue;
          }
          code += String.fromCharCode(b);
          if (--window === 0) {
            window = 8;
            send(Buffer.from([0x01]));
          } // grant another window
        }
      }
    });
    await repl.enter(false);
    const program = "print('a fairly long line that needs several windows')";
    const out = await repl.exec(program);
    expect(repl.rawPaste).toBe(true);
    expect(out).toBe(String(program.length));
  });

  it("falls back to plain raw mode on a board that predates raw-paste", async () => {
    let code = "";
    const repl = await scriptedBoard((d, send) => {
      const s = d.toString("latin1");
      if (s.includes("\x03")) {
        code = "";
        return;
      } // interrupt: nothing to stop
      if (s.includes("\x01") && !s.includes("\x05")) {
        code = "";
        send("\r\nraw REPL; CTRL-B to exit\r\n>");
        return;
      }
      if (s.includes("\x05A\x01")) {
        send("raw REPL; CTRL-B to exit\r\n>");
        return;
      } // old firmware: re-prompts
      code += s;
      if (code.endsWith("\x04")) {
        send(`OK${code.length - 1}\x04\x04>`);
        code = "";
      }
    });
    await repl.enter(false);
    expect(await repl.exec("print(12345)")).toBe("12");
    expect(repl.rawPaste).toBe(false);
  });

  it("names what it got when the board never shows the raw REPL banner", async () => {
    const repl = await scriptedBoard((_d, send) => send("Guru Meditation Error"));
    await expect(repl.enter(false)).rejects.toThrow(RawReplError);
    await expect(repl.enter(false)).rejects.toThrow(/could not enter raw REPL: timed out after 2000 ms; got ".*Guru Meditation/);
  });
});
