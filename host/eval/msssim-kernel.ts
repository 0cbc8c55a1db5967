// Loads the WebAssembly (SIMD) kernel of MS-SSIM's candidate side, kernels/msssim.wasm, compiled from
// kernels/msssim.as.ts (MSSSIM_KERNEL_ASC_ARGS; tests/eval/msssim-kernel.test.ts checks that the
// committed binary is what the source compiles to). The kernel keeps one reference image's per-scale
// planes and filtered maps resident in its memory, since an evaluation compares many candidates against
// the same original; a candidate's plane is copied in per call.
import { readFileSync } from "node:fs";

export const MSSSIM_KERNEL_SOURCE = new URL("./kernels/msssim.as.ts", import.meta.url);
export const MSSSIM_KERNEL_WASM = new URL("./kernels/msssim.wasm", import.meta.url);
/** asc arguments the committed binary is built with (after the source path, before the output). */
export const MSSSIM_KERNEL_ASC_ARGS = ["--runtime", "stub", "--noAssert", "-O3", "--enable", "simd", "--initialMemory", "1"];

/** One channel at one scale of a reference: its plane and its filtered mean and mean of squares (valid maps). */
export interface KernelRefScale { x: Float64Array; W: number; H: number; mx: Float64Array; exx: Float64Array }

interface Exports {
  memory: WebAssembly.Memory;
  init(g0: number, g1: number, g2: number, g3: number, g4: number, gc: number, c1: number, c2: number): void;
  heapBase(): number;
  terms(x: number, y: number, mx: number, exx: number, W: number, H: number, scratch: number, withSsim: number): number;
}

const WIN = 11;

export class MsssimKernel {
  private ex: Exports;
  private f64 = new Float64Array(0);
  private shape = "";
  private slots: { x: number; mx: number; exx: number }[] = [];
  /** Which reference scale each slot now holds (by identity). */
  private resident: (KernelRefScale | null)[] = [];
  private yAt = 0;
  private scratchAt = 0;

  constructor(gauss: Float64Array, c1: number, c2: number, wasm: Uint8Array = new Uint8Array(readFileSync(MSSSIM_KERNEL_WASM))) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { env: { abort: () => { throw new Error("msssim kernel aborted"); } } });
    this.ex = instance.exports as unknown as Exports;
    this.ex.init(gauss[0], gauss[1], gauss[2], gauss[3], gauss[4], gauss[5], c1, c2);
  }

  /** Lays memory out for one pyramid shape: a slot per channel and scale, one candidate plane, scratch. */
  private layout(scales: KernelRefScale[][]) {
    const shape = scales[0].map((s) => `${s.W}x${s.H}`).join(",");
    if (shape === this.shape) return;
    let at = (this.ex.heapBase() + 15) & ~15;
    const slots: { x: number; mx: number; exx: number }[] = [];
    for (const channel of scales) for (const s of channel) {
      const n = s.W * s.H, o = (s.W - WIN + 1) * (s.H - WIN + 1);
      slots.push({ x: at, mx: at + 8 * n, exx: at + 8 * (n + o) });
      at += 8 * (n + 2 * o);
    }
    const { W, H } = scales[0][0], OW = W - WIN + 1;
    this.yAt = at; at += 8 * W * H;
    this.scratchAt = at; at += 8 * (2 * W + 3 * WIN * OW + 2 * OW) + 64;
    const pages = Math.ceil(at / 65536) - this.ex.memory.buffer.byteLength / 65536;
    if (pages > 0) this.ex.memory.grow(pages);
    this.f64 = new Float64Array(this.ex.memory.buffer);
    this.slots = slots; this.resident = slots.map(() => null); this.shape = shape;
  }

  /** Mean SSIM (NaN unless `withSsim`) and mean cs of candidate plane `y` against reference scale [ch][s]. */
  terms(scales: KernelRefScale[][], ch: number, s: number, y: Float64Array, withSsim: boolean): { ssim: number; cs: number } {
    this.layout(scales);
    const i = ch * scales[0].length + s, ref = scales[ch][s], slot = this.slots[i];
    if (this.resident[i] !== ref) {
      this.f64.set(ref.x, slot.x / 8); this.f64.set(ref.mx, slot.mx / 8); this.f64.set(ref.exx, slot.exx / 8);
      this.resident[i] = ref;
    }
    this.f64.set(y, this.yAt / 8);
    const csSum = this.ex.terms(slot.x, this.yAt, slot.mx, slot.exx, ref.W, ref.H, this.scratchAt, withSsim ? 1 : 0);
    const n = (ref.W - WIN + 1) * (ref.H - WIN + 1);
    return { cs: csSum / n, ssim: withSsim ? this.f64[this.scratchAt / 8] / n : NaN };
  }
}
