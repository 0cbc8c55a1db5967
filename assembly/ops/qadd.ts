// One row of a quantized residual add (QLinearAdd semantics): both inputs keep their own scale and
// zero point; out = clamp(((a - za) * ma + (b - zb) * mb + 2^(s-1)) >> s) + zo, lo, hi) in 64-bit.
export function addRow(a: i32, b: i32, dst: i32, n: i32, za: i32, zb: i32, ma: i32, mb: i32, s: i32, zo: i32, lo: i32, hi: i32): void {
  const round = (<i64>1) << (s - 1);
  const ma64 = <i64>ma, mb64 = <i64>mb;
  for (let i = 0; i < n; i++) {
    const acc = (<i64>(<i32>load<u8>(a + i) - za)) * ma64 + (<i64>(<i32>load<u8>(b + i) - zb)) * mb64 + round;
    let v = <i32>(acc >> s) + zo;
    v = v < lo ? lo : v > hi ? hi : v;
    store<u8>(dst + i, <u8>v);
  }
}
