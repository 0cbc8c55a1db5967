// AssemblyScript (compiled to msssim.wasm, see host/eval/msssim-kernel.ts): the candidate side of one
// channel at one scale of MS-SSIM (host/eval/metrics.ts). The 11-tap Gaussian is applied separably and
// streamed: each source row of y, y² and x·y is filtered horizontally into an 11-row ring, and each output
// row is filtered vertically from the ring, next to the reference's precomputed filtered mean and mean
// square. Two columns at a time in f64x2 lanes: each lane does exactly the scalar operations in the same
// order (centre tap first, then symmetric taps k and 10-k sharing one multiply), and the per-pixel cs and
// SSIM values are summed one by one in row-major order, so the result is bit-identical to the scalar
// definition in metrics.ts.

// Gaussian taps (G5 = centre) and the SSIM constants, set by init().
let G0: f64 = 0, G1: f64 = 0, G2: f64 = 0, G3: f64 = 0, G4: f64 = 0, G5: f64 = 0;
let C1: f64 = 0, C2: f64 = 0;

export function init(g0: f64, g1: f64, g2: f64, g3: f64, g4: f64, gc: f64, c1: f64, c2: f64): void {
  G0 = g0; G1 = g1; G2 = g2; G3 = g3; G4 = g4; G5 = gc; C1 = c1; C2 = c2;
}

@inline function hrow(v: usize, OW: i32, out: usize): void {
  const gc = f64x2.splat(G5), g0 = f64x2.splat(G0), g1 = f64x2.splat(G1), g2 = f64x2.splat(G2), g3 = f64x2.splat(G3), g4 = f64x2.splat(G4);
  let c = 0;
  for (; c + 1 < OW; c += 2) {
    const a = v + (<usize>c << 3);
    let s = f64x2.mul(gc, v128.load(a, 40));
    s = f64x2.add(s, f64x2.mul(g0, f64x2.add(v128.load(a, 0), v128.load(a, 80))));
    s = f64x2.add(s, f64x2.mul(g1, f64x2.add(v128.load(a, 8), v128.load(a, 72))));
    s = f64x2.add(s, f64x2.mul(g2, f64x2.add(v128.load(a, 16), v128.load(a, 64))));
    s = f64x2.add(s, f64x2.mul(g3, f64x2.add(v128.load(a, 24), v128.load(a, 56))));
    s = f64x2.add(s, f64x2.mul(g4, f64x2.add(v128.load(a, 32), v128.load(a, 48))));
    v128.store(out + (<usize>c << 3), s);
  }
  for (; c < OW; c++) {
    const a = v + (<usize>c << 3);
    store<f64>(out + (<usize>c << 3), G5 * load<f64>(a, 40) + G0 * (load<f64>(a, 0) + load<f64>(a, 80)) + G1 * (load<f64>(a, 8) + load<f64>(a, 72)) + G2 * (load<f64>(a, 16) + load<f64>(a, 64)) + G3 * (load<f64>(a, 24) + load<f64>(a, 56)) + G4 * (load<f64>(a, 32) + load<f64>(a, 48)));
  }
}

@inline function vsum(h: usize, o0: usize, o1: usize, o2: usize, o3: usize, o4: usize, o5: usize, o6: usize, o7: usize, o8: usize, o9: usize, o10: usize, cb: usize): v128 {
  let s = f64x2.mul(f64x2.splat(G5), v128.load(h + o5 + cb));
  s = f64x2.add(s, f64x2.mul(f64x2.splat(G0), f64x2.add(v128.load(h + o0 + cb), v128.load(h + o10 + cb))));
  s = f64x2.add(s, f64x2.mul(f64x2.splat(G1), f64x2.add(v128.load(h + o1 + cb), v128.load(h + o9 + cb))));
  s = f64x2.add(s, f64x2.mul(f64x2.splat(G2), f64x2.add(v128.load(h + o2 + cb), v128.load(h + o8 + cb))));
  s = f64x2.add(s, f64x2.mul(f64x2.splat(G3), f64x2.add(v128.load(h + o3 + cb), v128.load(h + o7 + cb))));
  s = f64x2.add(s, f64x2.mul(f64x2.splat(G4), f64x2.add(v128.load(h + o4 + cb), v128.load(h + o6 + cb))));
  return s;
}

@inline function vsum1(h: usize, o0: usize, o1: usize, o2: usize, o3: usize, o4: usize, o5: usize, o6: usize, o7: usize, o8: usize, o9: usize, o10: usize, cb: usize): f64 {
  return G5 * load<f64>(h + o5 + cb) + G0 * (load<f64>(h + o0 + cb) + load<f64>(h + o10 + cb)) + G1 * (load<f64>(h + o1 + cb) + load<f64>(h + o9 + cb)) + G2 * (load<f64>(h + o2 + cb) + load<f64>(h + o8 + cb)) + G3 * (load<f64>(h + o3 + cb) + load<f64>(h + o7 + cb)) + G4 * (load<f64>(h + o4 + cb) + load<f64>(h + o6 + cb));
}

/** Channel `ch` of n interleaved RGB bytes at `rgb` as f64 at `out`. */
export function plane(rgb: usize, n: i32, ch: i32, out: usize): void {
  for (let i = 0; i < n; i++) store<f64>(out + (<usize>i << 3), <f64>load<u8>(rgb + <usize>(3 * i + ch)));
}

/** 2×2 average pooling of a W×H plane as F.avg_pool2d(kernel 2, padding = side % 2, count_include_pad); returns nothing, writes `dst`. */
export function pool(src: usize, W: i32, H: i32, dst: usize): void {
  const pw = W % 2, ph = H % 2;
  const NW = (W + 2 * pw - 2) / 2 + 1, NH = (H + 2 * ph - 2) / 2 + 1;
  for (let r = 0; r < NH; r++)
    for (let c = 0; c < NW; c++) {
      let s: f64 = 0;
      for (let dy = 0; dy < 2; dy++) {
        const y = 2 * r - ph + dy;
        if (y < 0 || y >= H) continue;
        for (let dx = 0; dx < 2; dx++) {
          const x = 2 * c - pw + dx;
          if (x >= 0 && x < W) s += load<f64>(src + (<usize>(y * W + x) << 3));
        }
      }
      store<f64>(dst + (<usize>(r * NW + c) << 3), s / 4);
    }
}

/** Sum of squared differences of n bytes at a and b (exact: an integer below 2^53). */
export function sse(a: usize, b: usize, n: i32): f64 {
  let s: i64 = 0;
  for (let i = 0; i < n; i++) { const d = <i32>load<u8>(a + <usize>i) - <i32>load<u8>(b + <usize>i); s += <i64>(d * d); }
  return <f64>s;
}

/** First byte of linear memory free for the host's planes (after AssemblyScript's static data). */
export function heapBase(): usize { return __heap_base; }

/**
 * x, y: W×H planes; mx, exx: the reference's filtered maps (OW×OH); scratch: 2·W + 3·11·OW + 2·OW f64.
 * Returns csSum; the SSIM sum (when withSsim) is left at `scratch` (first f64).
 */
export function terms(x: usize, y: usize, mx: usize, exx: usize, W: i32, H: i32, scratch: usize, withSsim: bool): f64 {
  const OW = W - 10, OH = H - 10;
  const rowB = <usize>OW << 3, ringB = rowB * 11;
  const yy = scratch, xy = yy + (<usize>W << 3), hy = xy + (<usize>W << 3), hyy = hy + ringB, hxy = hyy + ringB, csRow = hxy + ringB, ssRow = csRow + rowB;
  let csSum: f64 = 0, ssimSum: f64 = 0;
  const c1 = f64x2.splat(C1), c2 = f64x2.splat(C2), two = f64x2.splat(2.0);
  for (let j = 0; j < H; j++) {
    // Horizontal pass of source row j into ring slot j % 11.
    const ro = y + ((<usize>j * <usize>W) << 3), xo = x + ((<usize>j * <usize>W) << 3);
    for (let i = 0; i < W; i++) { const v = load<f64>(ro + (<usize>i << 3)); store<f64>(yy + (<usize>i << 3), v * v); store<f64>(xy + (<usize>i << 3), load<f64>(xo + (<usize>i << 3)) * v); }
    const slot = <usize>(j % 11) * rowB;
    hrow(ro, OW, hy + slot); hrow(yy, OW, hyy + slot); hrow(xy, OW, hxy + slot);
    if (j < 10) continue;
    const r = j - 10;
    const o0 = <usize>(r % 11) * rowB, o1 = <usize>((r + 1) % 11) * rowB, o2 = <usize>((r + 2) % 11) * rowB, o3 = <usize>((r + 3) % 11) * rowB, o4 = <usize>((r + 4) % 11) * rowB, o5 = <usize>((r + 5) % 11) * rowB;
    const o6 = <usize>((r + 6) % 11) * rowB, o7 = <usize>((r + 7) % 11) * rowB, o8 = <usize>((r + 8) % 11) * rowB, o9 = <usize>((r + 9) % 11) * rowB, o10 = <usize>((r + 10) % 11) * rowB;
    const mo = mx + <usize>r * rowB, eo = exx + <usize>r * rowB;
    let c = 0;
    for (; c + 1 < OW; c += 2) {
      const cb = <usize>c << 3;
      const mxv = v128.load(mo + cb), exxv = v128.load(eo + cb);
      const my = vsum(hy, o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, cb);
      const eyy = vsum(hyy, o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, cb);
      const exy = vsum(hxy, o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, cb);
      const mxx = f64x2.mul(mxv, mxv), myy = f64x2.mul(my, my), mxy = f64x2.mul(mxv, my);
      const cs = f64x2.div(f64x2.add(f64x2.mul(two, f64x2.sub(exy, mxy)), c2), f64x2.add(f64x2.add(f64x2.sub(exxv, mxx), f64x2.sub(eyy, myy)), c2));
      v128.store(csRow + cb, cs);
      if (withSsim) v128.store(ssRow + cb, f64x2.mul(f64x2.div(f64x2.add(f64x2.mul(two, mxy), c1), f64x2.add(f64x2.add(mxx, myy), c1)), cs));
    }
    for (; c < OW; c++) {
      const cb = <usize>c << 3;
      const mxs = load<f64>(mo + cb), exxs = load<f64>(eo + cb);
      const my = vsum1(hy, o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, cb);
      const eyy = vsum1(hyy, o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, cb);
      const exy = vsum1(hxy, o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, cb);
      const mxx = mxs * mxs, myy = my * my, mxy = mxs * my;
      const cs = (2 * (exy - mxy) + C2) / ((exxs - mxx) + (eyy - myy) + C2);
      store<f64>(csRow + cb, cs);
      if (withSsim) store<f64>(ssRow + cb, ((2 * mxy + C1) / (mxx + myy + C1)) * cs);
    }
    for (let k = 0; k < OW; k++) csSum += load<f64>(csRow + (<usize>k << 3));
    if (withSsim) for (let k = 0; k < OW; k++) ssimSum += load<f64>(ssRow + (<usize>k << 3));
  }
  store<f64>(scratch, ssimSum);
  return csSum;
}
