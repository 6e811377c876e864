/**
 * Fixed-point arithmetic of octet's integer-only inference: how a real multiplier M is held as an
 * int32 M0 and a power-of-two shift, and how an int32 accumulator is multiplied by it with
 * integer operations only. This file is the specification the reference kernels, the WASM
 * kernels and the docs (docs/integer-arithmetic.md) share.
 *
 * Sources of the definitions (read for the facts; the code here is octet's own):
 * - gemmlowp `fixedpoint/fixedpoint.h`: SaturatingRoundingDoublingHighMul (the ARM VQRDMULH
 *   instruction: (a·b + nudge) / 2^31 with a nudge of 2^30 for a non-negative product and
 *   1 − 2^30 for a negative one, C division truncating toward zero, and INT32_MIN·INT32_MIN
 *   saturating to INT32_MAX) and RoundingDivideByPOT (mask/remainder/threshold: round to
 *   nearest, ties away from zero).
 * - gemmlowp `doc/quantization.md`: M = s_x·s_w/s_out written as M0·2^−n with M0 in [0.5, 1)
 *   held in Q0.31.
 * - TFLite `kernels/internal/quantization_util.cc` QuantizeMultiplier: frexp(M) = q·2^e with
 *   q in [0.5, 1); M0 = round(q·2^31) (std::round: ties away from zero); if that rounds up to
 *   2^31, halve it and add one to the exponent; an exponent below −31 flushes to {0, 0}.
 * - TFLite `kernels/internal/common.h` MultiplyByQuantizedMultiplier (the double-rounding
 *   variant): left shift by max(shift, 0), SaturatingRoundingDoublingHighMul by M0, then
 *   RoundingDivideByPOT by max(−shift, 0).
 *
 * octet's own addition: quantizeMultiplierWithHeadroom / multiplyWithHeadroom, for inputs known
 * to be small, which removes the double rounding of MultiplyByQuantizedMultiplier (see there).
 *
 * JavaScript traps handled here: `1 << 31` is −2^31; `a * b` of two int32 needs up to 62 bits and
 * a double only holds 53, so products are split into 16-bit halves; `Math.round` rounds ties
 * toward +∞, which is not C's `round` (ties away from zero).
 */

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

const TWO_POW_31 = 2147483648;
const TWO_POW_30 = 1073741824;

/**
 * A real multiplier M > 0 as M ≈ multiplier · 2^(shift − 31): `multiplier` (M0) is an int32 in
 * [2^30, 2^31) — a Q0.31 number in [0.5, 1) — and `shift` is the power of two: positive for
 * M ≥ 1 (a left shift before the multiply), zero or negative for M < 1 (a rounding right shift
 * after it).
 * M = 0 (and M below 2^−32, flushed) is {multiplier: 0, shift: 0}.
 */
export interface QuantizedMultiplier {
  multiplier: number;
  shift: number;
}

/** Largest left shift allowed: a left shift of 31 would move every non-zero int32 out of range. */
export const MAX_LEFT_SHIFT = 30;

function isInt32(x: number): boolean {
  return Number.isInteger(x) && x >= INT32_MIN && x <= INT32_MAX;
}

/**
 * C's `std::round` for doubles: round to nearest, ties away from zero. Exact for every double
 * (the usual `Math.floor(x + 0.5)` is wrong for 0.49999999999999994 and above 2^52).
 */
export function roundHalfAwayFromZero(x: number): number {
  if (!Number.isFinite(x)) return x;
  const magnitude = Math.abs(x);
  const whole = Math.floor(magnitude);
  const rounded = magnitude - whole >= 0.5 ? whole + 1 : whole; // the subtraction is exact below 2^52
  return x < 0 ? -rounded : rounded;
}

/**
 * C's `std::frexp` for a positive finite double: {fraction, exponent} with x = fraction·2^exponent
 * and fraction in [0.5, 1). Read from the IEEE-754 bits, so it is exact (a log2 estimate is not).
 */
export function frexp(x: number): { fraction: number; exponent: number } {
  if (!(x > 0) || !Number.isFinite(x)) {
    throw new Error(`frexp needs a positive finite number, got ${x}`);
  }
  // A subnormal has no implicit leading bit: scale it into the normal range first (exact).
  const subnormal = x < 2 ** -1022;
  const normal = subnormal ? x * 2 ** 64 : x;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, normal);
  const biasedExponent = (view.getUint16(0) >> 4) & 0x7ff;
  // A normal double is 1.f·2^(biased − 1023) = 0.1f·2^(biased − 1022).
  const normalExponent = biasedExponent - 1022;
  const fraction = normal * 2 ** -normalExponent; // exact: a power-of-two scaling into [0.5, 1)
  return { fraction, exponent: subnormal ? normalExponent - 64 : normalExponent };
}

/**
 * TFLite's QuantizeMultiplier: real M ≥ 0 → {multiplier M0 in [2^30, 2^31), shift}, with
 * M ≈ M0·2^(shift − 31) to within half a unit in M0's last place (relative error ≤ 2^−31).
 * Called once at prepare time (the only floating point in octet's integer path).
 */
export function quantizeMultiplier(realMultiplier: number): QuantizedMultiplier {
  if (!Number.isFinite(realMultiplier) || realMultiplier < 0) {
    throw new Error(`quantizeMultiplier needs a finite real multiplier ≥ 0, got ${realMultiplier}`);
  }
  if (realMultiplier === 0) return { multiplier: 0, shift: 0 };
  const { fraction, exponent } = frexp(realMultiplier);
  // fraction·2^31 is exact (a power-of-two scaling) and lies in [2^30, 2^31).
  let multiplier = roundHalfAwayFromZero(fraction * TWO_POW_31);
  let shift = exponent;
  if (multiplier === TWO_POW_31) {
    // fraction ≥ 1 − 2^−32 rounded up to 1.0, which Q0.31 cannot hold: use 0.5·2^(e+1) instead.
    multiplier = TWO_POW_30;
    shift += 1;
  }
  if (shift < -31) {
    // Every int32 would be shifted out to zero: flush to zero, as TFLite does.
    return { multiplier: 0, shift: 0 };
  }
  if (shift > MAX_LEFT_SHIFT) {
    throw new Error(
      `real multiplier ${realMultiplier} is too large for int32 fixed point (needs a left shift of ${shift} > ${MAX_LEFT_SHIFT})`,
    );
  }
  return { multiplier, shift };
}

/** The real number a QuantizedMultiplier stands for: M0·2^(shift − 31). For docs and tests. */
export function realValueOfMultiplier(q: QuantizedMultiplier): number {
  return q.multiplier * 2 ** (q.shift - 31);
}

/**
 * gemmlowp's SaturatingRoundingDoublingHighMul (ARM VQRDMULH): the int32 nearest to a·b / 2^31,
 * ties toward +∞ (the nudge of 2^30 or 1 − 2^30 followed by truncation toward zero is exactly
 * floor((a·b + 2^30) / 2^31)); the only overflow, INT32_MIN·INT32_MIN, saturates to INT32_MAX.
 *
 * Exact without BigInt: write a = aHigh·2^16 + aLow and b = bHigh·2^16 + bLow with the low halves
 * in [0, 2^16); every partial product then fits in a double's 53 bits.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (!isInt32(a) || !isInt32(b)) {
    throw new Error(`saturatingRoundingDoublingHighMul needs int32 operands, got ${a} and ${b}`);
  }
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const aHigh = a >> 16; // arithmetic shift: floor(a / 2^16), in [−2^15, 2^15)
  const aLow = a & 0xffff;
  const bHigh = b >> 16;
  const bLow = b & 0xffff;
  // a·b + 2^30 = aHigh·bHigh·2^32 + cross·2^16 + aLow·bLow + 2^30
  const cross = aHigh * bLow + aLow * bHigh; // |cross| < 2^33: exact
  // cross·2^16 = crossQuotient·2^31 + crossRemainder·2^16 with crossRemainder in [0, 2^15)
  const crossQuotient = Math.floor(cross / 32768);
  const crossRemainder = cross - crossQuotient * 32768;
  // What is left below 2^31 is non-negative and < 2^33: its floor division is exact.
  const lowPart = crossRemainder * 65536 + aLow * bLow + TWO_POW_30;
  return 2 * aHigh * bHigh + crossQuotient + Math.floor(lowPart / TWO_POW_31);
}

/**
 * gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded to the nearest integer, ties away from
 * zero, for exponent in [0, 31]. The remainder below the shifted-out bits is compared with half
 * the divisor, one more than half when x is negative (so −2.5 → −3 and 2.5 → 3).
 */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (!isInt32(x)) throw new Error(`roundingDivideByPOT needs an int32 dividend, got ${x}`);
  if (!Number.isInteger(exponent) || exponent < 0 || exponent > 31) {
    throw new Error(`roundingDivideByPOT needs an exponent in [0, 31], got ${exponent}`);
  }
  const mask = exponent === 31 ? INT32_MAX : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * TFLite's MultiplyByQuantizedMultiplier: x·M0·2^(shift − 31) rounded, as
 * RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x·2^max(shift,0), M0), max(−shift,0)).
 *
 * The left shift is an int32 shift, as in C and WebAssembly: the caller guarantees that
 * |x|·2^shift < 2^31 (it does for every kernel here: a left shift only happens for M ≥ 1, whose
 * inputs are small); outside that range the bits wrap exactly as `i32.shl` wraps them.
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  if (!Number.isInteger(shift) || shift < -31 || shift > MAX_LEFT_SHIFT) {
    throw new Error(`multiplyByQuantizedMultiplier needs a shift in [−31, ${MAX_LEFT_SHIFT}], got ${shift}`);
  }
  if (!isInt32(multiplier) || multiplier < 0) {
    throw new Error(`multiplyByQuantizedMultiplier needs a non-negative int32 multiplier, got ${multiplier}`);
  }
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  const shifted = leftShift === 0 ? x : x << leftShift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), rightShift);
}

/**
 * A multiplier for inputs known to be small, |x| < 2^inputBits (e.g. a requantized 8-bit value,
 * |q − z| < 2^8, or a product of two, < 2^16): x is first shifted left by `inputShift` bits and
 * the multiplier's shift lowered by as much, so that the product is the same real number but
 * SaturatingRoundingDoublingHighMul keeps `inputShift` more bits before the final
 * RoundingDivideByPOT. Without the headroom a small x with M near 1/2 (shift −1) is rounded twice
 * at nearly the same position — round(−230.9) = −231, then −115.5 → −116, where the exact
 * −115.45 rounds to −115 — which puts a large fraction of the results one step off. TFLite's Add
 * uses the same idea (left_shift = 20, see kernels/reference/elementwise.ts).
 */
export interface HeadroomMultiplier extends QuantizedMultiplier {
  /** Left shift applied to the input before multiplyByQuantizedMultiplier. */
  inputShift: number;
}

export function quantizeMultiplierWithHeadroom(realMultiplier: number, inputBits: number): HeadroomMultiplier {
  if (!Number.isInteger(inputBits) || inputBits < 0 || inputBits > 30) {
    throw new Error(`quantizeMultiplierWithHeadroom needs inputBits in [0, 30], got ${inputBits}`);
  }
  const q = quantizeMultiplier(realMultiplier);
  if (q.multiplier === 0) return { multiplier: 0, shift: 0, inputShift: 0 };
  // As much headroom as int32 allows, but no more than the multiplier's shift can absorb (≥ −31).
  const inputShift = Math.min(30 - inputBits, q.shift + 31);
  const shift = q.shift - inputShift;
  if (shift > 0) {
    throw new Error(
      `real multiplier ${realMultiplier} is too large for inputs of ${inputBits} bits (x·M would leave int32)`,
    );
  }
  return { multiplier: q.multiplier, shift, inputShift };
}

/** x·M for |x| < 2^inputBits, with the multiplier's headroom (see HeadroomMultiplier). */
export function multiplyWithHeadroom(x: number, m: HeadroomMultiplier): number {
  return multiplyByQuantizedMultiplier(x << m.inputShift, m.multiplier, m.shift);
}
