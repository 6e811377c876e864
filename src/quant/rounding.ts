/**
 * Round to nearest, ties to even ("banker's rounding"): the rounding of ONNX QuantizeLinear
 * ("For (x / y_scale), it rounds to the nearest even", ONNX operator spec) and of numpy.rint / C's
 * nearbyint in the default rounding mode.
 *
 * JavaScript's Math.round rounds ties toward +∞ (2.5 → 3, −2.5 → −2), which is neither this nor C's
 * `round` (ties away from zero). We start from it and fix the one case where it is wrong: a tie
 * that landed on an odd integer. `r − x` is exact here: for |x| < 2^52 both are within 1 of each
 * other with x's ulp ≤ 0.5, and beyond 2^52 every double is an integer, so r === x.
 *
 * Returns +0 rather than −0 for inputs in (−0.5, 0], so that integer results compare cleanly.
 */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r === 0 ? 0 : r;
}
