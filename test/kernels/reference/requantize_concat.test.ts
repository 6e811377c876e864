import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, prepareConcat, prepareRequantize, requantize, requantizeValue } from "../../../src/kernels/reference/index.js";
import { assertWithinOneStep, dequantizeAll, int8Tensor, qp, quantizeAll, randomInt8Tensor, rng, values } from "./helpers.js";

test("requantize: hand-worked values, int8 ⇄ uint8 is an exact shift of 128", () => {
  const toUint8 = prepareRequantize(qp("int8", 0.1, -3), qp("uint8", 0.1, 125));
  assert.deepEqual(values(requantize(toUint8, int8Tensor("int8", [4], [-128, -3, 0, 127]))), [0, 125, 128, 255]);
  // s 0.5 → s 0.25 doubles (q − z): 3 → 6, saturating at the ends
  const finer = prepareRequantize(qp("int8", 0.5, 0), qp("int8", 0.25, 1));
  assert.deepEqual([3, -3, 100, -100].map((q) => requantizeValue(finer, q)), [7, -5, 127, -128]);
  // Exact ties round away from zero, for M above 1/2 as below it (the 22-bit headroom shift leaves the
  // tie to RoundingDivideByPOT; plain MBQM with M ≥ 1/2 would round it toward +∞ in SRDHM instead).
  // s 0.375 → s 0.25, M = 1.5: 1 → 1.5 → 2, −1 → −1.5 → −2, 3 → 4.5 → 5, 2 → 3
  const up = prepareRequantize(qp("int8", 0.375, 0), qp("int8", 0.25, 0));
  assert.deepEqual([1, -1, 3, 2].map((q) => requantizeValue(up, q)), [2, -2, 5, 3]);
  // s 0.375 → s 1.5, M = 1/4: 2 → 0.5 → 1, −2 → −0.5 → −1, 6 → 1.5 → 2, −6 → −2
  const down = prepareRequantize(qp("int8", 0.375, 0), qp("int8", 1.5, 0));
  assert.deepEqual([2, -2, 6, -6].map((q) => requantizeValue(down, q)), [1, -1, 2, -2]);
});

test("requantize: a value next to a tie is rounded once, not twice (the case plain MBQM gets wrong)", () => {
  // (−254)·(0.05/0.11) = −115.45 → −115. Plain MBQM (shift −1) rounds to −231 then −115.5 → −116.
  const plan = prepareRequantize(qp("int8", 0.05, 127), qp("uint8", 0.11, 255));
  assert.equal(requantizeValue(plan, -127), 255 - 115);
});

test("requantize vs float oracle over every input value", () => {
  for (const [from, to] of [
    [qp("uint8", 0.0173, 0), qp("int8", 0.0091, -128)],
    [qp("int8", 0.05, 127), qp("uint8", 0.11, 255)],
    [qp("uint8", 0.2, 255), qp("uint8", 0.0123, 7)],
  ] as const) {
    const [lo, hi] = from.dtype === "int8" ? [-128, 127] : [0, 255];
    const all = int8Tensor(from.dtype as "int8" | "uint8", [hi - lo + 1], Array.from({ length: hi - lo + 1 }, (_, i) => lo + i));
    assertWithinOneStep(requantize(prepareRequantize(from, to), all), quantizeAll(dequantizeAll(all, from), to), `${from.dtype}→${to.dtype}`);
  }
});

test("concat: hand-worked along axis 1 with one input needing requantization", () => {
  const out = qp("int8", 0.5, 0);
  const a = int8Tensor("int8", [2, 1], [1, 2]); // same params as out: copied
  const b = int8Tensor("uint8", [2, 2], [130, 128, 126, 132]); // s 0.25, z 128: reals 0.5, 0, −0.5, 1 → q 1, 0, −1, 2
  const plan = prepareConcat(1, [out, qp("uint8", 0.25, 128)], out);
  const y = concat(plan, [a, b]);
  assert.deepEqual(y.dims, [2, 3]);
  assert.deepEqual(values(y), [1, 1, 0, 2, -1, 2]);
});

test("concat vs float oracle along each axis of a rank-4 tensor, negative axis too", () => {
  const random = rng(7);
  // Scale ratios that are not simple fractions, so that exact ties (which the kernel rounds away from
  // zero and the oracle to even) stay rare.
  const params = [qp("uint8", 0.031, 0), qp("uint8", 0.047, 255), qp("int8", 0.019, -128)];
  const out = qp("uint8", 0.043, 128);
  for (const axis of [0, 1, 2, 3, -1]) {
    const dims = (k: number) => [2, 3, 4, 5].map((d, i) => (i === (axis + 4) % 4 ? d + k : d));
    const inputs = params.map((p, k) => randomInt8Tensor(random, p.dtype as "int8" | "uint8", dims(k)));
    const y = concat(prepareConcat(axis, params, out), inputs);
    // oracle: dequantize, concatenate by explicit index arithmetic, quantize
    const a = (axis + 4) % 4;
    const outer = [2, 3, 4, 5].slice(0, a).reduce((p, q) => p * q, 1);
    const floats: number[] = [];
    for (let o = 0; o < outer; o++) {
      inputs.forEach((t, k) => {
        const f = dequantizeAll(t, params[k]!);
        const block = f.length / outer;
        floats.push(...f.subarray(o * block, (o + 1) * block));
      });
    }
    assert.deepEqual(y.dims, dims(0).map((d, i) => (i === a ? d * 3 + 3 : d)));
    assertWithinOneStep(y, quantizeAll(floats, out), `concat axis ${axis}`);
  }
});

test("concat: bad inputs get clear errors", () => {
  const p = qp("int8", 1, 0);
  const plan = prepareConcat(0, [p, p], p);
  assert.throws(() => concat(plan, [int8Tensor("int8", [1, 2], [1, 2])]), /prepared for 2 inputs/);
  assert.throws(() => concat(plan, [int8Tensor("int8", [1, 2], [1, 2]), int8Tensor("int8", [1, 3], [1, 2, 3])]), /differ from input 0/);
  assert.throws(() => concat(plan, [int8Tensor("int8", [1, 2], [1, 2]), int8Tensor("uint8", [1, 2], [1, 2])]), /prepared for int8/);
  assert.throws(() => concat(prepareConcat(2, [p, p], p), [int8Tensor("int8", [2], [1, 2]), int8Tensor("int8", [2], [1, 2])]), /out of range/);
  assert.throws(() => prepareConcat(0, [], p), /at least one input/);
});
