import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { qparamsFromRange, qparamsFromRanges, symmetricZeroPoint, checkQParams, type QParams } from "../../src/quant/qparams.js";
import { QUANT_DTYPES, qRange, type QuantDType } from "../../src/quant/dtype.js";
import { quantize, dequantize, fakeQuantize } from "../../src/quant/quantize.js";

const f32 = Math.fround;

function only(qp: QParams): { scale: number; zeroPoint: number } {
  assert.equal(qp.scale.length, 1);
  assert.equal(qp.axis, undefined);
  return { scale: qp.scale[0]!, zeroPoint: qp.zeroPoint[0]! };
}

test("uint8 asymmetric [-1, 3]: scale 4/255, zero point round(1/(4/255)) = round(63.75) = 64", () => {
  assert.deepEqual(only(qparamsFromRange(-1, 3, { dtype: "uint8" })), { scale: f32(4 / 255), zeroPoint: 64 });
});

test("int8 symmetric, max|x| = 2.54: narrow scale 2.54/127 ≈ 0.02, full scale 2.54/127.5, zero point 0", () => {
  const narrow = only(qparamsFromRange(-1, 2.54, { dtype: "int8", symmetric: true, narrow: true }));
  const full = only(qparamsFromRange(-1, 2.54, { dtype: "int8", symmetric: true }));
  assert.equal(narrow.zeroPoint, 0);
  assert.equal(full.zeroPoint, 0);
  assert.ok(Math.abs(narrow.scale - 0.02) <= 0.02 * 2 ** -23, `narrow scale ${narrow.scale}`);
  assert.equal(full.scale, f32(2.54 / 127.5));
  // The narrow grid reaches ±2.54 exactly at ±127; the full grid is finer.
  const q = quantize(Float32Array.of(2.54, -2.54, 1), { dtype: "int8", scale: Float32Array.of(narrow.scale), zeroPoint: Int32Array.of(0) });
  assert.deepEqual(Array.from(q), [127, -127, 50]);
});

test("ONNX Runtime's published compute_scale_zp cases (onnxruntime test_quant_util.py)", () => {
  // compute_scale_zp(-1, 2, -127, 127, symmetric=True) == [0, 2/127]: int8 narrow.
  assert.deepEqual(only(qparamsFromRange(-1, 2, { dtype: "int8", symmetric: true, narrow: true })), { scale: f32(2 / 127), zeroPoint: 0 });
  // compute_scale_zp(-1, 2, -127, 127, symmetric=False) == [-42, 3/254]
  assert.deepEqual(only(qparamsFromRange(-1, 2, { dtype: "int8", narrow: true })), { scale: f32(3 / 254), zeroPoint: -42 });
  // compute_scale_zp(-1, 2, 0, 255, symmetric=True) == [128, 4/255]
  assert.deepEqual(only(qparamsFromRange(-1, 2, { dtype: "uint8", symmetric: true })), { scale: f32(4 / 255), zeroPoint: 128 });
  // compute_scale_zp(-1, 2, 0, 255, symmetric=False) == [85, 3/255]
  assert.deepEqual(only(qparamsFromRange(-1, 2, { dtype: "uint8" })), { scale: f32(3 / 255), zeroPoint: 85 });
  // compute_scale_zp(0, 0, ...) and (1, -1) (an empty range, widened to [0, 0]) → scale 1.
  assert.equal(only(qparamsFromRange(0, 0, { dtype: "int8", symmetric: true, narrow: true })).scale, 1);
});

test("ONNX DynamicQuantizeLinear goldens (libonnx-testdata test_dynamicquantizelinear*)", () => {
  // x = [0, 2, -3, -2.5, 1.34, 0.5] → y_scale 0.019607843831181526, y_zero_point 153
  assert.deepEqual(only(qparamsFromRange(-3, 2, { dtype: "uint8" })), { scale: 0.019607843831181526, zeroPoint: 153 });
  // _max_adjusted: all negative, max widened to 0 → scale 0.01568627543747425, zero point 255
  assert.deepEqual(only(qparamsFromRange(-4, f32(-1), { dtype: "uint8" })), { scale: 0.01568627543747425, zeroPoint: 255 });
  // _min_adjusted: all positive, min widened to 0 → scale 0.01568627543747425, zero point 0
  assert.deepEqual(only(qparamsFromRange(1, 4, { dtype: "uint8" })), { scale: 0.01568627543747425, zeroPoint: 0 });
});

test("symmetric zero points: 0 for signed, 2^(b-1) for unsigned, full or narrow", () => {
  const want: Record<QuantDType, number> = { int8: 0, uint8: 128, int16: 0, uint16: 32768, int4: 0, uint4: 8 };
  for (const dtype of QUANT_DTYPES) {
    for (const narrow of [false, true]) {
      assert.equal(symmetricZeroPoint(dtype, narrow), want[dtype], `${dtype} narrow=${narrow}`);
      assert.equal(qparamsFromRange(-0.3, 5, { dtype, symmetric: true, narrow }).zeroPoint[0], want[dtype]);
    }
  }
});

test("int4 / uint4 / 16-bit hand cases", () => {
  // int4 full symmetric: 3 / ((7 - -8)/2) = 3/7.5 = 0.4
  assert.deepEqual(only(qparamsFromRange(-3, 1.5, { dtype: "int4", symmetric: true })), { scale: f32(0.4), zeroPoint: 0 });
  // int4 narrow symmetric: 3/7
  assert.deepEqual(only(qparamsFromRange(-3, 1.5, { dtype: "int4", symmetric: true, narrow: true })), { scale: f32(3 / 7), zeroPoint: 0 });
  // uint4 asymmetric [0, 15]: one unit per code, zero at code 0
  assert.deepEqual(only(qparamsFromRange(0, 15, { dtype: "uint4" })), { scale: 1, zeroPoint: 0 });
  // uint4 asymmetric [-5, 10]: scale 1, zero at code 5
  assert.deepEqual(only(qparamsFromRange(-5, 10, { dtype: "uint4" })), { scale: 1, zeroPoint: 5 });
  // uint4 narrow symmetric [1, 15]: scale 1/7, zero point 8
  assert.deepEqual(only(qparamsFromRange(-1, 1, { dtype: "uint4", symmetric: true, narrow: true })), { scale: f32(1 / 7), zeroPoint: 8 });
  // int4 asymmetric [-1, 2]: scale 3/15 = 0.2, zero point round(-8 + 5) = -3
  assert.deepEqual(only(qparamsFromRange(-1, 2, { dtype: "int4" })), { scale: f32(0.2), zeroPoint: -3 });
  // int16 narrow symmetric, max 1: 1/32767
  assert.deepEqual(only(qparamsFromRange(-1, 1, { dtype: "int16", symmetric: true, narrow: true })), { scale: f32(1 / 32767), zeroPoint: 0 });
  // uint16 asymmetric [-1, 3]: scale 4/65535, zero point round(65535/4 = 16383.75) = 16384
  assert.deepEqual(only(qparamsFromRange(-1, 3, { dtype: "uint16" })), { scale: f32(4 / 65535), zeroPoint: 16384 });
});

test("ranges are widened to include 0", () => {
  // [2, 5] uint8 is quantized as [0, 5]: zero point 0, scale 5/255
  assert.deepEqual(only(qparamsFromRange(2, 5, { dtype: "uint8" })), { scale: f32(5 / 255), zeroPoint: 0 });
  // [-5, -2] int8 is quantized as [-5, 0]: zero point 127
  assert.deepEqual(only(qparamsFromRange(-5, -2, { dtype: "int8" })), { scale: f32(5 / 255), zeroPoint: 127 });
});

test("zero-width and subnormal ranges give scale 1 and a zero point that maps 0 exactly", () => {
  for (const dtype of QUANT_DTYPES) {
    for (const symmetric of [false, true]) {
      for (const [lo, hi] of [[0, 0], [-1e-45, 1e-45], [0, 1e-40]]) {
        const qp = qparamsFromRange(lo!, hi!, { dtype, symmetric });
        assert.equal(qp.scale[0], 1, `${dtype} symmetric=${symmetric} [${lo}, ${hi}]`);
        assert.equal(dequantize(quantize(Float32Array.of(0), qp), qp)[0], 0);
      }
    }
  }
  // ReLU output that was always 0: same zero point (qmin) as any other ReLU range.
  assert.equal(qparamsFromRange(0, 0, { dtype: "int8" }).zeroPoint[0], -128);
});

test("bad ranges and options are clear errors", () => {
  assert.throws(() => qparamsFromRange(NaN, 1, { dtype: "int8" }), /range must be finite numbers, got \[NaN, 1\]/);
  assert.throws(() => qparamsFromRange(0, Infinity, { dtype: "uint8" }), /finite/);
  assert.throws(() => qparamsFromRange(-Infinity, 0, { dtype: "uint8" }), /finite/);
  assert.throws(() => qparamsFromRange(2, 1, { dtype: "int8" }), /min 2 > max 1/);
  assert.throws(() => qparamsFromRange(-1, 1, { dtype: "int32" as never }), /unknown quantization dtype "int32"; valid: int8/);
  assert.throws(() => qparamsFromRange(-1, 1, { dtype: "int8", symmetric: "yes" as never }), /symmetric must be a boolean/);
  assert.throws(() => qparamsFromRange(-1e300, 1e300, { dtype: "int8" }), /beyond float32/);
  assert.throws(() => qparamsFromRanges([0, NaN], [1, 1], { dtype: "int8" }, 0), /channel 1/);
  assert.throws(() => qparamsFromRanges([0], [1, 2], { dtype: "int8" }, 0), /as many mins as maxs/);
  assert.throws(() => qparamsFromRanges([], [], { dtype: "int8" }, 0), /empty/);
});

test("per-channel ranges give one independent pair per channel", () => {
  const qp = qparamsFromRanges([-1, 0, -3], [3, 0, 1], { dtype: "uint8" }, 1);
  assert.equal(qp.axis, 1);
  assert.deepEqual(Array.from(qp.scale), [f32(4 / 255), 1, f32(4 / 255)]);
  assert.deepEqual(Array.from(qp.zeroPoint), [64, 0, 191]); // 3/(4/255) = 191.25
  for (let c = 0; c < 3; c++) {
    const single = qparamsFromRange([-1, 0, -3][c]!, [3, 0, 1][c]!, { dtype: "uint8" });
    assert.equal(qp.scale[c], single.scale[0]);
    assert.equal(qp.zeroPoint[c], single.zeroPoint[0]);
  }
});

test("checkQParams rejects malformed parameters", () => {
  const ok: QParams = { dtype: "uint8", scale: Float32Array.of(0.5), zeroPoint: Int32Array.of(3) };
  checkQParams(ok);
  assert.throws(() => checkQParams({ ...ok, zeroPoint: Int32Array.of(256) }), /zeroPoint\[0\] = 256 is outside the uint8 range \[0, 255\]/);
  assert.throws(() => checkQParams({ ...ok, scale: Float32Array.of(0) }), /scale\[0\] = 0/);
  assert.throws(() => checkQParams({ ...ok, scale: Float32Array.of(NaN) }), /scale\[0\] = NaN/);
  assert.throws(() => checkQParams({ ...ok, scale: Float32Array.of(1, 2), zeroPoint: Int32Array.of(0, 0) }), /exactly 1 scale/);
  assert.throws(() => checkQParams({ ...ok, zeroPoint: Int32Array.of(0, 0) }), /1 scales but 2 zero points/);
  assert.throws(() => checkQParams({ ...ok, axis: 1 }, [2, 3]), /1 scales but the tensor has 3 channels along axis 1/);
  assert.throws(() => checkQParams({ ...ok, axis: 2 }, [2, 3]), /axis 2 is out of range/);
  assert.throws(() => checkQParams({ ...ok, scale: [0.5] as never }), /Float32Array/);
});

// Float32 range endpoints (what observers produce), any order.
const arbRange = fc.tuple(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true }))
  .map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);
const arbOptions = fc.record({
  dtype: fc.constantFrom(...QUANT_DTYPES),
  symmetric: fc.boolean(),
  narrow: fc.boolean(),
});

test("property: 0.0 is exactly representable for every range and option", () => {
  fc.assert(fc.property(arbRange, arbOptions, ([lo, hi], opts) => {
    const qp = qparamsFromRange(lo, hi, opts);
    const { qmin, qmax } = qRange(opts.dtype);
    const z = qp.zeroPoint[0]!;
    const s = qp.scale[0]!;
    const q = quantize(Float32Array.of(0), qp);
    return Number.isInteger(z) && z >= qmin && z <= qmax && s > 0 && Number.isFinite(s) && s === f32(s)
      && q[0] === z && dequantize(q, qp)[0] === 0 && fakeQuantize(Float32Array.of(-0), qp)[0] === 0;
  }), { numRuns: 2000 });
});

// Magnitudes up to 1e30: near ±FLT_MAX the grid's outermost code (e.g. -128·absmax/127.5) overflows
// float32 on dequantization, as it would in DequantizeLinear.
const arbModestRange = fc.tuple(fc.float({ min: f32(-1e30), max: f32(1e30), noNaN: true }), fc.float({ min: f32(-1e30), max: f32(1e30), noNaN: true }))
  .map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);

test("property: every value of the (widened) range comes back within one scale step", () => {
  fc.assert(fc.property(arbModestRange, arbOptions, fc.double({ min: 0, max: 1, noNaN: true }), ([lo, hi], opts, t) => {
    const qp = qparamsFromRange(lo, hi, opts);
    const s = qp.scale[0]!;
    const a = Math.min(lo, 0);
    const b = Math.max(hi, 0);
    const x = f32(a + (b - a) * t);
    if (x < a || x > b) return true; // float32 rounding stepped outside the range
    const back = fakeQuantize(Float32Array.of(x), qp)[0]!;
    // One step of the grid, plus float32 rounding of x/scale on up to 2^16 levels.
    return Math.abs(back - x) <= s * 1.01 + 1e-30;
  }), { numRuns: 2000 });
});

test("property: asymmetric zero point puts min on the grid point nearest qmin allowed by the float32 scale", () => {
  fc.assert(fc.property(arbRange, fc.constantFrom(...QUANT_DTYPES), fc.boolean(), ([lo, hi], dtype, narrow) => {
    const qp = qparamsFromRange(lo, hi, { dtype, narrow });
    const s = qp.scale[0]!;
    const z = qp.zeroPoint[0]!;
    const { qmin, qmax } = qRange(dtype, narrow);
    const a = Math.min(lo, 0);
    if (s === 1 && Math.max(hi, 0) - a < 2 ** -120) return true; // degenerate range
    if (z === qmax || z === qmin && a !== 0) return true; // clamped
    return Math.abs(s * (qmin - z) - a) <= s / 2 * (1 + 1e-6);
  }), { numRuns: 2000 });
});
