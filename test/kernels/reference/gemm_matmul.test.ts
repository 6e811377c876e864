import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  gemm, integerMatMulDirect, integerMatMulWithZeroPointSums, matMul, matMulInteger, prepareGemm, prepareMatMul, columnSums,
} from "../../../src/kernels/reference/index.js";
import {
  type Int8DType, assertWithinOneStep, dequantizeAll, dequantizeOracle, int32Tensor, int8Tensor, qp, qpPerAxis, quantizeAll,
  randomInt, randomInt8Tensor, rng, values,
} from "./helpers.js";

test("integer matmul: hand-worked 2×2 with zero points, both forms", () => {
  // (a − 1)·(b − 2): a − 1 = [[1, 2], [3, 4]], b − 2 = [[5, 6], [7, 8]] → [[19, 22], [43, 50]]
  const op = {
    a: Uint8Array.of(2, 3, 4, 5), aZeroPoints: [1], b: Int8Array.of(7, 8, 9, 10), bZeroPoints: [2], m: 2, k: 2, n: 2,
  };
  assert.deepEqual(Array.from(integerMatMulDirect(op)), [19, 22, 43, 50]);
  assert.deepEqual(Array.from(integerMatMulWithZeroPointSums(op)), [19, 22, 43, 50]);
  // per-row zero points of A and per-column of B: (a − [1, 2]ᵀ)·(b − [2, 3])
  const op2 = { ...op, aZeroPoints: [1, 2], bZeroPoints: [2, 3] };
  // a − z = [[1, 2], [2, 3]], b − z = [[5, 5], [7, 7]] → [[19, 19], [31, 31]]
  assert.deepEqual(Array.from(integerMatMulDirect(op2)), [19, 19, 31, 31]);
  assert.deepEqual(Array.from(integerMatMulWithZeroPointSums(op2)), [19, 19, 31, 31]);
});

test("integer matmul: zero-point sums equal the direct form on random operands (fast-check)", () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 6 }),
    fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), fc.integer(),
    (m, k, n, aUnsigned, bUnsigned, perRow, perColumn, seed) => {
      const random = rng(seed);
      const a = randomInt8Tensor(random, aUnsigned ? "uint8" : "int8", [m, k]);
      const b = randomInt8Tensor(random, bUnsigned ? "uint8" : "int8", [k, n]);
      const zero = (unsigned: boolean) => (unsigned ? randomInt(random, 0, 255) : randomInt(random, -128, 127));
      const op = {
        a: a.data as Uint8Array, b: b.data as Uint8Array, m, k, n,
        aZeroPoints: perRow && m > 0 ? Array.from({ length: m }, () => zero(aUnsigned)) : [zero(aUnsigned)],
        bZeroPoints: perColumn && n > 0 ? Array.from({ length: n }, () => zero(bUnsigned)) : [zero(bUnsigned)],
      };
      assert.deepEqual(Array.from(integerMatMulWithZeroPointSums(op)), Array.from(integerMatMulDirect(op)));
      return true;
    },
  ), { numRuns: 300 });
});

test("integer matmul: both forms agree even when Σa·b overflows int32 (wrapping arithmetic is exact mod 2^32)", () => {
  // K = 70000 products of 255·127 = 32385 sum to 2.27e9 > 2^31 in Σ a·b, while (a − 255)·b = 0.
  const k = 70000;
  const op = { a: new Uint8Array(k).fill(255), aZeroPoints: [255], b: new Int8Array(k).fill(127), bZeroPoints: [0], m: 1, k, n: 1 };
  assert.deepEqual(Array.from(integerMatMulDirect(op)), [0]);
  assert.deepEqual(Array.from(integerMatMulWithZeroPointSums(op)), [0]);
  // precomputed column sums (constant weights) give the same
  assert.deepEqual(Array.from(integerMatMulWithZeroPointSums(op, { columnSumsB: columnSums(op.b, 0, k, 1) })), [0]);
});

function floatMatMul2d(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
    out[i * n + j] = s;
  }
  return out;
}

test("gemm: hand-worked fully connected layer with bias and per-column weight scales", () => {
  // x real [1, 2, 3] (s 1, z 0); W real [[1, 0], [0, 1], [1, 1]] with column scales [0.5, 0.25] → q [[2,0],[0,4],[2,4]]
  // y = [1 + 3, 2 + 3] + bias real [1, −2] = [5, 3]; bias q = [1/0.5, −2/0.25] = [2, −8]; s_y 0.5, z_y −10 → [0, −4]
  const plan = prepareGemm({}, { input: qp("int8", 1, 0), weight: qpPerAxis("int8", [0.5, 0.25], [0, 0], 1), output: qp("int8", 0.5, -10) });
  const y = gemm(plan, int8Tensor("int8", [1, 3], [1, 2, 3]), int8Tensor("int8", [3, 2], [2, 0, 0, 4, 2, 4]), int32Tensor([2], [2, -8]));
  assert.deepEqual(y.dims, [1, 2]);
  assert.deepEqual(values(y), [0, -4]);
  // the same with transB (W stored [N, K]) and transA (x stored [K, M])
  const planT = prepareGemm({ transA: true, transB: true }, { input: qp("int8", 1, 0), weight: qpPerAxis("int8", [0.5, 0.25], [0, 0], 0), output: qp("int8", 0.5, -10) });
  const yT = gemm(planT, int8Tensor("int8", [3, 1], [1, 2, 3]), int8Tensor("int8", [2, 3], [2, 0, 2, 0, 4, 4]), int32Tensor([2], [2, -8]));
  assert.deepEqual(values(yT), [0, -4]);
  // alpha is folded into the multiplier: alpha 2 doubles the product [4, 5] → [8, 10] → /0.5 − 10 = [6, 10]
  const plan2 = prepareGemm({ alpha: 2 }, { input: qp("int8", 1, 0), weight: qpPerAxis("int8", [0.5, 0.25], [0, 0], 1), output: qp("int8", 0.5, -10) });
  assert.deepEqual(values(gemm(plan2, int8Tensor("int8", [1, 3], [1, 2, 3]), int8Tensor("int8", [3, 2], [2, 0, 0, 4, 2, 4]))), [6, 10]);
  // a bias would be scaled by alpha too in the integer form, unlike ONNX's alpha·A·B + C: refused
  assert.throws(() => gemm(plan2, int8Tensor("int8", [1, 3], [1, 2, 3]), int8Tensor("int8", [3, 2], [2, 0, 0, 4, 2, 4]), int32Tensor([2], [2, -8])), /alpha/);
});

test("gemm vs float oracle: uint8 activations, per-channel int8 weights, Relu", () => {
  for (const [seed, xDType, xZero] of [[1, "uint8", 0], [2, "uint8", 255], [3, "int8", -128], [4, "int8", 127]] as [number, Int8DType, number][]) {
    const random = rng(seed);
    const [m, k, n] = [5, 37, 9];
    const x = randomInt8Tensor(random, xDType, [m, k]);
    const w = randomInt8Tensor(random, "int8", [k, n], -127, 127);
    const xp = qp(xDType, 0.03, xZero);
    const wScales = Array.from({ length: n }, () => 0.001 + random() * 0.01);
    const wp = qpPerAxis("int8", wScales, Array(n).fill(0), 1);
    const biasQ = Array.from({ length: n }, () => randomInt(random, -5000, 5000));
    const xf = dequantizeAll(x, xp);
    const wf = Float64Array.from(w.data as Int8Array, (q, i) => dequantizeOracle(q, wp.scale[i % n]!, 0));
    const yf = floatMatMul2d(xf, wf, m, k, n).map((v, i) => v + biasQ[i % n]! * xp.scale[0]! * wp.scale[i % n]!);
    const out = qp("uint8", Math.fround((Math.max(...yf) - Math.min(...yf)) / 255), 80);
    const plan = prepareGemm({}, { input: xp, weight: wp, output: out, activation: { kind: "relu" } });
    const y = gemm(plan, x, w, int32Tensor([n], biasQ));
    assertWithinOneStep(y, quantizeAll(yf, out, [0, Infinity]), `gemm seed ${seed}`);
  }
});

test("matMul: broadcasting of leading dims, 1-D operands, against the float oracle", () => {
  const shapes: [number[], number[], number[]][] = [
    [[2, 3, 4, 5], [5, 6], [2, 3, 4, 6]],
    [[4, 5], [3, 5, 2], [3, 4, 2]],
    [[2, 1, 3, 4], [1, 5, 4, 2], [2, 5, 3, 2]],
    [[5], [5, 3], [3]],
    [[2, 4, 5], [5], [2, 4]],
    [[7], [7], []],
  ];
  for (const [i, [aDims, bDims, outDims]] of shapes.entries()) {
    const random = rng(50 + i);
    const a = randomInt8Tensor(random, "uint8", aDims);
    const b = randomInt8Tensor(random, "int8", bDims);
    const ap = qp("uint8", 0.05, 119);
    const bp = qp("int8", 0.02, -3);
    const af = dequantizeAll(a, ap);
    const bf = dequantizeAll(b, bp);
    // oracle: expand both to [batch, M, K] and [batch, K, N] by explicit index arithmetic
    const aM = aDims.length === 1 ? [1, aDims[0]!] : aDims.slice(-2);
    const bM = bDims.length === 1 ? [bDims[0]!, 1] : bDims.slice(-2);
    const [m, k] = aM as [number, number];
    const n = bM[1]!;
    const aBatch = aDims.slice(0, Math.max(0, aDims.length - 2));
    const bBatch = bDims.slice(0, Math.max(0, bDims.length - 2));
    const rank = Math.max(aBatch.length, bBatch.length);
    const batch = Array.from({ length: rank }, (_, d) => Math.max(aBatch[aBatch.length - rank + d] ?? 1, bBatch[bBatch.length - rank + d] ?? 1));
    const total = batch.reduce((p, q) => p * q, 1);
    const yf: number[] = [];
    for (let t = 0; t < total; t++) {
      const idx: number[] = [];
      let r = t;
      for (let d = rank - 1; d >= 0; d--) { idx.unshift(r % batch[d]!); r = Math.floor(r / batch[d]!); }
      const flat = (dims: number[], ix: number[]) => dims.reduce((acc, dim, d) => acc * dim + (dim === 1 ? 0 : ix[ix.length - dims.length + d]!), 0);
      const ao = flat(aBatch, idx) * m * k;
      const bo = flat(bBatch, idx) * k * n;
      yf.push(...floatMatMul2d(af.subarray(ao, ao + m * k), bf.subarray(bo, bo + k * n), m, k, n));
    }
    const lo = Math.min(0, ...yf);
    const hi = Math.max(0, ...yf);
    const out = qp("int8", Math.fround((hi - lo) / 255), -128 + Math.round((-lo / (hi - lo)) * 255));
    const y = matMul(prepareMatMul({ a: ap, b: bp, output: out }), a, b);
    assert.deepEqual(y.dims, outDims, `shape case ${i}`);
    assertWithinOneStep(y, quantizeAll(yf, out), `matMul case ${i}`);
  }
});

test("matMulInteger: hand-worked (the ONNX MatMulInteger example) and per-row/per-column zero points", () => {
  // A − 12 = [[−1, −5, −9], [−2, −6, −10], [−3, −7, −11], [−4, −8, −12]], B = [[1, 4], [2, 5], [3, 6]]
  const a = int8Tensor("uint8", [4, 3], [11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]);
  const b = int8Tensor("uint8", [3, 2], [1, 4, 2, 5, 3, 6]);
  const y = matMulInteger(a, b, [12], [0]);
  assert.deepEqual(y.dims, [4, 2]);
  // row 0: −1·1 − 5·2 − 9·3 = −38, −1·4 − 5·5 − 9·6 = −83
  assert.deepEqual(Array.from(y.data), [-38, -83, -44, -98, -50, -113, -56, -128]);
  const perRow = matMulInteger(a, b, [11, 10, 9, 8], [1, 4]);
  // (a − row zp): [[0,−4,−8],[0,−4,−8],…]; (b − col zp): [[0,0],[1,1],[2,2]] → −20 everywhere
  assert.deepEqual(Array.from(perRow.data), Array(8).fill(-20));
});

test("gemm/matMul: bad inputs get clear errors", () => {
  const plan = prepareGemm({}, { input: qp("int8", 1, 0), weight: qp("int8", 1, 0), output: qp("int8", 1, 0) });
  assert.throws(() => gemm(plan, int8Tensor("int8", [1, 3], [1, 2, 3]), int8Tensor("int8", [2, 2], [1, 2, 3, 4])), /inner dimensions differ/);
  assert.throws(() => gemm(plan, int8Tensor("int8", [3], [1, 2, 3]), int8Tensor("int8", [3, 1], [1, 2, 3])), /must have rank 2/);
  assert.throws(() => prepareGemm({ alpha: -1 }, { input: qp("int8", 1, 0), weight: qp("int8", 1, 0), output: qp("int8", 1, 0) }), /alpha/);
  const mm = prepareMatMul({ a: qp("int8", 1, 0), b: qp("int8", 1, 0), output: qp("int8", 1, 0) });
  assert.throws(() => matMul(mm, int8Tensor("int8", [2, 2, 3], Array(12).fill(0)), int8Tensor("int8", [3, 3, 1], Array(9).fill(0))), /cannot be broadcast/);
  assert.throws(() => matMul(mm, int8Tensor("int8", [2, 3], Array(6).fill(0)), int8Tensor("int8", [2, 1], [0, 0])), /inner dimensions/);
  assert.throws(() => integerMatMulDirect({ a: new Int8Array(3), aZeroPoints: [0], b: new Int8Array(4), bZeroPoints: [0], m: 2, k: 2, n: 2 }), /runs past/);
});
