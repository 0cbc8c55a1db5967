// A serial port (the real `serialport` package) wrapped as a byte queue with timed reads.
import { SerialPort } from "serialport";
import { TidepoolError, EXIT_FAILURE } from "../host/core/errors.ts";

export class LinkTimeoutError extends TidepoolError {
  constructor(m: string) {
    super("serial-timeout", m, EXIT_FAILURE);
  }
}

export class SerialLink {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private listeners: Array<(d: Buffer) => void> = [];
  closed = false;

  private constructor(
    readonly port: SerialPort,
    readonly path: string,
  ) {
    port.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const l of this.listeners) l(d);
      this.wake();
    });
    port.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(path: string, baudRate = 115200): Promise<SerialLink> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate, autoOpen: false });
      port.open((err) => (err ? reject(new Error(`cannot open serial port ${path}: ${err.message}`)) : resolve(new SerialLink(port, path))));
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  onData(fn: (d: Buffer) => void) {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== fn);
    };
  }

  write(data: Uint8Array | string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`serial port ${this.path} is closed`));
    return new Promise((resolve, reject) => {
      this.port.write(typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data), (err) =>
        err ? reject(err) : this.port.drain((e) => (e ? reject(e) : resolve())),
      );
    });
  }

  /** Discards what has arrived so far. */
  drain(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }

  /** Discards everything up to and including the last `byte` received so far (e.g. a frame delimiter). */
  discardThroughLast(byte: number) {
    const i = this.buf.lastIndexOf(byte);
    if (i >= 0) this.buf = this.buf.subarray(i + 1);
  }

  /** Waits until `ending` has arrived; returns everything up to and including it. */
  async readUntil(ending: string | Uint8Array, timeoutMs: number, what: string): Promise<Buffer> {
    const end = typeof ending === "string" ? Buffer.from(ending, "latin1") : Buffer.from(ending);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf(end);
      if (i >= 0) {
        const out = this.buf.subarray(0, i + end.length);
        this.buf = this.buf.subarray(i + end.length);
        return Buffer.from(out);
      }
      if (this.closed) throw new LinkTimeoutError(`${what}: port closed; got ${JSON.stringify(this.buf.toString("latin1").slice(-80))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new LinkTimeoutError(`${what}: timed out after ${timeoutMs} ms; got ${JSON.stringify(this.buf.toString("latin1").slice(-80))}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  async readExactly(n: number, timeoutMs: number, what: string): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw new LinkTimeoutError(`${what}: port closed`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new LinkTimeoutError(`${what}: timed out after ${timeoutMs} ms waiting for ${n} bytes; got ${JSON.stringify(this.buf.toString("latin1"))}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  close(): Promise<void> {
    if (this.closed || !this.port.isOpen) {
      this.closed = true;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.port.close(() => {
        this.closed = true;
        resolve();
      }),
    );
  }
}
