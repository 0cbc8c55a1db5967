// Loads the WebAssembly (SIMD) kernel of MS-SSIM's candidate side, kernels/msssim.wasm, compiled from
// kernels/msssim.as.ts (MSSSIM_KERNEL_ASC_ARGS; tests/eval/msssim-kernel.test.ts checks that the
// committed binary is what the source compiles to). The kernel keeps one reference image's per-scale
// planes and filtered maps resident in its memory, since an evaluation compares many candidates against
// the same original; a candidate's RGB bytes are copied in per call, and its planes and pooled scales are
// made in the kernel's memory.
import { readFileSync } from "node:fs";
import type { RgbImage } from "../core/types.ts";

export const MSSSIM_KERNEL_SOURCE = new URL("./kernels/msssim.as.ts", import.meta.url);
export const MSSSIM_KERNEL_WASM = new URL("./kernels/msssim.wasm", import.meta.url);
/** asc arguments the committed binary is built with (after the source path, before the output). */
export const MSSSIM_KERNEL_ASC_ARGS = ["--runtime", "stub", "--noAssert", "-O3", "--enable", "simd", "--initialMemory", "1"];

/** One channel at one scale of a reference: its plane and its filtered mean and mean of squares (valid maps). */
export interface KernelRefScale {
  x: Float64Array;
  W: number;
  H: number;
  mx: Float64Array;
  exx: Float64Array;
}

interface Exports {
  memory: WebAssembly.Memory;
  init(g0: number, g1: number, g2: number, g3: number, g4: number, gc: number, c1: number, c2: number): void;
  heapBase(): number;
  terms(x: number, y: number, mx: number, exx: number, W: number, H: number, scratch: number, withSsim: number): number;
  plane(rgb: number, n: number, ch: number, out: number): void;
  pool(src: number, W: number, H: number, dst: number): void;
  sse(a: number, b: number, n: number): number;
}

const WIN = 11;
/** WebAssembly (wasm32) memory cannot exceed 4 GiB. */
export const KERNEL_MEMORY_LIMIT = 2 ** 32;

/** Sides of the 5 MS-SSIM scales of a W×H image (avg_pool2d with padding = side % 2). */
function scaleSides(W: number, H: number): [number, number][] {
  const out: [number, number][] = [[W, H]];
  while (out.length < 5) {
    const [w, h] = out[out.length - 1];
    out.push([Math.floor((w + 2 * (w % 2) - 2) / 2) + 1, Math.floor((h + 2 * (h % 2) - 2) / 2) + 1]);
  }
  return out;
}

/** Bytes of kernel memory a W×H reference needs (its 15 resident scales, a candidate's pyramid, both RGB images, scratch). */
export function kernelBytes(W: number, H: number): number {
  let n = 0;
  for (const [w, h] of scaleSides(W, H)) n += 3 * 8 * (w * h + 2 * (w - WIN + 1) * (h - WIN + 1)) + 8 * w * h;
  return n + 2 * 3 * W * H + 8 * (2 * W + 3 * WIN * W + 2 * W) + 2048;
}

export class MsssimKernel {
  private ex: Exports;
  private f64 = new Float64Array(0);
  private shape = "";
  private slots: { x: number; mx: number; exx: number }[] = [];
  /** Which reference scale each slot now holds (by identity). */
  private resident: (KernelRefScale | null)[] = [];
  /** The reference image whose RGB bytes are at refRgbAt. */
  private residentRgb: RgbImage | null = null;
  private refRgbAt = 0;
  private rgbAt = 0;
  private yAt: number[] = [];
  private scratchAt = 0;

  constructor(gauss: Float64Array, c1: number, c2: number, wasm: Uint8Array = new Uint8Array(readFileSync(MSSSIM_KERNEL_WASM))) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), {
      env: {
        abort: () => {
          throw new Error("msssim kernel aborted");
        },
      },
    });
    this.ex = instance.exports as unknown as Exports;
    this.ex.init(gauss[0], gauss[1], gauss[2], gauss[3], gauss[4], gauss[5], c1, c2);
  }

  /** Lays memory out for one pyramid shape: a slot per channel and scale, one candidate plane, scratch. */
  private layout(scales: KernelRefScale[][]) {
    const shape = scales[0].map((s) => `${s.W}x${s.H}`).join(",");
    if (shape === this.shape) return;
    let at = (this.ex.heapBase() + 15) & ~15;
    const slots: { x: number; mx: number; exx: number }[] = [];
    for (const channel of scales)
      for (const s of channel) {
        const n = s.W * s.H,
          o = (s.W - WIN + 1) * (s.H - WIN + 1);
        slots.push({ x: at, mx: at + 8 * n, exx: at + 8 * (n + o) });
        at += 8 * (n + 2 * o);
      }
    const { W, H } = scales[0][0],
      OW = W - WIN + 1;
    this.yAt = scales[0].map((s) => {
      const p = at;
      at += 8 * s.W * s.H;
      return p;
    });
    this.refRgbAt = at;
    at += (3 * W * H + 15) & ~15;
    this.rgbAt = at;
    at += (3 * W * H + 15) & ~15;
    this.scratchAt = at;
    at += 8 * (2 * W + 3 * WIN * OW + 2 * OW) + 64;
    const pages = Math.ceil(at / 65536) - this.ex.memory.buffer.byteLength / 65536;
    if (pages > 0) {
      try {
        this.ex.memory.grow(pages);
      } catch (e) {
        throw new Error(`msssim kernel: cannot grow its memory to ${(at / 2 ** 30).toFixed(2)} GiB for a ${W}x${H} image (${(e as Error).message})`);
      }
    }
    this.f64 = new Float64Array(this.ex.memory.buffer);
    this.slots = slots;
    this.resident = slots.map(() => null);
    this.residentRgb = null;
    this.shape = shape;
  }

  /**
   * Per-channel, per-scale terms of candidate `b` against the reference whose scales are given (SSIM
   * only where `withSsim(scale)`, else NaN). The candidate's planes and pooled scales are made here, in
   * the kernel's memory, with the arithmetic of metrics.ts's plane() and pool().
   */
  candidate(scales: KernelRefScale[][], b: RgbImage, withSsim: (s: number) => boolean): { cs: number[][]; ssim: number[][] } {
    this.layout(scales);
    new Uint8Array(this.ex.memory.buffer, this.rgbAt, b.data.length).set(b.data);
    const cs: number[][] = [],
      ssim: number[][] = [];
    for (let ch = 0; ch < scales.length; ch++) {
      const lv = scales[ch];
      this.ex.plane(this.rgbAt, b.width * b.height, ch, this.yAt[0]);
      for (let s = 1; s < lv.length; s++) this.ex.pool(this.yAt[s - 1], lv[s - 1].W, lv[s - 1].H, this.yAt[s]);
      cs.push([]);
      ssim.push([]);
      for (let s = 0; s < lv.length; s++) {
        const t = this.at(scales, ch, s, withSsim(s));
        cs[ch].push(t.cs);
        ssim[ch].push(t.ssim);
      }
    }
    return { cs, ssim };
  }

  /** Sum of squared differences of the reference's RGB bytes (`ref`, kept resident) and candidate `b`. */
  sse(scales: KernelRefScale[][], ref: RgbImage, b: RgbImage): number {
    this.layout(scales);
    if (this.residentRgb !== ref) {
      new Uint8Array(this.ex.memory.buffer, this.refRgbAt, ref.data.length).set(ref.data);
      this.residentRgb = ref;
    }
    new Uint8Array(this.ex.memory.buffer, this.rgbAt, b.data.length).set(b.data);
    return this.ex.sse(this.refRgbAt, this.rgbAt, b.data.length);
  }

  /** Mean SSIM (NaN unless `withSsim`) and mean cs of the candidate plane now at yAt[s] against reference scale [ch][s]. */
  private at(scales: KernelRefScale[][], ch: number, s: number, withSsim: boolean): { ssim: number; cs: number } {
    const i = ch * scales[0].length + s,
      ref = scales[ch][s],
      slot = this.slots[i];
    if (this.resident[i] !== ref) {
      this.f64.set(ref.x, slot.x / 8);
      this.f64.set(ref.mx, slot.mx / 8);
      this.f64.set(ref.exx, slot.exx / 8);
      this.resident[i] = ref;
    }
    const csSum = this.ex.terms(slot.x, this.yAt[s], slot.mx, slot.exx, ref.W, ref.H, this.scratchAt, withSsim ? 1 : 0);
    const n = (ref.W - WIN + 1) * (ref.H - WIN + 1);
    return { cs: csSum / n, ssim: withSsim ? this.f64[this.scratchAt / 8] / n : NaN };
  }
}
