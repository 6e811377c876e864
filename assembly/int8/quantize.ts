// QuantizeLinear of float32 data with per-tensor params, 16 values per step, bit for bit the ONNX
// definition as src/quant/quantize.ts computes it: q = saturate(round_half_to_even(x / s) + z)
// with the quotient correctly rounded to float32 (f32x4.div is IEEE division) and ties to even
// (f32x4.nearest is roundTiesToEven). The integer part is clamped to [qmin − z, qmax − z] before z
// is added, so nothing wraps; ±∞ saturates. Returns the number of NaN inputs (the caller refuses them).

export function quantizeF32(x: usize, n: i32, scale: f32, zero: i32, qmin: i32, qmax: i32, signed: i32, out: usize): i32 {
  const s = f32x4.splat(scale);
  const lo = i32x4.splat(qmin - zero);
  const hi = i32x4.splat(qmax - zero);
  const z = i32x4.splat(zero);
  let nans = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const v0 = f32x4.div(v128.load(p), s);
    const v1 = f32x4.div(v128.load(p, 16), s);
    const v2 = f32x4.div(v128.load(p, 32), s);
    const v3 = f32x4.div(v128.load(p, 48), s);
    nans = i32x4.sub(nans, v128.or(v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)), v128.or(f32x4.ne(v2, v2), f32x4.ne(v3, v3))));
    const q0 = i32x4.add(i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(v0)), lo), hi), z);
    const q1 = i32x4.add(i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(v1)), lo), hi), z);
    const q2 = i32x4.add(i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(v2)), lo), hi), z);
    const q3 = i32x4.add(i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(v3)), lo), hi), z);
    const h0 = i16x8.narrow_i32x4_s(q0, q1);
    const h1 = i16x8.narrow_i32x4_s(q2, q3);
    v128.store(out + <usize>i, signed != 0 ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1));
  }
  let count = i32x4.extract_lane(nans, 0) + i32x4.extract_lane(nans, 1) + i32x4.extract_lane(nans, 2) + i32x4.extract_lane(nans, 3);
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2)) / scale;
    if (v != v) { count++; continue; }
    let q: i32;
    const r = nearest<f32>(v);
    if (r >= <f32>2147483647) q = i32.MAX_VALUE;
    else if (r <= <f32>-2147483648) q = i32.MIN_VALUE;
    else q = <i32>r;
    q = min(max(q, qmin - zero), qmax - zero) + zero;
    store<u8>(out + <usize>i, <u8>q);
  }
  return count;
}
