// One output row of a quantized convolution (QLinearConv semantics, uint8 tensors with zero points,
// int8 symmetric weights), dense or depthwise. Arithmetic: docs/model-format.md (version 2).

// Geometry and buffers of the row being computed: wasm globals set by convSetup (no memory is
// allocated on the device; the graph runner fills these from the plan block once per row).
let src: i32 = 0, srcRows: i32 = 0, srcRowBytes: i32 = 0, inW: i32 = 0, inH: i32 = 0, cin: i32 = 0;
let dst: i32 = 0, outW: i32 = 0, cout: i32 = 0, k: i32 = 0, st: i32 = 0, pad: i32 = 0;
let inZp: i32 = 0, outZp: i32 = 0, lo: i32 = 0, hi: i32 = 255, weights: i32 = 0, bias: i32 = 0, mul: i32 = 0, shifts: i32 = 0;

export function convSetup(src_: i32, srcRows_: i32, srcRowBytes_: i32, inW_: i32, inH_: i32, cin_: i32, dst_: i32, outW_: i32, cout_: i32): void {
  src = src_; srcRows = srcRows_; srcRowBytes = srcRowBytes_; inW = inW_; inH = inH_; cin = cin_; dst = dst_; outW = outW_; cout = cout_;
}

export function convParams(k_: i32, s_: i32, p_: i32, inZp_: i32, outZp_: i32, lo_: i32, hi_: i32, weights_: i32, bias_: i32, mul_: i32, shifts_: i32): void {
  k = k_; st = s_; pad = p_; inZp = inZp_; outZp = outZp_; lo = lo_; hi = hi_; weights = weights_; bias = bias_; mul = mul_; shifts = shifts_;
}

/** out = (acc * m + 2^(s-1)) >> s in 64-bit: round half towards +infinity (as assembly/encoder.ts). */
@inline export function requantize(acc: i32, m: i32, s: i32): i32 {
  return <i32>(((<i64>acc) * (<i64>m) + ((<i64>1) << (s - 1))) >> s);
}

@inline function clampTo(v: i32, lo: i32, hi: i32): i32 { return v < lo ? lo : v > hi ? hi : v; }

/** sum w[i] * (x[i] - zp) over n contiguous int8 weights / uint8 activations, unrolled by 4. */
@inline function dotZp(w: i32, x: i32, n: i32, zp: i32): i32 {
  let acc = 0;
  for (; n >= 4; n -= 4, w += 4, x += 4) {
    acc += <i32>load<i8>(w) * (<i32>load<u8>(x) - zp) + <i32>load<i8>(w, 1) * (<i32>load<u8>(x, 1) - zp)
         + <i32>load<i8>(w, 2) * (<i32>load<u8>(x, 2) - zp) + <i32>load<i8>(w, 3) * (<i32>load<u8>(x, 3) - zp);
  }
  for (; n > 0; n--, w++, x++) acc += <i32>load<i8>(w) * (<i32>load<u8>(x) - zp);
  return acc;
}

/** sum w[i] * x[i] (the zero point folded into the bias at build time), unrolled by 4. */
@inline function dot(w: i32, x: i32, n: i32): i32 {
  let acc = 0;
  for (; n >= 4; n -= 4, w += 4, x += 4) {
    acc += <i32>load<i8>(w) * <i32>load<u8>(x) + <i32>load<i8>(w, 1) * <i32>load<u8>(x, 1)
         + <i32>load<i8>(w, 2) * <i32>load<u8>(x, 2) + <i32>load<i8>(w, 3) * <i32>load<u8>(x, 3);
  }
  for (; n > 0; n--, w++, x++) acc += <i32>load<i8>(w) * <i32>load<u8>(x);
  return acc;
}

/** 1x1 stride-1 unpadded conv (MobileNetV2's expansions and projections): one input row, no tap clipping. */
function pointwiseRow(oy: i32): void {
  const row = src + (oy % srcRows) * srcRowBytes;
  for (let ox = 0; ox < outW; ox++) {
    const x = row + ox * cin, out = dst + ox * cout;
    let w = weights;
    for (let co = 0; co < cout; co++, w += cin) {
      const acc = load<i32>(bias + (co << 2)) + (inZp == 0 ? dot(w, x, cin) : dotZp(w, x, cin, inZp));
      const v = requantize(acc, load<i32>(mul + (co << 2)), load<i32>(shifts + (co << 2))) + outZp;
      store<u8>(out + co, <u8>clampTo(v, lo, hi));
    }
  }
}

/** Dense conv (groups 1), weights [co][ky][kx][ci]: output row `oy`. */
export function denseConvRow(oy: i32): void {
  if (k == 1 && st == 1 && pad == 0) { pointwiseRow(oy); return; }
  const y0 = oy * st - pad;
  const kyStart = y0 < 0 ? -y0 : 0;
  const kyEnd = y0 + k > inH ? inH - y0 : k;
  const kxRow = k * cin;
  for (let ox = 0; ox < outW; ox++) {
    const x0 = ox * st - pad;
    const kxStart = x0 < 0 ? -x0 : 0;
    const kxEnd = x0 + k > inW ? inW - x0 : k;
    const span = (kxEnd - kxStart) * cin;
    const out = dst + ox * cout;
    for (let co = 0; co < cout; co++) {
      let acc = load<i32>(bias + (co << 2));
      const wco = weights + co * k * kxRow;
      for (let ky = kyStart; ky < kyEnd; ky++) {
        const xrow = src + ((y0 + ky) % srcRows) * srcRowBytes + (x0 + kxStart) * cin;
        const wrow = wco + ky * kxRow + kxStart * cin;
        acc += inZp == 0 ? dot(wrow, xrow, span) : dotZp(wrow, xrow, span, inZp);
      }
      const v = requantize(acc, load<i32>(mul + (co << 2)), load<i32>(shifts + (co << 2))) + outZp;
      store<u8>(out + co, <u8>clampTo(v, lo, hi));
    }
  }
}

/** Depthwise conv (groups = channels), weights [c][ky][kx]: output row `oy`. */
export function depthwiseConvRow(oy: i32): void {
  const y0 = oy * st - pad;
  const kyStart = y0 < 0 ? -y0 : 0;
  const kyEnd = y0 + k > inH ? inH - y0 : k;
  for (let ox = 0; ox < outW; ox++) {
    const x0 = ox * st - pad;
    const kxStart = x0 < 0 ? -x0 : 0;
    const kxEnd = x0 + k > inW ? inW - x0 : k;
    const out = dst + ox * cout;
    for (let co = 0; co < cout; co++) {
      let acc = load<i32>(bias + (co << 2));
      const wco = weights + co * k * k;
      for (let ky = kyStart; ky < kyEnd; ky++) {
        const xrow = src + ((y0 + ky) % srcRows) * srcRowBytes + co;
        const wrow = wco + ky * k;
        for (let kx = kxStart; kx < kxEnd; kx++)
          acc += <i32>load<i8>(wrow + kx) * (<i32>load<u8>(xrow + (x0 + kx) * cout) - inZp);
      }
      const v = requantize(acc, load<i32>(mul + (co << 2)), load<i32>(shifts + (co << 2))) + outZp;
      store<u8>(out + co, <u8>clampTo(v, lo, hi));
    }
  }
}
