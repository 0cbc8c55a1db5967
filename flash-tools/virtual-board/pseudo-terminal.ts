// A pseudo-terminal pair as plain file descriptors: the board side (master) is read and written with
// Node's own tty/fs streams, the client side (/dev/pts/N) is what serialport, mpremote or screen open.
// openpty(3) comes from node-pty's native binding (the one part of node-pty used: its JavaScript
// wrappers read the slave themselves, which swallowed the first bytes meant for the client).
import { writeSync } from "node:fs";
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

/** Bytes held for a client that does not read (about 90 s of a 115,200-baud line). */
const MAX_QUEUED_BYTES = 1 << 20;

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

  /**
   * Bytes for the client, in order and none lost. The master is non-blocking (libuv's tty handle), so
   * a client that is slow to read (a busy test process) fills the terminal's buffer and a write meets
   * EAGAIN: what did not go stays queued and is retried shortly. (fs.write from the thread pool, used
   * before, dropped those bytes and could reorder chunks, corrupting a bridge frame now and then.)
   */
  write(chunk: Buffer): void {
    if (this.closed) return;
    if (this.queuedBytes + chunk.length > MAX_QUEUED_BYTES) return; // nobody reads: a UART with no listener drops
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (!this.retry) this.drain();
  }

  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private retry: NodeJS.Timeout | null = null;

  private drain() {
    this.retry = null;
    while (this.queue.length && !this.closed) {
      const head = this.queue[0];
      let n: number;
      try {
        n = writeSync(this.masterFd, head);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
          this.retry = setTimeout(() => this.drain(), 2);
          return;
        }
        // EIO and the like: the client side is gone; a board's UART keeps talking into the void.
        this.queue = [];
        this.queuedBytes = 0;
        return;
      }
      this.queuedBytes -= n;
      if (n < head.length) this.queue[0] = head.subarray(n);
      else this.queue.shift();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
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
