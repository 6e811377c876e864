import { test } from "node:test";
import assert from "node:assert/strict";
import { add, mul, prepareAdd, prepareMul, prepareSub, sub, broadcastShapes, broadcastIndices } from "../../../src/kernels/reference/index.js";
import {
  type Int8DType, assertWithinOneStep, dequantizeAll, int8Tensor, qp, quantizeAll, randomInt8Tensor, rng, values,
} from "./helpers.js";

test("broadcast: shapes and index maps, hand-worked", () => {
  assert.deepEqual(broadcastShapes([2, 3, 4], [3, 1]), [2, 3, 4]);
  assert.deepEqual(broadcastShapes([1], [5, 2]), [5, 2]);
  assert.deepEqual(broadcastShapes([], [2]), [2]);
  assert.throws(() => broadcastShapes([2, 3], [4]), /cannot be broadcast/);
  // [3, 1] into [2, 3, 2]: each row value repeated twice, the whole block twice
  assert.deepEqual(Array.from(broadcastIndices([3, 1], [2, 3, 2])), [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
  assert.deepEqual(Array.from(broadcastIndices([2], [3, 2])), [0, 1, 0, 1, 0, 1]);
  assert.deepEqual(Array.from(broadcastIndices([2, 1, 3], [2, 2, 3])), [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
});

test("add/sub/mul: hand-worked values with different input scales", () => {
  // a: s 0.5 z 0; b: s 0.25 z 10; out: s 1 z −5
  const quant = { a: qp("int8", 0.5, 0), b: qp("int8", 0.25, 10), output: qp("int8", 1, -5) };
  const a = int8Tensor("int8", [3], [4, 6, -8]); // 2, 3, −4
  const b = int8Tensor("int8", [3], [14, 2, 30]); // 1, −2, 5
  assert.deepEqual(values(add(prepareAdd(quant), a, b)), [3 - 5, 1 - 5, 1 - 5]);
  assert.deepEqual(values(sub(prepareSub(quant), a, b)), [1 - 5, 5 - 5, -9 - 5]);
  // mul: products 2, −6, −20 with out s 0.5 z 3 → 7, −9, −37
  assert.deepEqual(values(mul(prepareMul({ ...quant, output: qp("int8", 0.5, 3) }), a, b)), [7, -9, -37]);
});

test("add: exact ties round away from zero (RoundingDivideByPOT), where QuantizeLinear would round to even", () => {
  const plan = prepareAdd({ a: qp("int8", 0.5, 0), b: qp("int8", 0.25, 10), output: qp("int8", 1, -5) });
  // 0.5 + 0 = 0.5 → 1 (half-even would give 0); −0.5 → −1; 1.5 → 2 (same either way); 2.5 → 3 (half-even: 2)
  const a = int8Tensor("int8", [4], [1, -1, 3, 5]);
  const b = int8Tensor("int8", [4], [10, 10, 10, 10]);
  assert.deepEqual(values(add(plan, a, b)), [1 - 5, -1 - 5, 2 - 5, 3 - 5]);
});

test("mul: a small product next to a tie is rounded once (14 bits of headroom), not twice", () => {
  // 352·M with M = 0.0326170… = 11.48 → 11. Without headroom SRDHM would first give round(183.7) = 184
  // (shift −4) and RoundingDivideByPOT then 184/16 = 11.5 → 12.
  const quant = { a: qp("uint8", 0.04, 100), b: qp("int8", 0.04, -7), output: qp("int8", 0.049054116010665894, 0) };
  const plan = prepareMul(quant);
  assert.equal(plan.multiplier.inputShift, 14);
  assert.deepEqual(values(mul(plan, int8Tensor("uint8", [1], [111]), int8Tensor("int8", [1], [25]))), [11]); // (11)(32) = 352
});

test("add: saturation and fused Relu clamp", () => {
  const quant = { a: qp("uint8", 0.1, 0), b: qp("uint8", 0.1, 0), output: qp("uint8", 0.1, 0) };
  // 25.5 + 25.5 = 51 saturates to 255; Relu keeps quantize(0) = 0 as the floor
  assert.deepEqual(values(add(prepareAdd(quant), int8Tensor("uint8", [2], [255, 3]), int8Tensor("uint8", [2], [255, 4]))), [255, 7]);
  const relu = prepareSub({ a: qp("int8", 0.1, 0), b: qp("int8", 0.1, 0), output: qp("int8", 0.1, -20), activation: { kind: "relu" } });
  // 1 − 3 = −2 → −20 + −20 = −40, clamped by Relu to quantize(0) = −20; 3 − 1 = 2 → 0
  assert.deepEqual(values(sub(relu, int8Tensor("int8", [2], [10, 30]), int8Tensor("int8", [2], [30, 10]))), [-20, 0]);
});

interface Case { name: string; aDims: number[]; bDims: number[]; aDType: Int8DType; bDType: Int8DType; outDType: Int8DType; aZ: number; bZ: number; outZ: number; sa: number; sb: number; squeeze?: number }

const CASES: Case[] = [
  { name: "same shape, very different scales", aDims: [4, 5], bDims: [4, 5], aDType: "uint8", bDType: "uint8", outDType: "uint8", aZ: 0, bZ: 255, outZ: 128, sa: 0.01, sb: 0.3 },
  { name: "broadcast [2,3,4] with [3,1], int8 edge zps", aDims: [2, 3, 4], bDims: [3, 1], aDType: "int8", bDType: "int8", outDType: "int8", aZ: -128, bZ: 127, outZ: 0, sa: 0.05, sb: 0.07 },
  { name: "scalar-like [1] with [5,2], mixed int8/uint8", aDims: [1], bDims: [5, 2], aDType: "int8", bDType: "uint8", outDType: "uint8", aZ: 3, bZ: 200, outZ: 17, sa: 0.2, sb: 0.002 },
  { name: "saturating output (range fraction 0.3)", aDims: [3, 1, 5], bDims: [1, 4, 5], aDType: "uint8", bDType: "int8", outDType: "int8", aZ: 100, bZ: -7, outZ: -30, sa: 0.04, sb: 0.04, squeeze: 0.3 },
];

function floatBinary(c: Case, f: (x: number, y: number) => number, af: Float64Array, bf: Float64Array): number[] {
  const outDims = broadcastShapes(c.aDims, c.bDims);
  const ai = broadcastIndices(c.aDims, outDims);
  const bi = broadcastIndices(c.bDims, outDims);
  return Array.from(ai, (ia, i) => f(af[ia]!, bf[bi[i]!]!));
}

for (const [ci, c] of CASES.entries()) {
  for (const [opName, f] of [["add", (x: number, y: number) => x + y], ["sub", (x: number, y: number) => x - y], ["mul", (x: number, y: number) => x * y]] as const) {
    test(`${opName} vs float oracle: ${c.name}`, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const random = rng(ci * 100 + seed);
        const a = randomInt8Tensor(random, c.aDType, c.aDims);
        const b = randomInt8Tensor(random, c.bDType, c.bDims);
        const aq = qp(c.aDType, c.sa, c.aZ);
        const bq = qp(c.bDType, c.sb, c.bZ);
        const yf = floatBinary(c, f, dequantizeAll(a, aq), dequantizeAll(b, bq));
        const lo = Math.min(0, ...yf);
        const hi = Math.max(1e-6, ...yf);
        const out = qp(c.outDType, Math.fround(((hi - lo) * (c.squeeze ?? 1)) / 255), c.outZ);
        const quant = { a: aq, b: bq, output: out };
        const y = opName === "add" ? add(prepareAdd(quant), a, b) : opName === "sub" ? sub(prepareSub(quant), a, b) : mul(prepareMul(quant), a, b);
        assert.deepEqual(y.dims, broadcastShapes(c.aDims, c.bDims));
        assertWithinOneStep(y, quantizeAll(yf, out), `${opName} ${c.name} seed ${seed}`);
      }
    });
  }
}

test("add/mul: bad inputs get clear errors", () => {
  const quant = { a: qp("int8", 0.5, 0), b: qp("int8", 0.25, 10), output: qp("int8", 1, -5) };
  assert.throws(() => add(prepareAdd(quant), int8Tensor("uint8", [1], [1]), int8Tensor("int8", [1], [1])), /prepared for int8 and int8/);
  assert.throws(() => add(prepareAdd(quant), int8Tensor("int8", [2], [1, 2]), int8Tensor("int8", [3], [1, 2, 3])), /cannot be broadcast/);
  assert.throws(() => sub(prepareAdd(quant), int8Tensor("int8", [1], [1]), int8Tensor("int8", [1], [1])), /prepareSub/);
  assert.throws(() => prepareAdd({ ...quant, output: qp("int8", 1e-7, 0) }), /too small for the 20-bit scheme/);
  assert.throws(() => prepareMul({ ...quant, output: qp("int8", 1e-6, 0) }), /too large for inputs of 16 bits/);
  assert.throws(() => prepareAdd({ ...quant, a: { dtype: "int16", scale: Float32Array.of(1), zeroPoint: Int32Array.of(0) } }), /int8 or uint8/);
});
