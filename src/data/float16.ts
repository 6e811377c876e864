/**
 * number → IEEE-754 binary16 bits, rounding to nearest with ties to even (the inverse of
 * tensor.ts `halfToFloat`). The value is first rounded to float32, so a float64 input that lies
 * within 2^-24 relative of a float16 tie may round twice; that never matters for the synthetic
 * data this serves. (Belongs in tensor/ if other modules need it.)
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf, or a quiet NaN
  const e = exponent - 127 + 15; // re-biased exponent for binary16
  if (e >= 31) return sign | 0x7c00; // too large: ±Inf
  if (e <= 0) {
    // Subnormal half: value = m · 2^-24 with m = significand24 · 2^(e - 14), so shift right by 14 - e.
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    mantissa |= 0x800000;
    const shift = 14 - e;
    let m = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (m & 1))) m++;
    return sign | m;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and reaches Inf at the top).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}
