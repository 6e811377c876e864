import { test } from "node:test";
import assert from "node:assert/strict";
import { convTranspose2d, prepareConvTranspose2d, type ConvTranspose2dAttributes } from "../../../src/kernels/reference/index.js";
import type { QParams } from "../../../src/quant/qparams.js";
import type { Tensor } from "../../../src/tensor/tensor.js";
import {
  type Int8DType, assertWithinOneStep, dequantizeAll, dequantizeOracle, int32Tensor, int8Tensor, qp, qpPerAxis, quantizeAll,
  randomInt, randomInt8Tensor, rng, values,
} from "./helpers.js";

/** Float transposed convolution as a scatter: every input pixel adds x·w into the output. */
function floatConvTranspose(
  x: Float64Array, xDims: number[], w: Float64Array, wDims: number[], bias: Float64Array | undefined, attrs: ConvTranspose2dAttributes,
): { data: Float64Array; dims: number[] } {
  const [n, c, h, wd] = xDims as [number, number, number, number];
  const [, mg, kh, kw] = wDims as [number, number, number, number];
  const [sh, sw] = (attrs.strides ?? [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = (attrs.pads ?? [0, 0, 0, 0]) as [number, number, number, number];
  const [dh, dw] = (attrs.dilations ?? [1, 1]) as [number, number];
  const [oph, opw] = (attrs.outputPadding ?? [0, 0]) as [number, number];
  const group = attrs.group ?? 1;
  const m = mg * group;
  const oh = sh * (h - 1) + oph + (kh - 1) * dh + 1 - pt - pb;
  const ow = sw * (wd - 1) + opw + (kw - 1) * dw + 1 - pl - pr;
  const out = new Float64Array(n * m * oh * ow);
  for (let b = 0; b < n; b++) for (let oc = 0; oc < m; oc++) for (let i = 0; i < oh * ow; i++) out[(b * m + oc) * oh * ow + i] = bias ? bias[oc]! : 0;
  const cg = c / group;
  for (let b = 0; b < n; b++) for (let ic = 0; ic < c; ic++) for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < wd; ix++) {
    const g = Math.floor(ic / cg);
    const xv = x[((b * c + ic) * h + iy) * wd + ix]!;
    for (let j = 0; j < mg; j++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const oy = iy * sh - pt + ky * dh;
      const ox = ix * sw - pl + kx * dw;
      if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
      out[((b * m + g * mg + j) * oh + oy) * ow + ox]! += xv * w[((ic * mg + j) * kh + ky) * kw + kx]!;
    }
  }
  return { data: out, dims: [n, m, oh, ow] };
}

test("convTranspose2d: hand-worked stride 2 (each pixel becomes a 2×2 block) and stride 1", () => {
  const x = int8Tensor("int8", [1, 1, 2, 2], [1, 2, 3, 4]); // s 1, zp 0
  const w = int8Tensor("int8", [1, 1, 2, 2], [1, 1, 1, 1]);
  const quant = { input: qp("int8", 1, 0), weight: qp("int8", 1, 0), output: qp("int8", 1, 0) };
  const y2 = convTranspose2d(prepareConvTranspose2d({ strides: [2, 2] }, quant), x, w);
  assert.deepEqual(y2.dims, [1, 1, 4, 4]);
  assert.deepEqual(values(y2), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const y1 = convTranspose2d(prepareConvTranspose2d({}, quant), x, w);
  assert.deepEqual(values(y1), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
  // pads crop the border: pads 1 on every side leave the centre 1×1 of the stride-1 result
  const cropped = convTranspose2d(prepareConvTranspose2d({ pads: [1, 1, 1, 1] }, quant), x, w);
  assert.deepEqual(values(cropped), [10]);
  // output padding adds a row and a column at the end (zeros, then bias)
  const padded = convTranspose2d(prepareConvTranspose2d({ strides: [2, 2], outputPadding: [1, 1] }, quant), x, w, int32Tensor([1], [5]));
  assert.deepEqual(padded.dims, [1, 1, 5, 5]);
  assert.deepEqual(values(padded).slice(20), [5, 5, 5, 5, 5]);
});

interface Case { name: string; xDType: Int8DType; xZero: number; xDims: number[]; wDims: number[]; attrs: ConvTranspose2dAttributes; perChannel: boolean }

const CASES: Case[] = [
  { name: "stride 2 pad 1, uint8", xDType: "uint8", xZero: 128, xDims: [1, 3, 4, 5], wDims: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, perChannel: true },
  { name: "stride [3,2], output padding, dilation", xDType: "int8", xZero: -128, xDims: [2, 2, 3, 3], wDims: [2, 3, 2, 3], attrs: { strides: [3, 2], outputPadding: [2, 1], dilations: [1, 2] }, perChannel: false },
  { name: "grouped (2 groups), asymmetric pads", xDType: "uint8", xZero: 0, xDims: [1, 4, 5, 4], wDims: [4, 2, 3, 2], attrs: { group: 2, strides: [2, 1], pads: [0, 1, 2, 0] }, perChannel: true },
  { name: "depthwise (group = C)", xDType: "int8", xZero: 127, xDims: [1, 3, 3, 4], wDims: [3, 1, 4, 4], attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }, perChannel: false },
];

function dequantizeWeightsAxis1(w: Tensor, params: QParams): Float64Array {
  const [, mg, kh, kw] = w.dims as [number, number, number, number];
  return Float64Array.from(w.data as ArrayLike<number>, (q, i) => {
    const j = params.scale.length > 1 ? Math.floor(i / (kh * kw)) % mg : 0;
    return dequantizeOracle(q, params.scale[j]!, params.zeroPoint[j]!);
  });
}

for (const [ci, c] of CASES.entries()) {
  test(`convTranspose2d vs float scatter oracle: ${c.name}`, () => {
    for (let seed = 1; seed <= 3; seed++) {
      const random = rng(100 * ci + seed);
      const x = randomInt8Tensor(random, c.xDType, c.xDims);
      const w = randomInt8Tensor(random, "int8", c.wDims, -127, 127);
      const mg = c.wDims[1]!;
      const group = c.attrs.group ?? 1;
      const xParams = qp(c.xDType, 0.01 + random() * 0.05, c.xZero);
      const wParams = c.perChannel
        ? qpPerAxis("int8", Array.from({ length: mg }, () => 0.002 + random() * 0.01), Array(mg).fill(0), 1)
        : qp("int8", 0.005, 0);
      const biasQ = Array.from({ length: mg * group }, () => randomInt(random, -2000, 2000));
      const biasF = Float64Array.from(biasQ, (b, oc) => b * xParams.scale[0]! * wParams.scale[wParams.scale.length > 1 ? oc % mg : 0]!);
      const yf = floatConvTranspose(dequantizeAll(x, xParams), c.xDims, dequantizeWeightsAxis1(w, wParams), c.wDims, biasF, c.attrs);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of yf.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const outParams = qp("uint8", Math.fround((hi - lo) / 255), Math.round(-lo / ((hi - lo) / 255)));
      const plan = prepareConvTranspose2d(c.attrs, { input: xParams, weight: wParams, output: outParams });
      const y = convTranspose2d(plan, x, w, int32Tensor([mg * group], biasQ));
      assert.deepEqual(y.dims, yf.dims);
      assertWithinOneStep(y, quantizeAll(yf.data, outParams), c.name);
    }
  });
}

test("convTranspose2d: bad inputs get clear errors", () => {
  const quant = { input: qp("int8", 1, 0), weight: qp("int8", 1, 0), output: qp("int8", 1, 0) };
  assert.throws(() => prepareConvTranspose2d({ strides: [2, 2], outputPadding: [2, 0] }, quant), /smaller than the stride/);
  assert.throws(() => prepareConvTranspose2d({}, { ...quant, weight: qpPerAxis("int8", [1, 1], [0, 0], 0) }), /axis 1/);
  const plan = prepareConvTranspose2d({}, quant);
  assert.throws(() => convTranspose2d(plan, randomInt8Tensor(rng(1), "int8", [1, 2, 2, 2]), randomInt8Tensor(rng(1), "int8", [3, 1, 2, 2])), /weight has 3 input channels, input has 2/);
  assert.throws(() => convTranspose2d(prepareConvTranspose2d({ pads: [2, 2, 2, 2] }, quant), randomInt8Tensor(rng(1), "int8", [1, 1, 2, 2]), randomInt8Tensor(rng(1), "int8", [1, 1, 2, 2])), /empty output/);
});
