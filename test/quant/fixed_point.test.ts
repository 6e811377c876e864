import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  INT32_MAX,
  INT32_MIN,
  frexp,
  multiplyByQuantizedMultiplier,
  multiplyWithHeadroom,
  quantizeMultiplier,
  quantizeMultiplierWithHeadroom,
  realValueOfMultiplier,
  roundHalfAwayFromZero,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from "../../src/quant/fixed_point.js";

// ---------------------------------------------------------------------------------------------
// BigInt oracles, written from the published definitions (not from the implementation under test).

/** gemmlowp fixedpoint.h, literally: nudge, then C division (BigInt `/` truncates toward zero). */
function srdhmOracle(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const product = BigInt(a) * BigInt(b);
  const nudge = product >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((product + nudge) / (1n << 31n));
}

/** x / 2^e rounded to nearest, ties away from zero, as exact rational arithmetic. */
function rdbpotOracle(x: number, exponent: number): number {
  const magnitude = BigInt(Math.abs(x));
  const divisor = 1n << BigInt(exponent);
  // floor(|x|/2^e + 1/2) = floor((2|x| + 2^e) / 2^(e+1))
  const rounded = (2n * magnitude + divisor) / (2n * divisor);
  return Number(x < 0 ? -rounded : rounded);
}

/** TFLite's MultiplyByQuantizedMultiplier composed from the two oracles (int32 left shift wraps). */
function mbqmOracle(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const shifted = Number(BigInt.asIntN(32, BigInt(x) << BigInt(left)));
  return rdbpotOracle(srdhmOracle(shifted, multiplier), right);
}

/** QuantizeMultiplier by repeated halving/doubling (exact in binary floating point). */
function quantizeMultiplierOracle(m: number): { multiplier: number; shift: number } {
  let fraction = m;
  let exponent = 0;
  while (fraction >= 1) { fraction /= 2; exponent += 1; }
  while (fraction < 0.5) { fraction *= 2; exponent -= 1; }
  let q = BigInt(Math.floor(fraction * 2 ** 31));
  if (fraction * 2 ** 31 - Number(q) >= 0.5) q += 1n;
  if (q === 1n << 31n) { q /= 2n; exponent += 1; }
  if (exponent < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: Number(q), shift: exponent };
}

const int32 = fc.integer({ min: INT32_MIN, max: INT32_MAX });
const EDGE_INT32 = [
  INT32_MIN, INT32_MIN + 1, -(2 ** 30) - 1, -(2 ** 30), -(2 ** 30) + 1, -65537, -65536, -65535,
  -32768, -3, -2, -1, 0, 1, 2, 3, 32767, 65535, 65536, 65537, 2 ** 30 - 1, 2 ** 30, 2 ** 30 + 1,
  INT32_MAX - 1, INT32_MAX,
];

// ---------------------------------------------------------------------------------------------

test("roundHalfAwayFromZero is C's round, including the cases Math.floor(x + 0.5) gets wrong", () => {
  assert.equal(roundHalfAwayFromZero(2.5), 3);
  assert.equal(roundHalfAwayFromZero(-2.5), -3); // Math.round gives -2
  assert.equal(roundHalfAwayFromZero(0.49999999999999994), 0); // floor(x + 0.5) gives 1
  assert.equal(roundHalfAwayFromZero(2 ** 52 + 1), 2 ** 52 + 1); // floor(x + 0.5) gives 2^52 + 2
  assert.equal(roundHalfAwayFromZero(-0.4), -0);
  assert.equal(roundHalfAwayFromZero(1.5), 2);
});

test("frexp matches x = fraction·2^exponent with fraction in [0.5, 1), also for subnormals", () => {
  assert.deepEqual(frexp(1), { fraction: 0.5, exponent: 1 });
  assert.deepEqual(frexp(0.5), { fraction: 0.5, exponent: 0 });
  assert.deepEqual(frexp(3), { fraction: 0.75, exponent: 2 });
  assert.deepEqual(frexp(Number.MIN_VALUE), { fraction: 0.5, exponent: -1073 });
  assert.deepEqual(frexp(Number.MAX_VALUE), { fraction: 1 - 2 ** -53, exponent: 1024 });
  fc.assert(fc.property(fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true }), (x) => {
    const { fraction, exponent } = frexp(x);
    return fraction >= 0.5 && fraction < 1 && fraction * 2 ** exponent === x;
  }), { numRuns: 2000 });
  assert.throws(() => frexp(0), /positive finite/);
  assert.throws(() => frexp(-1), /positive finite/);
});

test("quantizeMultiplier: hand-worked values", () => {
  assert.deepEqual(quantizeMultiplier(0), { multiplier: 0, shift: 0 });
  assert.deepEqual(quantizeMultiplier(0.5), { multiplier: 2 ** 30, shift: 0 });
  assert.deepEqual(quantizeMultiplier(1), { multiplier: 2 ** 30, shift: 1 });
  assert.deepEqual(quantizeMultiplier(0.75), { multiplier: 3 * 2 ** 29, shift: 0 });
  assert.deepEqual(quantizeMultiplier(0.25), { multiplier: 2 ** 30, shift: -1 });
  assert.deepEqual(quantizeMultiplier(3), { multiplier: 3 * 2 ** 29, shift: 2 });
  // 1/3 = 0.666…·2^−1: M0 = round(2^31·2/3) = 1431655765 (2^31·2/3 = 1431655765.33…)
  assert.deepEqual(quantizeMultiplier(1 / 3), { multiplier: 1431655765, shift: -1 });
  // The smallest shift kept is −31 (M = 2^−32 → 0.5·2^−31); below that, flush to zero.
  assert.deepEqual(quantizeMultiplier(2 ** -32), { multiplier: 2 ** 30, shift: -31 });
  assert.deepEqual(quantizeMultiplier(2 ** -33), { multiplier: 0, shift: 0 });
  assert.deepEqual(quantizeMultiplier(2 ** 29), { multiplier: 2 ** 30, shift: 30 });
});

test("quantizeMultiplier: the M0 = 2^31 rounding edge becomes 2^30 with one more shift", () => {
  // frexp(1 − 2^−33) = (1 − 2^−33, 0); (1 − 2^−33)·2^31 = 2^31 − 0.25 rounds to 2^31.
  assert.deepEqual(quantizeMultiplier(1 - 2 ** -33), { multiplier: 2 ** 30, shift: 1 });
  // Just below the tie, (1 − 2^−32 − 2^−40)·2^31 = 2^31 − 0.5 − 2^−9 rounds down to 2^31 − 1.
  assert.deepEqual(quantizeMultiplier(1 - 2 ** -32 - 2 ** -40), { multiplier: 2 ** 31 - 1, shift: 0 });
  // At the tie exactly (2^31 − 0.5) round half away from zero goes up.
  assert.deepEqual(quantizeMultiplier((1 - 2 ** -32) * 2 ** -5), { multiplier: 2 ** 30, shift: -4 });
});

test("quantizeMultiplier: bad inputs are named", () => {
  assert.throws(() => quantizeMultiplier(-0.5), /finite real multiplier ≥ 0/);
  assert.throws(() => quantizeMultiplier(Number.NaN), /finite real multiplier/);
  assert.throws(() => quantizeMultiplier(Infinity), /finite real multiplier/);
  assert.throws(() => quantizeMultiplier(2 ** 31), /too large/);
});

test("quantizeMultiplier: M0 in [2^30, 2^31) and within half an M0 unit of M, vs the halving oracle", () => {
  fc.assert(fc.property(fc.double({ min: 2 ** -31, max: 2 ** 29, noNaN: true }), (m) => {
    const q = quantizeMultiplier(m);
    assert.deepEqual(q, quantizeMultiplierOracle(m));
    assert.ok(q.multiplier >= 2 ** 30 && q.multiplier < 2 ** 31, `M0 ${q.multiplier} out of range`);
    const unit = 2 ** (q.shift - 31);
    assert.ok(Math.abs(realValueOfMultiplier(q) - m) <= unit / 2, `M0 too far from ${m}`);
    return true;
  }), { numRuns: 5000 });
});

test("saturatingRoundingDoublingHighMul: hand-worked values", () => {
  // 2^30·2^30 / 2^31 = 2^29 exactly
  assert.equal(saturatingRoundingDoublingHighMul(2 ** 30, 2 ** 30), 2 ** 29);
  // 1·2^30 / 2^31 = 0.5 → ties toward +∞ → 1; −0.5 → 0 (not −1: not away from zero)
  assert.equal(saturatingRoundingDoublingHighMul(1, 2 ** 30), 1);
  assert.equal(saturatingRoundingDoublingHighMul(-1, 2 ** 30), 0);
  // 3·2^30 / 2^31 = 1.5 → 2; −1.5 → −1
  assert.equal(saturatingRoundingDoublingHighMul(3, 2 ** 30), 2);
  assert.equal(saturatingRoundingDoublingHighMul(-3, 2 ** 30), -1);
  // the one overflow saturates
  assert.equal(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN), INT32_MAX);
  // INT32_MIN·INT32_MAX = −2^62 + 2^31 → −2^31 + 1 exactly
  assert.equal(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MAX), INT32_MIN + 1);
  assert.equal(saturatingRoundingDoublingHighMul(INT32_MAX, INT32_MAX), INT32_MAX - 1);
  assert.throws(() => saturatingRoundingDoublingHighMul(2 ** 31, 1), /int32 operands/);
  assert.throws(() => saturatingRoundingDoublingHighMul(0.5, 1), /int32 operands/);
});

test("saturatingRoundingDoublingHighMul equals the BigInt gemmlowp oracle on every pair of edge values", () => {
  for (const a of EDGE_INT32) {
    for (const b of EDGE_INT32) {
      assert.equal(saturatingRoundingDoublingHighMul(a, b), srdhmOracle(a, b), `a=${a} b=${b}`);
    }
  }
});

test("saturatingRoundingDoublingHighMul equals the BigInt oracle on random int32 pairs", () => {
  fc.assert(fc.property(int32, int32, (a, b) => saturatingRoundingDoublingHighMul(a, b) === srdhmOracle(a, b)),
    { numRuns: 20000 });
  // products near the rounding boundary: b = 2^30 makes a·b/2^31 = a/2, a tie for every odd a
  fc.assert(fc.property(int32, (a) => saturatingRoundingDoublingHighMul(a, 2 ** 30) === srdhmOracle(a, 2 ** 30)),
    { numRuns: 5000 });
});

test("roundingDivideByPOT: hand-worked ties go away from zero", () => {
  assert.equal(roundingDivideByPOT(5, 1), 3); // 2.5 → 3
  assert.equal(roundingDivideByPOT(-5, 1), -3); // −2.5 → −3
  assert.equal(roundingDivideByPOT(-3, 1), -2); // −1.5 → −2
  assert.equal(roundingDivideByPOT(-1, 1), -1); // −0.5 → −1
  assert.equal(roundingDivideByPOT(1, 1), 1); // 0.5 → 1
  assert.equal(roundingDivideByPOT(6, 2), 2); // 1.5 → 2
  assert.equal(roundingDivideByPOT(-6, 2), -2); // −1.5 → −2
  assert.equal(roundingDivideByPOT(-5, 2), -1); // −1.25 → −1
  assert.equal(roundingDivideByPOT(7, 0), 7);
  assert.equal(roundingDivideByPOT(INT32_MIN, 31), -1);
  assert.equal(roundingDivideByPOT(INT32_MAX, 31), 1);
  assert.equal(roundingDivideByPOT(2 ** 30, 31), 1); // 0.5 → 1
  assert.equal(roundingDivideByPOT(-(2 ** 30), 31), -1);
  assert.throws(() => roundingDivideByPOT(1, 32), /exponent in \[0, 31\]/);
  assert.throws(() => roundingDivideByPOT(1, -1), /exponent in \[0, 31\]/);
});

test("roundingDivideByPOT equals exact rational rounding on edge values and random values", () => {
  for (const x of EDGE_INT32) {
    for (let e = 0; e <= 31; e++) assert.equal(roundingDivideByPOT(x, e), rdbpotOracle(x, e), `x=${x} e=${e}`);
  }
  fc.assert(fc.property(int32, fc.integer({ min: 0, max: 31 }),
    (x, e) => roundingDivideByPOT(x, e) === rdbpotOracle(x, e)), { numRuns: 20000 });
});

test("multiplyByQuantizedMultiplier: hand-worked values", () => {
  const half = quantizeMultiplier(0.5);
  assert.equal(multiplyByQuantizedMultiplier(5, half.multiplier, half.shift), 3); // 2.5 → 3 (SRDHM tie → +∞)
  assert.equal(multiplyByQuantizedMultiplier(-5, half.multiplier, half.shift), -2); // −2.5: SRDHM ties up
  const quarter = quantizeMultiplier(0.25);
  // 2^30·(−5)/2^31 = −2.5 → SRDHM gives −2, then −2/2 = −1 exactly
  assert.equal(multiplyByQuantizedMultiplier(-5, quarter.multiplier, quarter.shift), -1);
  // −6·0.25 = −1.5: SRDHM −3 exactly, then RDBPOT −1.5 → −2 (away from zero)
  assert.equal(multiplyByQuantizedMultiplier(-6, quarter.multiplier, quarter.shift), -2);
  const three = quantizeMultiplier(3);
  assert.equal(multiplyByQuantizedMultiplier(100, three.multiplier, three.shift), 300);
  assert.equal(multiplyByQuantizedMultiplier(-100, three.multiplier, three.shift), -300);
  const third = quantizeMultiplier(1 / 3);
  assert.equal(multiplyByQuantizedMultiplier(300, third.multiplier, third.shift), 100);
  assert.equal(multiplyByQuantizedMultiplier(299, third.multiplier, third.shift), 100); // 99.67
  // Double rounding: 298/3 = 99.33, but SRDHM first gives round(298·M0/2^31) = round(198.67) = 199,
  // and RDBPOT then rounds 199/2 = 99.5 away from zero to 100. TFLite's kernels do the same.
  assert.equal(multiplyByQuantizedMultiplier(298, third.multiplier, third.shift), 100);
  assert.equal(multiplyByQuantizedMultiplier(296, third.multiplier, third.shift), 99); // 98.67: 197.33 → 197 → 98.5 → 99
  assert.throws(() => multiplyByQuantizedMultiplier(1, 2 ** 30, 31), /shift in/);
  assert.throws(() => multiplyByQuantizedMultiplier(1, -1, 0), /non-negative int32 multiplier/);
});

test("multiplyByQuantizedMultiplier equals the composed BigInt oracle on edge and random values", () => {
  const multipliers = [0, 1, 2 ** 30, 2 ** 30 + 1, 1431655765, INT32_MAX];
  for (const x of EDGE_INT32) {
    for (const m of multipliers) {
      for (let shift = -31; shift <= 30; shift++) {
        assert.equal(multiplyByQuantizedMultiplier(x, m, shift), mbqmOracle(x, m, shift), `x=${x} m=${m} s=${shift}`);
      }
    }
  }
  fc.assert(fc.property(int32, fc.integer({ min: 2 ** 30, max: INT32_MAX }), fc.integer({ min: -31, max: 30 }),
    (x, m, shift) => multiplyByQuantizedMultiplier(x, m, shift) === mbqmOracle(x, m, shift)), { numRuns: 20000 });
});

test("multiplyByQuantizedMultiplier is within one of the correctly rounded real product", () => {
  // The double rounding (SRDHM then RDBPOT) and M0's own rounding cost at most one unit.
  fc.assert(fc.property(fc.integer({ min: -(2 ** 22), max: 2 ** 22 }), fc.double({ min: 1e-6, max: 100, noNaN: true }),
    (acc, m) => {
      const q = quantizeMultiplier(m);
      const got = multiplyByQuantizedMultiplier(acc, q.multiplier, q.shift);
      return Math.abs(got - acc * m) <= 1;
    }), { numRuns: 20000 });
});

test("quantizeMultiplierWithHeadroom: hand-worked shifts and the double-rounding case it fixes", () => {
  // M = 0.5, 8-bit inputs: 22 bits of headroom, shift 0 − 22
  assert.deepEqual(quantizeMultiplierWithHeadroom(0.5, 8), { multiplier: 2 ** 30, shift: -22, inputShift: 22 });
  // M = 4 (shift 3), 16-bit inputs: headroom 14, shift 3 − 14 = −11
  assert.deepEqual(quantizeMultiplierWithHeadroom(4, 16), { multiplier: 2 ** 30, shift: -11, inputShift: 14 });
  // tiny M: the headroom is capped so that the shift stays ≥ −31
  assert.deepEqual(quantizeMultiplierWithHeadroom(2 ** -20, 8), { multiplier: 2 ** 30, shift: -31, inputShift: 12 });
  assert.deepEqual(quantizeMultiplierWithHeadroom(0, 8), { multiplier: 0, shift: 0, inputShift: 0 });
  assert.throws(() => quantizeMultiplierWithHeadroom(2 ** 22, 8), /too large for inputs of 8 bits/);
  assert.throws(() => quantizeMultiplierWithHeadroom(1, 31), /inputBits in \[0, 30\]/);
  // −254·(0.05/0.11): exact −115.45 → −115; plain MBQM rounds twice (−230.9 → −231 → −115.5 → −116)
  const m = Math.fround(0.05) / Math.fround(0.11);
  const plain = quantizeMultiplier(m);
  assert.equal(multiplyByQuantizedMultiplier(-254, plain.multiplier, plain.shift), -116);
  assert.equal(multiplyWithHeadroom(-254, quantizeMultiplierWithHeadroom(m, 8)), -115);
  // exact ties go away from zero whatever M is (with M ≥ 1/2 plain MBQM sends them toward +∞)
  assert.equal(multiplyWithHeadroom(-3, quantizeMultiplierWithHeadroom(0.5, 8)), -2);
  assert.equal(multiplyByQuantizedMultiplier(-3, 2 ** 30, 0), -1);
});

test("multiplyWithHeadroom is the correctly rounded product except within 2^−(right shift) of a tie", () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 24 }), fc.double({ min: 1e-6, max: 8, noNaN: true }), fc.integer(),
    (bits, m, seed) => {
      const limit = 2 ** bits - 1;
      const x = limit === 0 ? 0 : (Math.abs(seed) % (2 * limit + 1)) - limit;
      let hm;
      try { hm = quantizeMultiplierWithHeadroom(m, bits); } catch { return true; } // M too large for these bits
      const got = multiplyWithHeadroom(x, hm);
      // the exact rational x·M0·2^(q.shift − 31), with q.shift = shift + inputShift
      const exact = x * hm.multiplier * 2 ** (hm.shift + hm.inputShift - 31);
      const rightShift = -hm.shift;
      return Math.abs(got - exact) <= 0.5 + 2 ** -rightShift + 1e-6; // 1e-6: the double product is inexact above 2^53
    }), { numRuns: 20000 });
});
