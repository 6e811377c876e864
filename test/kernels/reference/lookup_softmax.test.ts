import { test } from "node:test";
import assert from "node:assert/strict";
import {
  lookupTable, prepareHardSigmoid, prepareHardSwish, prepareLeakyRelu, prepareLookupTable, prepareSigmoid, prepareSoftmax,
  prepareTanh, softmax, softmaxOutputQParams,
} from "../../../src/kernels/reference/index.js";
import type { QParams } from "../../../src/quant/qparams.js";
import { type Int8DType, assertWithinOneStep, dequantizeAll, int8Tensor, qp, quantizeAll, randomInt8Tensor, rng, values } from "./helpers.js";

test("lookup tables: hand-worked values of each activation", () => {
  const out256 = qp("int8", 1 / 256, -128);
  // sigmoid(0) = 0.5 → 128 − 128 = 0; the input's zero point is real 0
  assert.deepEqual(values(lookupTable(prepareSigmoid(qp("int8", 0.1, 5), out256), int8Tensor("int8", [1], [5]))), [0]);
  // tanh(0) = 0 → the output zero point
  assert.deepEqual(values(lookupTable(prepareTanh(qp("uint8", 0.1, 128), qp("uint8", 1 / 128, 128)), int8Tensor("uint8", [1], [128]))), [128]);
  // hard-swish: s_in 0.5 → q 2 = 1.0 → 1·(1/6 + 1/2) = 2/3 → s_out 1/3 → 2; q −6 = −3 → 0; q 6 = 3 → 3 → 9
  const hs = prepareHardSwish(qp("int8", 0.5, 0), qp("int8", 1 / 3, 0));
  assert.deepEqual(values(lookupTable(hs, int8Tensor("int8", [3], [2, -6, 6]))), [2, 0, 9]);
  // hard-sigmoid(−2.5) = 0.2·(−2.5) + 0.5 = 0 → zero point 3; hard-sigmoid(5) saturates at 1 → 3 + 100
  const hsig = prepareHardSigmoid(qp("int8", 0.5, 0), qp("int8", 0.01, 3));
  assert.deepEqual(values(lookupTable(hsig, int8Tensor("int8", [2], [-5, 10]))), [3, 103]);
  // leaky relu alpha 0.25: −2 → −0.5 → q −5 at s 0.1; 2 → 2 → 20
  const lr = prepareLeakyRelu(qp("int8", 1, 0), qp("int8", 0.1, 0), 0.25);
  assert.deepEqual(values(lookupTable(lr, int8Tensor("int8", [2], [-2, 2]))), [-5, 20]);
});

test("lookup tables vs float oracle on every input value, int8 and uint8, edge zero points", () => {
  const fns: [string, (x: number) => number, (i: QParams, o: QParams) => ReturnType<typeof prepareSigmoid>][] = [
    ["sigmoid", (x) => 1 / (1 + Math.exp(-x)), prepareSigmoid],
    ["tanh", Math.tanh, prepareTanh],
    ["hardSwish", (x) => x * Math.min(1, Math.max(0, x / 6 + 0.5)), prepareHardSwish],
    ["hardSigmoid", (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)), (i, o) => prepareHardSigmoid(i, o)],
    ["leakyRelu", (x) => (x < 0 ? 0.01 * x : x), (i, o) => prepareLeakyRelu(i, o)],
  ];
  const params: [QParams, QParams][] = [
    [qp("int8", 0.05, -128), qp("int8", 1 / 256, -128)],
    [qp("uint8", 0.07, 255), qp("uint8", 0.03, 200)],
    [qp("uint8", 0.04, 0), qp("int8", 0.02, 127)],
    [qp("int8", 0.1, 127), qp("uint8", 0.05, 0)],
  ];
  for (const [name, f, prepare] of fns) {
    for (const [inP, outP] of params) {
      const [lo, hi] = inP.dtype === "int8" ? [-128, 127] : [0, 255];
      const all = int8Tensor(inP.dtype as Int8DType, [hi - lo + 1], Array.from({ length: hi - lo + 1 }, (_, i) => lo + i));
      const expected = quantizeAll(Array.from(dequantizeAll(all, inP), f), outP);
      assertWithinOneStep(lookupTable(prepare(inP, outP), all), expected, `${name} ${inP.dtype}→${outP.dtype}`, 0.01);
    }
  }
});

test("lookup table: a table built for int8 refuses uint8 input, NaN results are refused", () => {
  const plan = prepareSigmoid(qp("int8", 0.1, 0), qp("int8", 1 / 256, -128));
  assert.throws(() => lookupTable(plan, int8Tensor("uint8", [1], [1])), /built for int8/);
  assert.throws(() => prepareLookupTable(() => Number.NaN, qp("int8", 0.1, 0), qp("int8", 0.1, 0)), /is NaN/);
});

test("softmax: fixed output params are 1/256 with zero point −128 (int8) or 0 (uint8)", () => {
  assert.deepEqual(softmaxOutputQParams("int8"), { dtype: "int8", scale: Float32Array.of(1 / 256), zeroPoint: Int32Array.of(-128) });
  assert.deepEqual(softmaxOutputQParams("uint8"), { dtype: "uint8", scale: Float32Array.of(1 / 256), zeroPoint: Int32Array.of(0) });
});

test("softmax: hand-worked rows", () => {
  // four equal values → 1/4 each → 64 (−64 in int8)
  assert.deepEqual(values(softmax(prepareSoftmax(qp("int8", 0.1, 0), "int8"), int8Tensor("int8", [1, 4], [5, 5, 5, 5]))), [-64, -64, -64, -64]);
  assert.deepEqual(values(softmax(prepareSoftmax(qp("uint8", 0.1, 0), "uint8"), int8Tensor("uint8", [4], [9, 9, 9, 9]))), [64, 64, 64, 64]);
  // a difference of one step with s = ln 3: probabilities 3/4 and 1/4 → 192, 64
  const ln3 = prepareSoftmax(qp("uint8", Math.fround(Math.log(3)), 0), "uint8");
  assert.deepEqual(values(softmax(ln3, int8Tensor("uint8", [2], [7, 6]))), [192, 64]);
  // a certain class: p = 1 → 256 saturates to qmax; the rest ≈ 0
  assert.deepEqual(values(softmax(prepareSoftmax(qp("int8", 1, 0), "int8"), int8Tensor("int8", [3], [100, -100, -50]))), [127, -128, -128]);
  // along axis 0 of a [2, 2]: columns [1, 1] → 1/2 each (128), and [0, 0] too
  assert.deepEqual(values(softmax(prepareSoftmax(qp("uint8", 0.5, 0), "uint8", 0), int8Tensor("uint8", [2, 2], [1, 0, 1, 0]))), [128, 128, 128, 128]);
});

function floatSoftmax(x: Float64Array, dims: number[], axis: number): number[] {
  const a = (axis + dims.length) % dims.length;
  const len = dims[a]!;
  const inner = dims.slice(a + 1).reduce((p, q) => p * q, 1);
  const outer = x.length / (len * inner);
  const out = new Array<number>(x.length);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    const idx = (k: number) => (o * len + k) * inner + i;
    let m = -Infinity;
    for (let k = 0; k < len; k++) m = Math.max(m, x[idx(k)]!);
    let s = 0;
    for (let k = 0; k < len; k++) s += Math.exp(x[idx(k)]! - m);
    for (let k = 0; k < len; k++) out[idx(k)] = Math.exp(x[idx(k)]! - m) / s;
  }
  return out;
}

test("softmax vs float oracle: axes, dtypes, input scales, long rows", () => {
  const cases: [number[], number, QParams, Int8DType][] = [
    [[3, 10], -1, qp("int8", 0.1, -128), "int8"],
    [[2, 5, 3], 1, qp("uint8", 0.05, 255), "uint8"],
    [[4, 7], 0, qp("uint8", 0.3, 0), "int8"],
    [[2, 6625], -1, qp("int8", 0.08, 127), "uint8"], // the PP-OCR recogniser's class count
    [[1, 1000], 1, qp("uint8", 0.02, 90), "int8"],
  ];
  for (const [i, [dims, axis, inP, outDType]] of cases.entries()) {
    const x = randomInt8Tensor(rng(i + 1), inP.dtype as Int8DType, dims);
    const y = softmax(prepareSoftmax(inP, outDType, axis), x);
    const expected = quantizeAll(floatSoftmax(dequantizeAll(x, inP), dims, axis), softmaxOutputQParams(outDType));
    assertWithinOneStep(y, expected, `softmax case ${i}`);
  }
});

test("softmax: bad inputs get clear errors", () => {
  assert.throws(() => prepareSoftmax(qp("int8", 0.1, 0), "int16" as Int8DType), /int8 or uint8/);
  assert.throws(() => prepareSoftmax(qp("int8", 0.1, 0), "int8", 0.5), /integer/);
  assert.throws(() => softmax(prepareSoftmax(qp("int8", 0.1, 0), "int8", 2), int8Tensor("int8", [2, 2], [1, 2, 3, 4])), /out of range/);
  assert.throws(() => softmax(prepareSoftmax(qp("int8", 0.1, 0), "int8"), int8Tensor("uint8", [2], [1, 2])), /prepared for int8/);
});
