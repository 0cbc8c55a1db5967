// A virtual board: real MicroPython (npm WebAssembly port, in a worker) behind a real
// pseudo-terminal. Any raw-REPL client (mpremote, `serialport`) opens its /dev/pts/N like a USB
// board. The line is paced at the configured baud (10 bits a byte, like a USB-UART); the board's
// arena limit is enforced on the WASM runtime it gives MicroPython; a camera serves frames from a folder.
import { Worker } from "node:worker_threads";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { PseudoTerminal } from "./pseudo-terminal.ts";
import type { Board } from "../../host/core/boards.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { FORMAT_CODE } from "../../host/core/pixel-format.ts";
import { VirtualModem, type VirtualModemOptions } from "./virtual-modem.ts";

export interface VirtualBoardOptions {
  board: Board;
  baud?: number;
  /** Folder of images the emulated camera serves (resized to the board's camera frame). */
  cameraDir?: string;
  /** Or an explicit list of image files for the camera. */
  cameraImages?: string[];
  /** Files on the board's /flash at power-on. */
  files?: Record<string, Uint8Array>;
  /** Print every line byte to stderr (debugging). */
  trace?: boolean;
  /** A LoRaWAN modem (Seeed LoRa-E5 AT commands) on the board's UART, delivering uplinks to a network-server URL. */
  modem?: VirtualModemOptions | VirtualModem;
}

interface CameraFrame {
  width: number;
  height: number;
  format: number;
  data: Uint8Array;
}

export class VirtualBoard {
  readonly path: string;
  private term: PseudoTerminal;
  private worker!: Worker;
  private busy = false;
  private bridgeMode = false;
  private inbox: number[] = [];
  private outbox: number[] = [];
  private files: Record<string, Uint8Array>;
  private timers: NodeJS.Timeout[] = [];
  private busySince = 0;
  private closed = false;
  private probe: number[] = [];
  private readyResolve: (() => void) | null = null;
  private rawMode = false;
  /** Answers to the worker's synchronous requests (the modem's UART): i32 state, i32 length, bytes. */
  private readonly syncBuffer = new SharedArrayBuffer(8 + 65536);
  readonly modem: VirtualModem | null;
  restarts = 0;

  private constructor(
    readonly opts: Required<Pick<VirtualBoardOptions, "board" | "baud">> & VirtualBoardOptions,
    private camera: CameraFrame[],
  ) {
    this.files = { ...(opts.files ?? {}) };
    this.modem = opts.modem ? (opts.modem instanceof VirtualModem ? opts.modem : new VirtualModem(opts.modem)) : null;
    this.term = new PseudoTerminal((d) => this.receive(d));
    this.path = this.term.path;
  }

  static async start(opts: VirtualBoardOptions): Promise<VirtualBoard> {
    const camera: CameraFrame[] = [];
    const images =
      opts.cameraImages ??
      (opts.cameraDir
        ? readdirSync(opts.cameraDir)
            .filter((x) => /\.(png|jpe?g|webp)$/i.test(x))
            .sort()
            .map((f) => join(opts.cameraDir!, f))
        : []);
    {
      const { width, height, format } = opts.board.camera;
      for (const path of images) {
        const img = await loadRgb(path, { width, height });
        camera.push({ width, height, format: FORMAT_CODE[format], data: toFrame(img, format) });
      }
    }
    const vb = new VirtualBoard({ baud: 115200, ...opts }, camera);
    await vb.boot(false);
    // Pace the line: every tick, move baud/10 bytes per second each way.
    const tickMs = 5;
    vb.timers.push(setInterval(() => vb.pump(tickMs), tickMs));
    return vb;
  }

  private boot(rawMode: boolean): Promise<void> {
    const heapBytes = Math.min(this.opts.board.memory.totalBytes, 1 << 20);
    this.worker = new Worker(new URL("./micropython-worker.mjs", import.meta.url), {
      workerData: {
        files: this.files,
        cameraFrames: this.camera,
        arenaLimitBytes: this.opts.board.memory.arenaBudgetBytes,
        heapBytes,
        rawMode,
        syncBuffer: this.syncBuffer,
        modem: this.modem ? "lora-e5" : null,
      },
    });
    this.worker.on("message", (m) => this.fromWorker(m));
    this.worker.on("error", (e) => {
      if (!this.closed) process.stderr.write(`virtual board: MicroPython worker failed: ${e.message}\n`);
    });
    this.busy = true;
    return new Promise((resolve) => {
      this.readyResolve = resolve;
    });
  }

  private fromWorker(m: any) {
    if (m.type === "sync") {
      this.answerSync(m.request);
      return;
    }
    if (m.type === "ready") {
      this.busy = false;
      this.readyResolve?.();
      this.readyResolve = null;
      this.feedWorker();
      return;
    }
    if (m.type === "out") {
      for (const b of m.data) this.outbox.push(b);
      return;
    }
    if (m.type === "done") {
      this.busy = false;
      this.bridgeMode = m.bridge;
      this.files = m.fs;
      this.feedWorker();
    }
  }

  /** The worker blocks until this answer is in the shared buffer (its UART call is synchronous in MicroPython). */
  private answerSync(req: { op: string; text?: string; ms?: number }) {
    let answer = "";
    try {
      if (!this.modem)
        answer = "+AT: ERROR(-10)\r\n"; // no modem: the UART is silent but for errors
      else if (req.op === "modem") answer = this.modem.input(req.text ?? "");
      else if (req.op === "sleep") this.modem.sleep(req.ms ?? 0);
    } catch (e) {
      answer = `+AT: ERROR(-1) ${(e as Error).message}\r\n`;
    }
    const bytes = new TextEncoder().encode(answer).subarray(0, this.syncBuffer.byteLength - 8);
    new Uint8Array(this.syncBuffer, 8).set(bytes);
    const head = new Int32Array(this.syncBuffer, 0, 2);
    Atomics.store(head, 1, bytes.length);
    Atomics.store(head, 0, 1);
    Atomics.notify(head, 0);
  }

  /** Bytes from the client: held in the inbox, released at line rate by pump(). */
  private receive(d: Buffer) {
    if (this.opts.trace) process.stderr.write(`vb< ${JSON.stringify(d.toString("latin1"))}\n`);
    for (const b of d) this.inbox.push(b);
  }

  private released: number[] = [];
  private pump(ms: number) {
    const budget = Math.max(1, Math.round((this.opts.baud / 10) * (ms / 1000)));
    // client -> board
    const n = Math.min(budget, this.inbox.length);
    if (n) {
      this.released.push(...this.inbox.splice(0, n));
      this.feedWorker();
    }
    // board -> client
    const m = Math.min(budget, this.outbox.length);
    if (m && !this.closed) {
      const chunk = Buffer.from(this.outbox.splice(0, m));
      if (this.opts.trace) process.stderr.write(`vb> ${JSON.stringify(chunk.toString("latin1"))}\n`);
      this.term.write(chunk);
    }
  }

  private async feedWorker() {
    if (this.released.length === 0) return;
    if (this.busy) {
      // A Ctrl-C while MicroPython is stuck in a script: the worker cannot be interrupted from
      // JavaScript, so restart it on the saved filesystem and answer as the board would.
      const ctrlC = this.released.indexOf(3);
      if (ctrlC >= 0 && !this.bridgeMode && Date.now() - this.busySince > 200) {
        this.released.splice(0, ctrlC + 1);
        await this.restartAfterInterrupt();
      }
      return;
    }
    let data = this.released.splice(0);
    if (!this.bridgeMode) data = this.interceptRawPasteProbe(data);
    if (data.length === 0) return;
    for (const b of data) {
      if (b === 1) this.rawMode = true;
      if (b === 2) this.rawMode = false;
    }
    this.busy = true;
    this.busySince = Date.now();
    this.worker.postMessage({ type: this.bridgeMode ? "bridge" : "chars", data: Uint8Array.from(data) });
  }

  /** This MicroPython port hangs on raw-paste, so the board answers the probe as one without it. */
  private interceptRawPasteProbe(data: number[]): number[] {
    const out: number[] = [];
    for (const b of data) {
      const expect = [5, 0x41, 1][this.probe.length];
      if (b === expect) {
        this.probe.push(b);
        if (this.probe.length === 3) {
          this.outbox.push(0x52, 0x00);
          this.probe = [];
        }
        continue;
      }
      if (this.probe.length) {
        out.push(...this.probe);
        this.probe = [];
      }
      out.push(b);
    }
    return out;
  }

  private async restartAfterInterrupt() {
    this.restarts++;
    await this.worker.terminate();
    this.bridgeMode = false;
    const tb = 'Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\nKeyboardInterrupt: \r\n';
    await this.boot(this.rawMode);
    // In raw REPL the interrupted exec ends with its traceback on stderr, then \x04 and the prompt.
    for (const b of Buffer.from(this.rawMode ? `\x04${tb}\x04>` : `${tb}>>> `, "latin1")) this.outbox.push(b);
  }

  /** The board's files as last seen (after the most recent command finished). */
  fileNames(): string[] {
    return Object.keys(this.files);
  }
  file(name: string): Uint8Array | undefined {
    return this.files[name];
  }

  async stop() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.worker.terminate();
    await this.modem?.flush();
    this.term.close();
  }
}
