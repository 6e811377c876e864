import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  conv2d, conv2dAccumulators, conv2dViaGemm, conv2dAccumulatorsViaGemm, convInteger, prepareConv2d, resolveWindow2d,
  type Conv2dAttributes, type FusedActivation,
} from "../../../src/kernels/reference/index.js";
import type { QParams } from "../../../src/quant/qparams.js";
import type { Tensor } from "../../../src/tensor/tensor.js";
import {
  type Int8DType, assertWithinOneStep, dequantizeAll, dequantizeOracle, int32Tensor, int8Tensor, qp, qpPerAxis,
  quantizeAll, randomInt, randomInt8Tensor, rng, values,
} from "./helpers.js";

/** Float64 convolution straight from the ONNX Conv definition. */
function floatConv2d(
  x: Float64Array, xDims: number[], w: Float64Array, wDims: number[], bias: Float64Array | undefined, attrs: Conv2dAttributes,
): Float64Array {
  const [n, c, h, wd] = xDims as [number, number, number, number];
  const [m, cg, kh, kw] = wDims as [number, number, number, number];
  const [sh, sw] = attrs.strides ?? [1, 1];
  const [pt, pl, pb, pr] = attrs.pads ?? [0, 0, 0, 0];
  const [dh, dw] = attrs.dilations ?? [1, 1];
  const group = attrs.group ?? 1;
  const oh = Math.floor((h + pt! + pb! - ((kh - 1) * dh! + 1)) / sh!) + 1;
  const ow = Math.floor((wd + pl! + pr! - ((kw - 1) * dw! + 1)) / sw!) + 1;
  const out = new Float64Array(n * m * oh * ow);
  const mPerGroup = m / group;
  for (let b = 0; b < n; b++) for (let oc = 0; oc < m; oc++) for (let y = 0; y < oh; y++) for (let xo = 0; xo < ow; xo++) {
    let s = bias ? bias[oc]! : 0;
    const g = Math.floor(oc / mPerGroup);
    for (let ci = 0; ci < cg; ci++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = y * sh! - pt! + ky * dh!;
      const ix = xo * sw! - pl! + kx * dw!;
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      s += x[((b * c + g * cg + ci) * h + iy) * wd + ix]! * w[((oc * cg + ci) * kh + ky) * kw + kx]!;
    }
    out[((b * m + oc) * oh + y) * ow + xo] = s;
  }
  return out;
}

function dequantizeWeights(w: Tensor, params: QParams): Float64Array {
  const perChannel = params.scale.length > 1;
  const channelSize = w.data.length / w.dims[0]!;
  return Float64Array.from(w.data as ArrayLike<number>, (q, i) => {
    const c = perChannel ? Math.floor(i / channelSize) : 0;
    return dequantizeOracle(q, params.scale[c]!, params.zeroPoint[c]!);
  });
}

function clipOf(activation: FusedActivation | undefined): [number, number] | undefined {
  if (!activation || activation.kind === "none") return undefined;
  if (activation.kind === "relu") return [0, Infinity];
  if (activation.kind === "relu6") return [0, 6];
  return [activation.min, activation.max];
}

test("conv2d: hand-worked 2×2 kernel on a 3×3 uint8 image, with bias, with and without Relu", () => {
  // real x = [[0,1,5],[2,9,3],[7,4,6]], s_x = 0.5, z_x = 10 → q = 10 + 2·x
  const x = int8Tensor("uint8", [1, 1, 3, 3], [10, 12, 20, 14, 28, 16, 24, 18, 22]);
  // real w = [[1,0],[0,−1]], s_w = 0.25, z_w = 0 → q = 4·w
  const w = int8Tensor("int8", [1, 1, 2, 2], [4, 0, 0, -4]);
  // real bias 1.0 → q = 1 / (0.5·0.25) = 8
  const bias = int32Tensor([1], [8]);
  // y = x[i,j] − x[i+1,j+1] + 1 = [−8, −1, −1, 4]; s_y = 0.5, z_y = 128 → [112, 126, 126, 136]
  const quant = { input: qp("uint8", 0.5, 10), weight: qp("int8", 0.25, 0), output: qp("uint8", 0.5, 128) };
  const plan = prepareConv2d({}, quant);
  assert.deepEqual(values(conv2d(plan, x, w, bias)), [112, 126, 126, 136]);
  assert.deepEqual(values(conv2dViaGemm(plan, x, w, bias)), [112, 126, 126, 136]);
  const relu = prepareConv2d({}, { ...quant, activation: { kind: "relu" } });
  assert.deepEqual(values(conv2d(relu, x, w, bias)), [128, 128, 128, 136]);
  const acc = conv2dAccumulators(x, w, 10, [0], resolveWindow2d({}, "t"), 1);
  assert.deepEqual(Array.from(acc.data), [4 * 0 - 4 * 18, 4 * 2 - 4 * 6, 4 * 4 - 4 * 8, 4 * 18 - 4 * 12]);
});

test("conv2d: hand-worked depthwise 3×3 with padding 1 and per-channel weights (int8)", () => {
  // ch0 real [1,2,3,4], ch1 real [−1,−1,−1,−1]; s_x = 1, z_x = −3
  const x = int8Tensor("int8", [1, 2, 2, 2], [-2, -1, 0, 1, -4, -4, -4, -4]);
  // all-ones 3×3 kernels: ch0 s = 0.5 (q 2), ch1 s = 0.25 (q 4)
  const w = int8Tensor("int8", [2, 1, 3, 3], [...Array(9).fill(2), ...Array(9).fill(4)]);
  // With pad 1 every 3×3 window covers the whole 2×2 image: ch0 sums to 10, ch1 to −4.
  // s_y = 2, z_y = 5 → ch0 10/2 + 5 = 10, ch1 −4/2 + 5 = 3
  const plan = prepareConv2d({ group: 2, pads: [1, 1, 1, 1] },
    { input: qp("int8", 1, -3), weight: qpPerAxis("int8", [0.5, 0.25], [0, 0], 0), output: qp("int8", 2, 5) });
  assert.deepEqual(values(conv2d(plan, x, w)), [10, 10, 10, 10, 3, 3, 3, 3]);
  assert.deepEqual(values(conv2dViaGemm(plan, x, w)), [10, 10, 10, 10, 3, 3, 3, 3]);
});

interface ConvCase {
  name: string;
  xDType: Int8DType;
  xZeroPoint: number;
  wDType: Int8DType;
  perChannel: boolean;
  wZeroPoint: number;
  outDType: Int8DType;
  outZeroPoint: number;
  xDims: number[];
  wDims: number[];
  attrs: Conv2dAttributes;
  activation?: FusedActivation;
  /** Output scale as a fraction of the float output's range: < 1 forces saturation. */
  outputRangeFraction?: number;
}

const CASES: ConvCase[] = [
  { name: "3×3 pad 1, uint8 zp 0, per-channel int8", xDType: "uint8", xZeroPoint: 0, wDType: "int8", perChannel: true, wZeroPoint: 0,
    outDType: "uint8", outZeroPoint: 0, xDims: [1, 3, 7, 5], wDims: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: "3×3 uint8 zp 255 (all-negative inputs), output zp 255", xDType: "uint8", xZeroPoint: 255, wDType: "int8", perChannel: true, wZeroPoint: 0,
    outDType: "uint8", outZeroPoint: 255, xDims: [2, 2, 5, 6], wDims: [3, 2, 3, 3], attrs: { pads: [0, 1, 2, 1] } },
  { name: "depthwise stride 2, asymmetric pads, int8 zp −128", xDType: "int8", xZeroPoint: -128, wDType: "int8", perChannel: true, wZeroPoint: 0,
    outDType: "int8", outZeroPoint: -128, xDims: [1, 4, 9, 8], wDims: [4, 1, 3, 3], attrs: { group: 4, strides: [2, 2], pads: [1, 0, 1, 2] } },
  { name: "depthwise with channel multiplier 2, int8 zp 127", xDType: "int8", xZeroPoint: 127, wDType: "int8", perChannel: true, wZeroPoint: 0,
    outDType: "int8", outZeroPoint: 127, xDims: [1, 2, 6, 6], wDims: [4, 1, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { name: "grouped (3 groups), dilation [2,1], stride [1,2]", xDType: "uint8", xZeroPoint: 131, wDType: "int8", perChannel: true, wZeroPoint: 0,
    outDType: "int8", outZeroPoint: 3, xDims: [1, 6, 9, 11], wDims: [6, 2, 2, 3], attrs: { group: 3, dilations: [2, 1], strides: [1, 2], pads: [2, 1, 0, 1] } },
  { name: "1×1, batch 3, uint8 weights with zp 128 per tensor", xDType: "int8", xZeroPoint: 7, wDType: "uint8", perChannel: false, wZeroPoint: 128,
    outDType: "uint8", outZeroPoint: 100, xDims: [3, 5, 3, 4], wDims: [7, 5, 1, 1], attrs: {} },
  { name: "per-channel weight zero points (ONNX allows them)", xDType: "uint8", xZeroPoint: 30, wDType: "uint8", perChannel: true, wZeroPoint: -1,
    outDType: "uint8", outZeroPoint: 60, xDims: [1, 3, 4, 4], wDims: [3, 3, 2, 2], attrs: { pads: [1, 1, 0, 0] } },
  { name: "Relu6 fused, saturating output scale", xDType: "uint8", xZeroPoint: 12, wDType: "int8", perChannel: true, wZeroPoint: 0,
    outDType: "uint8", outZeroPoint: 0, xDims: [1, 3, 6, 6], wDims: [5, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] },
    activation: { kind: "relu6" }, outputRangeFraction: 0.3 },
  { name: "Relu fused, int8, saturating both ends", xDType: "int8", xZeroPoint: -5, wDType: "int8", perChannel: false, wZeroPoint: 0,
    outDType: "int8", outZeroPoint: -20, xDims: [1, 2, 5, 5], wDims: [2, 2, 3, 3], attrs: { strides: [2, 1] },
    activation: { kind: "relu" }, outputRangeFraction: 0.25 },
  { name: "Clip(−1, 2) fused, odd everything", xDType: "uint8", xZeroPoint: 77, wDType: "int8", perChannel: true, wZeroPoint: 0,
    outDType: "int8", outZeroPoint: -9, xDims: [1, 3, 7, 3], wDims: [3, 1, 5, 2], attrs: { group: 3, pads: [2, 0, 2, 1], dilations: [1, 2] },
    activation: { kind: "clip", min: -1, max: 2 } },
];

function runCase(c: ConvCase, seed: number): void {
  const random = rng(seed);
  const x = randomInt8Tensor(random, c.xDType, c.xDims);
  const wMin = c.wDType === "int8" ? -127 : 0;
  const w = randomInt8Tensor(random, c.wDType, c.wDims, wMin, c.wDType === "int8" ? 127 : 255);
  const outChannels = c.wDims[0]!;
  const xParams = qp(c.xDType, 0.02 + random() * 0.05, c.xZeroPoint);
  const wParams = c.perChannel
    ? qpPerAxis(c.wDType, Array.from({ length: outChannels }, () => 0.002 + random() * 0.01),
      Array.from({ length: outChannels }, () => (c.wZeroPoint >= 0 ? c.wZeroPoint : randomInt(random, 100, 150))), 0)
    : qp(c.wDType, 0.004 + random() * 0.01, c.wZeroPoint);
  const biasQ = Array.from({ length: outChannels }, () => randomInt(random, -3000, 3000));
  const bias = int32Tensor([outChannels], biasQ);
  const xf = dequantizeAll(x, xParams);
  const wf = dequantizeWeights(w, wParams);
  const biasF = Float64Array.from(biasQ, (b, oc) => b * xParams.scale[0]! * wParams.scale[wParams.scale.length > 1 ? oc : 0]!);
  const yf = floatConv2d(xf, c.xDims, wf, c.wDims, biasF, c.attrs);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of yf) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const outScale = Math.fround(((hi - lo) * (c.outputRangeFraction ?? 1)) / 255);
  const outParams = qp(c.outDType, outScale, c.outZeroPoint);
  const plan = prepareConv2d(c.attrs, { input: xParams, weight: wParams, output: outParams, activation: c.activation });
  const y = conv2d(plan, x, w, bias);
  assertWithinOneStep(y, quantizeAll(yf, outParams, clipOf(c.activation)), c.name);
  assert.deepEqual(values(conv2dViaGemm(plan, x, w, bias)), values(y), `${c.name}: gemm form differs from direct form`);
  if (c.outputRangeFraction !== undefined) {
    const [qmin, qmax] = c.outDType === "int8" ? [-128, 127] : [0, 255];
    assert.ok(values(y).includes(plan.outputStage.clampMax) || values(y).includes(qmax), `${c.name}: expected saturation at the top`);
    assert.ok(values(y).every((v) => v >= plan.outputStage.clampMin && v <= plan.outputStage.clampMax && v >= qmin));
  }
}

for (const [i, c] of CASES.entries()) {
  test(`conv2d vs float oracle: ${c.name}`, () => {
    for (let seed = 1; seed <= 3; seed++) runCase(c, 1000 * i + seed);
  });
}

test("conv2d: the zero-point-sum gemm form equals the direct form on random shapes and zero points", () => {
  fc.assert(fc.property(
    fc.record({
      batch: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }), inPerGroup: fc.integer({ min: 1, max: 3 }),
      outPerGroup: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 7 }), w: fc.integer({ min: 1, max: 7 }),
      kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
      dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
      pads: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
      xUnsigned: fc.boolean(), wUnsigned: fc.boolean(), xZero: fc.integer({ min: 0, max: 255 }), seed: fc.integer(),
    }),
    (p) => {
      const span = (k: number, d: number) => (k - 1) * d + 1;
      if (p.h + p.pads[0]! + p.pads[2]! < span(p.kh, p.dh) || p.w + p.pads[1]! + p.pads[3]! < span(p.kw, p.dw)) return true;
      const random = rng(p.seed);
      const xDType: Int8DType = p.xUnsigned ? "uint8" : "int8";
      const wDType: Int8DType = p.wUnsigned ? "uint8" : "int8";
      const x = randomInt8Tensor(random, xDType, [p.batch, p.groups * p.inPerGroup, p.h, p.w]);
      const outChannels = p.groups * p.outPerGroup;
      const w = randomInt8Tensor(random, wDType, [outChannels, p.inPerGroup, p.kh, p.kw]);
      const xZero = p.xUnsigned ? p.xZero : p.xZero - 128;
      const wZeros = Array.from({ length: outChannels }, () => (p.wUnsigned ? randomInt(random, 0, 255) : randomInt(random, -128, 127)));
      const window = resolveWindow2d({ strides: [p.sh, p.sw], pads: p.pads, dilations: [p.dh, p.dw] }, "t");
      const direct = conv2dAccumulators(x, w, xZero, wZeros, window, p.groups);
      const viaGemm = conv2dAccumulatorsViaGemm(x, w, xZero, wZeros, window, p.groups);
      assert.deepEqual(viaGemm.dims, direct.dims);
      assert.deepEqual(Array.from(viaGemm.data), Array.from(direct.data));
      return true;
    },
  ), { numRuns: 150 });
});

test("convInteger: hand-worked accumulators (ONNX ConvInteger semantics)", () => {
  // x − 1 = [[1,2,3],[4,5,6],[7,8,9]], 2×2 ones kernel → window sums 12, 16, 24, 28
  const x = int8Tensor("uint8", [1, 1, 3, 3], [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const w = int8Tensor("uint8", [1, 1, 2, 2], [1, 1, 1, 1]);
  const y = convInteger(x, w, 1, [0]);
  assert.deepEqual(y.dims, [1, 1, 2, 2]);
  assert.deepEqual(Array.from(y.data), [12, 16, 24, 28]);
});

test("conv2d: bad inputs get clear errors", () => {
  const quant = { input: qp("uint8", 0.1, 0), weight: qp("int8", 0.1, 0), output: qp("uint8", 0.1, 0) };
  const plan = prepareConv2d({}, quant);
  const x = randomInt8Tensor(rng(1), "uint8", [1, 2, 3, 3]);
  assert.throws(() => conv2d(plan, x, randomInt8Tensor(rng(2), "int8", [1, 3, 2, 2])), /need 2 input channels per group/);
  assert.throws(() => conv2d(plan, randomInt8Tensor(rng(1), "int8", [1, 2, 3, 3]), randomInt8Tensor(rng(2), "int8", [1, 2, 2, 2])), /prepared for uint8/);
  assert.throws(() => conv2d(plan, x, randomInt8Tensor(rng(2), "int8", [1, 2, 4, 4])), /does not fit/);
  assert.throws(() => conv2d(plan, x, randomInt8Tensor(rng(2), "int8", [1, 2, 2, 2]), int32Tensor([2], [0, 0])), /bias must have dims \[1\]/);
  assert.throws(() => convInteger({ dtype: "float32", dims: [1, 2, 3, 3], data: new Float32Array(18) }, randomInt8Tensor(rng(2), "int8", [1, 2, 2, 2])), /conv2d input must be int8 or uint8, got float32/);
  assert.throws(() => convInteger({ dtype: "uint8", dims: [1, 2, 3, 3], data: new Uint8Array(17) }, randomInt8Tensor(rng(2), "int8", [1, 2, 2, 2])), /18 values\) but 17 values/);
  assert.throws(() => prepareConv2d({ group: 0 }, quant), /group must be positive/);
  assert.throws(() => prepareConv2d({ pads: [1, 1] }, quant), /pads must have 4 values/);
  assert.throws(() => prepareConv2d({}, { ...quant, weight: qpPerAxis("int8", [0.1, 0.2], [0, 0], 1) }), /axis 0/);
  assert.throws(() => prepareConv2d({}, { ...quant, activation: { kind: "clip", min: 2, max: 1 } }), /min ≤ max/);
  const perChannel = prepareConv2d({}, { ...quant, weight: qpPerAxis("int8", [0.1, 0.2, 0.3], [0, 0, 0], 0) });
  assert.throws(() => conv2d(perChannel, x, randomInt8Tensor(rng(2), "int8", [2, 2, 2, 2])), /3 entries but the op has 2 channels/);
});
