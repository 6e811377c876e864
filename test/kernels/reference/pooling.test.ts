import { test } from "node:test";
import assert from "node:assert/strict";
import {
  averagePool2d, globalAveragePool, maxPool2d, prepareAveragePool2d, prepareGlobalAveragePool, prepareMaxPool2d, roundingDivide,
  type AveragePool2dAttributes,
} from "../../../src/kernels/reference/index.js";
import { assertWithinOneStep, dequantizeAll, int8Tensor, qp, quantizeAll, randomInt8Tensor, rng, values } from "./helpers.js";

test("roundingDivide: ties away from zero", () => {
  assert.deepEqual([5, -5, 7, -7, 6, -6, 1, -1, 0].map((n) => roundingDivide(n, 2)), [3, -3, 4, -4, 3, -3, 1, -1, 0]);
  assert.deepEqual([4, 5, -4, -5].map((n) => roundingDivide(n, 3)), [1, 2, -1, -2]);
  assert.throws(() => roundingDivide(1, 0), /positive integer divisor/);
});

test("maxPool2d: hand-worked 2×2 stride 2, with padding and a param change", () => {
  const x = int8Tensor("int8", [1, 1, 4, 4], [1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -128]);
  const p = qp("int8", 0.5, 0);
  assert.deepEqual(values(maxPool2d(prepareMaxPool2d({ kernelShape: [2, 2], strides: [2, 2] }, p), x)), [6, 8, -1, -3]);
  // pad 1 with a 2×2 stride-2 window: padding never wins, even over −128
  const padded = maxPool2d(prepareMaxPool2d({ kernelShape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }, p), x);
  assert.deepEqual(padded.dims, [1, 1, 3, 3]);
  assert.deepEqual(values(padded), [1, 3, 4, 5, 7, 8, -5, -6, -128]);
  // output params s 1, z 10 (M = 1/2): maxima 6, 8, −1, −3 → 3, 4, −0.5, −1.5 → ties away from zero → 13, 14, 9, 8
  assert.deepEqual(values(maxPool2d(prepareMaxPool2d({ kernelShape: [2, 2], strides: [2, 2] }, p, qp("int8", 1, 10)), x)), [13, 14, 9, 8]);
});

test("averagePool2d: hand-worked ties, count_include_pad, and ceil mode", () => {
  const p = qp("uint8", 1, 10);
  // centred values 1, 2 → mean 1.5 → 2 (away from zero); −1, −2 → −1.5 → −2
  const x = int8Tensor("uint8", [1, 1, 2, 2], [11, 12, 9, 8]);
  assert.deepEqual(values(averagePool2d(prepareAveragePool2d({ kernelShape: [1, 2] }, p), x)), [12, 8]);
  // 2×2 with pads 1, stride 2 → 4 windows of one pixel each, padded taps excluded → the pixel itself
  assert.deepEqual(values(averagePool2d(prepareAveragePool2d({ kernelShape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }, p), x)), [11, 12, 9, 8]);
  // with count_include_pad each window averages over 4 taps: 1/4 → 0, 2/4 → 1 (tie away), −1/4 → 0, −2/4 → −1
  const include: AveragePool2dAttributes = { kernelShape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true };
  assert.deepEqual(values(averagePool2d(prepareAveragePool2d(include, p), x)), [10, 11, 10, 9]);
  // ceil mode: 3-wide input, kernel 2 stride 2 → floor gives 1 output, ceil gives 2 (the last window has 1 tap)
  const row = int8Tensor("uint8", [1, 1, 1, 3], [12, 14, 20]);
  assert.deepEqual(values(averagePool2d(prepareAveragePool2d({ kernelShape: [1, 2], strides: [1, 2] }, p), row)), [13]);
  assert.deepEqual(values(averagePool2d(prepareAveragePool2d({ kernelShape: [1, 2], strides: [1, 2], ceilMode: true }, p), row)), [13, 20]);
});

function floatAveragePool(
  x: Float64Array, dims: number[], k: [number, number], s: [number, number], pads: [number, number, number, number], includePad: boolean, ceil: boolean,
): Float64Array {
  const [n, c, h, w] = dims as [number, number, number, number];
  const size = (len: number, kk: number, ss: number, pb: number, pe: number) => {
    let o = (ceil ? Math.ceil((len + pb + pe - kk) / ss) : Math.floor((len + pb + pe - kk) / ss)) + 1;
    if (ceil && (o - 1) * ss >= len + pb) o--;
    return o;
  };
  const oh = size(h, k[0], s[0], pads[0], pads[2]);
  const ow = size(w, k[1], s[1], pads[1], pads[3]);
  const out = new Float64Array(n * c * oh * ow);
  let i = 0;
  for (let plane = 0; plane < n * c; plane++) for (let y = 0; y < oh; y++) for (let xo = 0; xo < ow; xo++) {
    let sum = 0;
    let count = 0;
    for (let ky = 0; ky < k[0]; ky++) for (let kx = 0; kx < k[1]; kx++) {
      const iy = y * s[0] - pads[0] + ky;
      const ix = xo * s[1] - pads[1] + kx;
      if (iy >= 0 && iy < h && ix >= 0 && ix < w) { sum += x[(plane * h + iy) * w + ix]!; count++; }
      else if (includePad && iy >= -pads[0] && iy < h + pads[2] && ix >= -pads[1] && ix < w + pads[3]) count++;
    }
    out[i++] = sum / count;
  }
  return out;
}

test("averagePool2d vs float oracle: same and different in/out params, padding modes, ceil mode", () => {
  const configs: [[number, number], [number, number], [number, number, number, number], boolean, boolean][] = [
    [[3, 3], [1, 1], [1, 1, 1, 1], false, false],
    [[3, 3], [2, 2], [1, 1, 1, 1], true, false],
    [[2, 3], [2, 1], [0, 1, 1, 0], false, true],
    [[5, 5], [3, 3], [2, 2, 2, 2], true, true],
  ];
  for (const [ci, [k, s, pads, includePad, ceil]] of configs.entries()) {
    for (const [inParams, outParams] of [
      [qp("uint8", 0.05, 0), qp("uint8", 0.05, 0)],
      [qp("int8", 0.05, 127), qp("int8", 0.05, 127)],
      [qp("uint8", 0.05, 255), qp("int8", 0.03, 60)],
      [qp("int8", 0.02, -128), qp("uint8", 0.07, 3)],
    ] as const) {
      const random = rng(ci * 10 + 1);
      const dims = [2, 3, 9, 8];
      const x = randomInt8Tensor(random, inParams.dtype as "int8" | "uint8", dims);
      const plan = prepareAveragePool2d({ kernelShape: k, strides: s, pads, countIncludePad: includePad, ceilMode: ceil }, inParams, outParams);
      const y = averagePool2d(plan, x);
      const expected = quantizeAll(floatAveragePool(dequantizeAll(x, inParams), dims, k, s, pads, includePad, ceil), outParams);
      // With equal params the mean's only rounding is the final one, but QuantizeLinear ties to even where
      // the kernel ties away from zero: exact ties (sum/count = n + 1/2) may differ by one, nothing else.
      assertWithinOneStep(y, expected, `averagePool config ${ci} ${inParams.dtype}→${outParams.dtype}`, 0.2);
    }
  }
});

test("maxPool2d vs float oracle with dilation, ceil mode and a param change", () => {
  const random = rng(3);
  const dims = [1, 2, 8, 7];
  const inParams = qp("uint8", 0.04, 17);
  const outParams = qp("int8", 0.03, -5);
  const x = randomInt8Tensor(random, "uint8", dims);
  const y = maxPool2d(prepareMaxPool2d({ kernelShape: [3, 2], strides: [2, 2], dilations: [2, 1], pads: [1, 0, 1, 1], ceilMode: true }, inParams, outParams), x);
  const xf = dequantizeAll(x, inParams);
  const expected: number[] = [];
  const [oh, ow] = y.dims.slice(2) as [number, number];
  for (let plane = 0; plane < 2; plane++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    let m = -Infinity;
    for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 2; kx++) {
      const iy = oy * 2 - 1 + ky * 2;
      const ix = ox * 2 + kx;
      if (iy >= 0 && iy < 8 && ix >= 0 && ix < 7) m = Math.max(m, xf[(plane * 8 + iy) * 7 + ix]!);
    }
    expected.push(m);
  }
  // ceil mode: (8 + 2 − 5)/2 = 2.5 → 4 rows; (7 + 1 − 2)/2 = 3 → 4 columns
  assert.deepEqual(y.dims, [1, 2, 4, 4]);
  assertWithinOneStep(y, quantizeAll(expected, outParams), "maxPool");
});

test("globalAveragePool: hand-worked and vs float oracle", () => {
  const p = qp("int8", 1, 0);
  // plane means: (1+2+3+4)/4 = 2.5 → 3; (−1−2−3−4)/4 = −2.5 → −3
  const x = int8Tensor("int8", [1, 2, 2, 2], [1, 2, 3, 4, -1, -2, -3, -4]);
  const y = globalAveragePool(prepareGlobalAveragePool(p), x);
  assert.deepEqual(y.dims, [1, 2, 1, 1]);
  assert.deepEqual(values(y), [3, -3]);
  const random = rng(11);
  const dims = [3, 4, 7, 9];
  const inParams = qp("uint8", 0.03, 200);
  const outParams = qp("uint8", 0.011, 230);
  const big = randomInt8Tensor(random, "uint8", dims);
  const yf = dequantizeAll(big, inParams);
  const means = Array.from({ length: 12 }, (_, i) => yf.subarray(i * 63, (i + 1) * 63).reduce((a, b) => a + b, 0) / 63);
  const plan = prepareGlobalAveragePool(inParams, outParams, 63);
  assertWithinOneStep(globalAveragePool(plan, big), quantizeAll(means, outParams), "globalAveragePool");
  assert.throws(() => prepareGlobalAveragePool(inParams, outParams), /needs the spatial size/);
  assert.throws(() => globalAveragePool(plan, randomInt8Tensor(random, "uint8", [1, 1, 3, 3])), /prepared for spatial size 63/);
});
