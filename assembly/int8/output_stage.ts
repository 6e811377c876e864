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
//
// A row's (output channel's) constants are prepared once, as vectors in memory (a "stage",
// STAGE_BYTES each): kernels requantize many vectors of one row, and broadcasting the constants
// and building the shift masks for each of them would cost as much as the arithmetic itself.
//
// Most rows (no left shift, a right shift e in [1, 22]) take a shorter, equal form of the last
// steps. RoundingDivideByPOT is non-decreasing and maps L·2^e to L exactly, so clamping its
// result to [L, H] = [lo − z, hi − z] equals clamping its argument to [L·2^e, H·2^e] first; the
// argument is then small, and RoundingDivideByPOT(x, e) + z = (x + 2^(e−1) + z·2^e − [x < 0]) >> e
// (arithmetic shift: ties away from zero, the zero point added as a multiple of 2^e) cannot
// overflow: |x + …| ≤ 256·2^22 < 2^31 with |L|, |H|, |lo|, |hi| ≤ 255.

/** Bytes of one row's prepared output stage. */
// @ts-ignore: decorator
@inline export const STAGE_BYTES: i32 = 192;

/** The largest right shift of the short form (see above). */
// @ts-ignore: decorator
@inline const SHORT_FORM_MAX_SHIFT: i32 = 22;

/**
 * The output stage of one row at `st` (i32x4 each): bias, M0, the rounding mask and half mask of
 * the right shift, the clamp bounds less the zero point, the zero point; for the short form the
 * clamp bounds times 2^e and 2^(e−1) + z·2^e; then (i32) the left and right shifts and 1 if the
 * short form applies.
 */
// @ts-ignore: decorator
@inline
export function prepareStage(st: usize, bias: i32, multiplier: i32, shift: i32, lo: i32, hi: i32, zero: i32): void {
  const right = shift < 0 ? -shift : 0;
  const mask = (1 << right) - 1;
  const short = shift < 0 && right <= SHORT_FORM_MAX_SHIFT && abs(lo - zero) <= 255 && abs(hi - zero) <= 255 && abs(lo) <= 255 && abs(hi) <= 255;
  v128.store(st, i32x4.splat(bias));
  v128.store(st, i32x4.splat(multiplier), 16);
  v128.store(st, i32x4.splat(mask), 32);
  v128.store(st, i32x4.splat(mask >> 1), 48);
  v128.store(st, i32x4.splat(lo - zero), 64);
  v128.store(st, i32x4.splat(hi - zero), 80);
  v128.store(st, i32x4.splat(zero), 96);
  v128.store(st, i32x4.splat(short ? (lo - zero) << right : 0), 112);
  v128.store(st, i32x4.splat(short ? (hi - zero) << right : 0), 128);
  v128.store(st, i32x4.splat(short ? (1 << (right - 1)) + (zero << right) : 0), 144);
  store<i32>(st, shift > 0 ? shift : 0, 160);
  store<i32>(st, right, 164);
  store<i32>(st, short ? 1 : 0, 168);
}

/**
 * Stages of `rows` rows at dst (STAGE_BYTES apart): row r with bias[r] (none if `bias` is 0),
 * multipliers[r] and shifts[r] (i32 arrays), and the clamp bounds and zero point of the output.
 * Returns 1 when every row takes the short form (requantize4Staged's `general` may be false).
 */
export function prepareStages(rows: i32, bias: usize, multipliers: usize, shifts: usize, lo: i32, hi: i32, zero: i32, dst: usize): i32 {
  let short = 1;
  for (let r = 0; r < rows; r++) {
    const at = <usize>r << 2;
    const st = dst + <usize>(r * STAGE_BYTES);
    prepareStage(st, bias != 0 ? load<i32>(bias + at) : 0, load<i32>(multipliers + at), load<i32>(shifts + at), lo, hi, zero);
    if (!stageIsShort(st)) short = 0;
  }
  return short;
}

/** True when the stage at `st` takes the short form. */
// @ts-ignore: decorator
@inline
export function stageIsShort(st: usize): bool {
  return load<i32>(st, 168) != 0;
}

/**
 * The output stage of four accumulators with the row's stage at `st`: the general form (any
 * shift), or, with `general` false, the short form (stageIsShort rows only). `general` is a
 * constant at each call site: kernels pick the form once per call or per row. No branches —
 * JIT compilers schedule pure vector operations late, past any branch, which keeps whole blocks of
 * inputs live (and spilled) across it; the general form's left shift and rounding run always (a
 * shift of 0 changes nothing).
 */
// @ts-ignore: decorator
@inline
export function requantize4Staged(acc: v128, st: usize, general: bool): v128 {
  let x = i32x4.add(acc, v128.load(st));
  if (general) x = i32x4.shl(x, load<i32>(st, 160));
  const m = v128.load(st, 16);
  const nudge = i64x2.splat(1 << 30);
  const p0 = i64x2.shr_u(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), nudge), 31);
  const p1 = i64x2.shr_u(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), nudge), 31);
  x = i8x16.shuffle(p0, p1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const right = load<i32>(st, 164);
  if (general) {
    const remainder = v128.and(x, v128.load(st, 32));
    const threshold = i32x4.sub(v128.load(st, 48), i32x4.shr_s(x, 31));
    x = i32x4.sub(i32x4.shr_s(x, right), i32x4.gt_s(remainder, threshold));
    x = i32x4.min_s(i32x4.max_s(x, v128.load(st, 64)), v128.load(st, 80));
    return i32x4.add(x, v128.load(st, 96));
  }
  x = i32x4.min_s(i32x4.max_s(x, v128.load(st, 112)), v128.load(st, 128));
  return i32x4.shr_s(i32x4.add(i32x4.add(x, v128.load(st, 144)), i32x4.shr_s(x, 31)), right);
}

/**
 * Sixteen clamped i32 lanes (four vectors) → sixteen bytes at `out`, as storeBytes8: the first
 * `count` only, through the byte table if `table` ≠ 0. A partial block goes through the 16 bytes
 * at `tmp`.
 */
// @ts-ignore: decorator
@inline
export function storeBytes16(out: usize, r0: v128, r1: v128, r2: v128, r3: v128, signed: bool, count: i32, table: usize, tmp: usize): void {
  const h0 = i16x8.narrow_i32x4_s(r0, r1);
  const h1 = i16x8.narrow_i32x4_s(r2, r3);
  const b = signed ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1);
  if (count >= 16 && table == 0) {
    v128.store(out, b);
    return;
  }
  v128.store(tmp, b);
  if (table != 0) {
    if (count >= 16) {
      // Unrolled: from the bytes just stored (a 16-byte store forwards to byte loads).
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp)));
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 1)), 1);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 2)), 2);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 3)), 3);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 4)), 4);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 5)), 5);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 6)), 6);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 7)), 7);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 8)), 8);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 9)), 9);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 10)), 10);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 11)), 11);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 12)), 12);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 13)), 13);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 14)), 14);
      store<u8>(out, load<u8>(table + <usize>load<u8>(tmp, 15)), 15);
      return;
    }
    for (let i = 0; i < count; i++) store<u8>(out + <usize>i, load<u8>(table + <usize>load<u8>(tmp + <usize>i)));
  } else {
    for (let i = 0; i < count; i++) store<u8>(out + <usize>i, load<u8>(tmp + <usize>i));
  }
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

/**
 * SaturatingRoundingDoublingHighMul for a non-negative multiplier b (a prepared M0 ∈ [0, 2^31)):
 * floor((a·b + 2^30) / 2^31), low 32 bits; b ≥ 0, so INT32_MIN·INT32_MIN cannot occur. Scalar,
 * for kernels that requantize one value at a time.
 */
// @ts-ignore: decorator
@inline
export function srdhm(a: i32, b: i32): i32 {
  return <i32>((<i64>a * <i64>b + (<i64>1 << 30)) >> 31);
}

/** gemmlowp's RoundingDivideByPOT, scalar: x / 2^exponent rounded, ties away from zero. */
// @ts-ignore: decorator
@inline
export function roundingDivideByPOT(x: i32, exponent: i32): i32 {
  const mask = (1 << exponent) - 1;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + ((x & mask) > threshold ? 1 : 0);
}
