// Progress of a long run over images on stderr. On a terminal: one line redrawn in place (a bar, images
// done / total, elapsed time and an ETA); anywhere else (CI logs, pipes, a parent process reading a
// child's stderr): one plain line per finished image, so logs stay readable and parseable. Nothing goes
// to stdout, so `--json` output is untouched.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** "1h02m", "4m05s", "12s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

export class Progress {
  private done = 0;
  /** Fraction of the image now in progress (from `partial`), so the bar and the ETA move within an image. */
  private part = 0;
  private last = "";
  private readonly start: number;
  private readonly timer: ReturnType<typeof setInterval> | null = null;
  private finished = false;

  constructor(
    readonly total: number,
    private readonly out: ProgressStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref?.();
      this.draw();
    }
  }

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** Seconds to go, from the mean time per image so far; null before there is anything to go on. */
  eta(): number | null {
    const progressed = this.done + this.part;
    if (progressed <= 0) return null;
    return ((this.now() - this.start) / 1000 / progressed) * (this.total - progressed);
  }

  /** The image now in progress is `fraction` done (0..1). */
  partial(fraction: number) {
    this.part = Math.min(0.999, Math.max(0, fraction));
    if (this.tty) this.draw();
  }

  /** One image finished; `line` describes it (printed as is when not on a terminal). */
  image(line: string) {
    this.done = Math.min(this.total, this.done + 1);
    this.part = 0;
    this.last = line;
    if (this.tty) {
      this.draw();
      return;
    }
    const eta = this.eta();
    this.out.write(`${line}${eta !== null && this.done < this.total ? ` ETA ${formatDuration(eta)}` : ""}\n`);
  }

  /** A message that is not progress: printed on its own line, the bar redrawn under it. */
  log(line: string) {
    if (this.tty && !this.finished) {
      this.out.write(`\r\x1b[K${line}\n`);
      this.draw();
    } else this.out.write(`${line}\n`);
  }

  /** Stops the bar; on a terminal its last state stays as one finished line. */
  finish() {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    if (this.tty) {
      this.draw();
      this.out.write("\n");
    }
  }

  private draw() {
    const elapsed = (this.now() - this.start) / 1000;
    const eta = this.eta();
    const frac = this.total ? (this.done + this.part) / this.total : 1;
    const width = 24,
      fill = Math.round(frac * width);
    const bar = `[${"#".repeat(fill)}${"-".repeat(width - fill)}]`;
    const tail =
      this.done >= this.total ? `done in ${formatDuration(elapsed)}` : `${formatDuration(elapsed)} elapsed, ETA ${eta === null ? "…" : formatDuration(eta)}`;
    let s = `${bar} ${this.done}/${this.total} images  ${tail}${this.last ? `  last: ${this.last}` : ""}`;
    const cols = this.out.columns || 100; // 0 or unknown on some ptys
    if (s.length > cols - 1) s = s.slice(0, Math.max(0, cols - 1));
    this.out.write(`\r\x1b[K${s}`);
  }
}
