// The output stage of an int32 accumulator, four lanes at a time, bit for bit the reference
// kernels' outputStageApply (src/kernels/reference/common.ts, src/quant/fixed_point.ts):
//
//   x = (acc + bias) wrapping;  x = x << max(shift, 0) wrapping
//   x = SaturatingRoundingDoublingHighMul(x, M0) = floor((x·M0 + 2^30) / 2^31)
//       (M0 ∈ [0, 2^31), so the INT32_MIN·INT32_MIN saturation case cannot occur)
//   x = RoundingDivideByPOT(x, max(−shift, 0))
//   q = clamp(z + x, lo, hi)
//
// The 62-bit product is exact in i64x2 lanes (extmul); a logical 64-bit right shift by 31 leaves
// the same low 32 bits as the arithmetic one (bits 31…62), and x86 has no 64-bit arithmetic vector
// shift. RoundingDivideByPOT is gemmlowp's mask/remainder/threshold form, with the comparison's
// all-ones (−1) lanes doing the "+ 1". The clamp happens before the zero point is added
// (clamp(x, lo − z, hi − z) + z = clamp(x + z, lo, hi)), so no lane can wrap.

// @ts-ignore: decorator
@inline
export function requantize4(acc: v128, bias: i32, multiplier: i32, shift: i32, lo: i32, hi: i32, zero: i32): v128 {
  let x = i32x4.add(acc, i32x4.splat(bias));
  if (shift > 0) x = i32x4.shl(x, shift);
  const m = i32x4.splat(multiplier);
  const nudge = i64x2.splat(1 << 30);
  const p0 = i64x2.shr_u(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), nudge), 31);
  const p1 = i64x2.shr_u(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), nudge), 31);
  x = i8x16.shuffle(p0, p1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  if (shift < 0) {
    const e = -shift;
    const mask = (1 << e) - 1;
    const remainder = v128.and(x, i32x4.splat(mask));
    const threshold = i32x4.sub(i32x4.splat(mask >> 1), i32x4.shr_s(x, 31));
    x = i32x4.sub(i32x4.shr_s(x, e), i32x4.gt_s(remainder, threshold));
  }
  x = i32x4.min_s(i32x4.max_s(x, i32x4.splat(lo - zero)), i32x4.splat(hi - zero));
  return i32x4.add(x, i32x4.splat(zero));
}

/**
 * Eight clamped i32 lanes (two vectors) → eight bytes (int8 or uint8), stored at `out` (only the
 * first `count`). With a byte table (`table` ≠ 0, 256 entries), each stored byte b becomes
 * table[b]: a fused element-wise function of the output (the engine's activation tables).
 */
// @ts-ignore: decorator
@inline
export function storeBytes8(out: usize, r0: v128, r1: v128, signed: bool, count: i32, table: usize): void {
  const h = i16x8.narrow_i32x4_s(r0, r1);
  const b = signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h);
  if (table != 0) {
    // Lane by lane from the register (no reloading of just-stored bytes).
    if (count >= 8) {
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 0)));
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 1)), 1);
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 2)), 2);
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 3)), 3);
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 4)), 4);
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 5)), 5);
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 6)), 6);
      store<u8>(out, load<u8>(table + <usize>i8x16.extract_lane_u(b, 7)), 7);
    } else {
      for (let i = 0; i < count; i++) {
        store<u8>(out + <usize>i, load<u8>(table + <usize>i8x16.extract_lane_u(shuffleDown(b, i), 0)));
      }
    }
    return;
  }
  if (count >= 8) {
    v128.store64_lane(out, b, 0);
  } else {
    for (let i = 0; i < count; i++) store<u8>(out + <usize>i, <u8>i8x16.extract_lane_u(shuffleDown(b, i), 0));
  }
}

// @ts-ignore: decorator
@inline
function shuffleDown(b: v128, i: i32): v128 {
  // Byte i to lane 0 (i < 8): shift the low 64 bits right by 8·i.
  return i64x2.shr_u(b, <i32>(i << 3));
}
