// A pseudo-terminal pair as plain file descriptors: the board side (master) is read and written with
// Node's own tty/fs streams, the client side (/dev/pts/N) is what serialport, mpremote or screen open.
// openpty(3) comes from node-pty's native binding (the one part of node-pty used: its JavaScript
// wrappers read the slave themselves, which swallowed the first bytes meant for the client).
import { write } from "node:fs";
import { createRequire } from "node:module";
import tty from "node:tty";

interface OpenPty {
  master: number;
  slave: number;
  pty: string;
}
type NativePty = { open(cols: number, rows: number): OpenPty };

function nativeOpenPty(): OpenPty {
  const require = createRequire(import.meta.url);
  const { loadNativeModule } = require("node-pty/lib/utils.js") as { loadNativeModule(name: string): { module: NativePty } };
  return loadNativeModule("pty").module.open(80, 24);
}

export class PseudoTerminal {
  /** The client's device path, e.g. /dev/pts/3. */
  readonly path: string;
  private readonly master: tty.ReadStream;
  private readonly slave: tty.ReadStream;
  private readonly masterFd: number;
  private closed = false;

  constructor(onData: (d: Buffer) => void) {
    const { master, slave, pty } = nativeOpenPty();
    this.path = pty;
    this.masterFd = master;
    // The slave is held open (so the master survives clients coming and going) but never read:
    // tty.ReadStream starts paused. Raw mode: no echo, no line editing, bytes pass as they are.
    this.slave = new tty.ReadStream(slave);
    this.slave.setRawMode(true);
    this.master = new tty.ReadStream(master);
    this.master.on("data", onData);
    this.master.on("error", () => {}); // EIO when the client closes its side
  }

  write(chunk: Buffer): void {
    if (this.closed) return;
    write(this.masterFd, chunk, () => {}); // a closed client is not an error for the board
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.master.destroy();
    } catch {
      /* already closed */
    }
    try {
      this.slave.destroy();
    } catch {
      /* already closed */
    }
  }
}
