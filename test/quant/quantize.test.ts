import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  quantize, dequantize, fakeQuantize, quantizeTensor, dequantizeTensor, quantizeValue, dequantizeValue,
} from "../../src/quant/quantize.js";
import { qparamsFromRange, qparamsFromRanges, type QParams } from "../../src/quant/qparams.js";
import { QUANT_DTYPES, type QuantDType } from "../../src/quant/dtype.js";

const f32 = Math.fround;
const perTensor = (dtype: QuantDType, scale: number, zeroPoint: number): QParams =>
  ({ dtype, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zeroPoint) });

test("ONNX QuantizeLinear golden (libonnx-testdata test_quantizelinear)", () => {
  const q = quantize(Float32Array.of(0, 2, 3, 1000, -254, -1000), perTensor("uint8", 2, 128));
  assert.ok(q instanceof Uint8Array);
  assert.deepEqual(Array.from(q), [128, 129, 130, 255, 1, 0]);
});

// x of dims [1, 3, 3, 2], per-axis along axis 1 with scales [2, 4, 5] and uint8 zero points [84, 24, 196].
const axisX = [-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470];
const axisY = [3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102];
const axisQP: QParams = { dtype: "uint8", scale: Float32Array.of(2, 4, 5), zeroPoint: Int32Array.of(84, 24, 196), axis: 1 };

test("ONNX QuantizeLinear / DequantizeLinear per-axis goldens (test_quantizelinear_axis, test_dequantizelinear_axis)", () => {
  assert.deepEqual(Array.from(quantize(Float32Array.from(axisX), axisQP, [1, 3, 3, 2])), axisY);
  assert.deepEqual(Array.from(dequantize(Uint8Array.from(axisY), axisQP, [1, 3, 3, 2])), axisX);
  // A negative axis counts from the end, as in ONNX.
  assert.deepEqual(Array.from(quantize(Float32Array.from(axisX), { ...axisQP, axis: -3 }, [1, 3, 3, 2])), axisY);
});

test("ONNX DequantizeLinear golden (test_dequantizelinear)", () => {
  assert.deepEqual(Array.from(dequantize(Uint8Array.of(0, 3, 128, 255), perTensor("uint8", 2, 128))), [-256, -250, 0, 254]);
});

test("ONNX DynamicQuantizeLinear goldens: params from the data's range, then quantize", () => {
  const cases: [number[], number[]][] = [
    [[0, 2, -3, -2.5, 1.34, 0.5], [153, 255, 0, 26, 221, 179]],
    [[-1, -2.1, -1.3, -2.5, -3.34, -4], [191, 121, 172, 96, 42, 0]],
    [[1, 2.1, 1.3, 2.5, 3.34, 4, 1.5, 2.6, 3.9, 4, 3, 2.345], [64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149]],
  ];
  for (const [x, y] of cases) {
    const values = Float32Array.from(x);
    const qp = qparamsFromRange(Math.min(...values), Math.max(...values), { dtype: "uint8" });
    assert.deepEqual(Array.from(quantize(values, qp)), y);
  }
});

test("x/scale ties round half to even before the zero point is added", () => {
  const x = Float32Array.of(0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5);
  assert.deepEqual(Array.from(quantize(x, perTensor("int8", 1, 0))), [0, 2, 2, 4, 0, -2, -2, -4]);
  // With an odd zero point the tie is still decided on x/scale, not on x/scale + zero point.
  assert.deepEqual(Array.from(quantize(x, perTensor("uint8", 1, 11))), [11, 13, 13, 15, 11, 9, 9, 7]);
  // scale 0.5: 0.25/0.5 = 0.5 → 0, 0.75/0.5 = 1.5 → 2
  assert.deepEqual(Array.from(quantize(Float32Array.of(0.25, 0.75, -0.25, -0.75), perTensor("int8", 0.5, 0))), [0, 2, 0, -2]);
});

test("saturation to each dtype's full range, infinities included", () => {
  const big = Float32Array.of(-Infinity, -1e30, -70000, 70000, 1e30, Infinity);
  const want: Record<QuantDType, number[]> = {
    int8: [-128, -128, -128, 127, 127, 127], uint8: [0, 0, 0, 255, 255, 255],
    int16: [-32768, -32768, -32768, 32767, 32767, 32767], uint16: [0, 0, 0, 65535, 65535, 65535],
    int4: [-8, -8, -8, 7, 7, 7], uint4: [0, 0, 0, 15, 15, 15],
  };
  const arrayType: Record<QuantDType, Function> = {
    int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int4: Int8Array, uint4: Uint8Array,
  };
  for (const dtype of QUANT_DTYPES) {
    const q = quantize(big, perTensor(dtype, 1, 0));
    assert.ok(q instanceof arrayType[dtype], `${dtype} array type`);
    assert.deepEqual(Array.from(q), want[dtype], dtype);
  }
});

test("int4 and uint4 held unpacked, with ties and saturation", () => {
  const q4 = quantize(Float32Array.of(-9, -8.5, -7.5, 0.5, 6.5, 7.5, 100), perTensor("int4", 1, 0));
  assert.deepEqual(Array.from(q4), [-8, -8, -8, 0, 6, 7, 7]);
  // uint4 scale 0.5 zero point 8: x/s = [-10, -8, 7, 8] → [-2, 0, 15, 16] → saturate [0, 0, 15, 15]
  const u4 = quantize(Float32Array.of(-5, -4, 3.5, 4), perTensor("uint4", 0.5, 8));
  assert.deepEqual(Array.from(u4), [0, 0, 15, 15]);
  assert.deepEqual(Array.from(dequantize(u4, perTensor("uint4", 0.5, 8))), [-4, -4, 3.5, 3.5]);
});

test("the division is float32: 0.3/0.1 in float32 is exactly 3 while in double it is 2.9999999999999996", () => {
  // f32(0.3)/f32(0.1) = 3.0000001 in double, rounded to float32 → 3. Either way q = 3; the float32 quotient
  // matters for ties: f32(0.35)/f32(0.1) = 3.4999999 in double but 3.5 in float32 → 4 (even).
  assert.equal(f32(f32(0.35) / f32(0.1)), 3.5);
  assert.ok(f32(0.35) / f32(0.1) < 3.5);
  assert.deepEqual(Array.from(quantize(Float32Array.of(0.35), perTensor("int8", 0.1, 0))), [4]);
  assert.equal(quantizeValue(0.35, 0.1, 0, "int8"), 4);
});

test("scalar helpers match the array functions", () => {
  assert.equal(quantizeValue(6, 6 / 255, 0, "uint8"), 255);
  assert.equal(quantizeValue(-1, 0.5, 3, "uint8"), 1);
  assert.equal(dequantizeValue(1, 0.5, 3), -1);
  assert.throws(() => quantizeValue(NaN, 1, 0, "int8"), /NaN/);
});

/** Independent reference: spec formula per element from its 4-D index, rounding via floor. */
function referenceQuantize4D(x: Float32Array, dims: number[], axis: number, scales: Float32Array, zps: Int32Array, qmin: number, qmax: number) {
  const out: number[] = [];
  const [d0, d1, d2, d3] = dims as [number, number, number, number];
  for (let a = 0; a < d0; a++) for (let b = 0; b < d1; b++) for (let c = 0; c < d2; c++) for (let d = 0; d < d3; d++) {
    const ch = [a, b, c, d][axis]!;
    const flat = ((a * d1 + b) * d2 + c) * d3 + d;
    const v = f32(x[flat]! / scales[ch]!);
    const fl = Math.floor(v);
    const frac = v - fl;
    const r = frac < 0.5 ? fl : frac > 0.5 ? fl + 1 : (fl % 2 === 0 ? fl : fl + 1);
    out[flat] = Math.min(qmax, Math.max(qmin, r + zps[ch]!));
  }
  return out;
}

test("per-channel along each axis of a 4-D tensor equals a brute-force loop", () => {
  const dims = [3, 4, 2, 5];
  fc.assert(fc.property(
    fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 120, maxLength: 120 }),
    fc.constantFrom(0, 1, 2, 3),
    fc.constantFrom<QuantDType>("int8", "uint8", "int4", "uint16"),
    fc.boolean(),
    (values, axis, dtype, symmetric) => {
      const x = Float32Array.from(values);
      // Brute-force per-channel ranges from the 4-D index.
      const n = dims[axis]!;
      const mins = new Array(n).fill(Infinity);
      const maxs = new Array(n).fill(-Infinity);
      for (let flat = 0; flat < 120; flat++) {
        const idx = [Math.floor(flat / 40), Math.floor(flat / 10) % 4, Math.floor(flat / 5) % 2, flat % 5];
        const ch = idx[axis]!;
        mins[ch] = Math.min(mins[ch], x[flat]!);
        maxs[ch] = Math.max(maxs[ch], x[flat]!);
      }
      const qp = qparamsFromRanges(mins, maxs, { dtype, symmetric }, axis);
      const qmin = { int8: -128, uint8: 0, int4: -8, uint16: 0 }[dtype as "int8"]!;
      const qmax = { int8: 127, uint8: 255, int4: 7, uint16: 65535 }[dtype as "int8"]!;
      const want = referenceQuantize4D(x, dims, axis, qp.scale, qp.zeroPoint, qmin, qmax);
      const got = quantize(x, qp, dims);
      assert.deepEqual(Array.from(got), want);
      // Dequantize and fakeQuantize per element too.
      const back = dequantize(got, qp, dims);
      const fq = fakeQuantize(x, qp, dims);
      for (let flat = 0; flat < 120; flat++) {
        const idx = [Math.floor(flat / 40), Math.floor(flat / 10) % 4, Math.floor(flat / 5) % 2, flat % 5];
        const ch = idx[axis]!;
        const expected = f32((want[flat]! - qp.zeroPoint[ch]!) * qp.scale[ch]!);
        assert.equal(back[flat], expected);
        assert.equal(fq[flat], expected);
      }
    },
  ), { numRuns: 200 });
});

test("quantizeTensor / dequantizeTensor keep dims and dtype", () => {
  const qp = axisQP;
  const t = { dtype: "float32" as const, dims: [1, 3, 3, 2], data: Float32Array.from(axisX) };
  const q = quantizeTensor(t, qp);
  assert.equal(q.dtype, "uint8");
  assert.deepEqual(q.dims, [1, 3, 3, 2]);
  assert.deepEqual(Array.from(q.data as Uint8Array), axisY);
  const back = dequantizeTensor(q, qp);
  assert.equal(back.dtype, "float32");
  assert.deepEqual(Array.from(back.data as Float32Array), axisX);
  // float64 input is converted to float32 first.
  const t64 = { dtype: "float64" as const, dims: [1, 3, 3, 2], data: Float64Array.from(axisX) };
  assert.deepEqual(Array.from(quantizeTensor(t64, qp).data as Uint8Array), axisY);
  assert.throws(() => quantizeTensor({ dtype: "int32", dims: [1], data: Int32Array.of(1) }, perTensor("int8", 1, 0)), /expected a float tensor/);
  assert.throws(() => dequantizeTensor(q, perTensor("int8", 1, 0)), /tensor dtype uint8 does not match qparams dtype int8/);
});

test("bad inputs are clear errors", () => {
  const qp = perTensor("int8", 0.1, 0);
  assert.throws(() => quantize(Float32Array.of(1, NaN), qp), /flat index 1 is NaN/);
  assert.throws(() => fakeQuantize(Float32Array.of(NaN), qp), /NaN/);
  assert.throws(() => quantize(Float32Array.from(axisX), axisQP), /per-axis qparams \(axis 1\) need the tensor's dims/);
  assert.throws(() => quantize(Float32Array.from(axisX), axisQP, [1, 6, 3]), /3 scales but the tensor has 6 channels/);
  assert.throws(() => quantize(Float32Array.of(1, 2, 3), qp, [2, 2]), /dims \[2, 2\] hold 4 values but got 3/);
  assert.throws(() => quantize([1, 2] as never, qp), /Float32Array/);
  assert.throws(() => quantize(Float32Array.of(1), perTensor("int8", 1, 200)), /outside the int8 range/);
  assert.throws(() => quantize(Float32Array.of(1), perTensor("int8", -1, 0)), /finite and > 0/);
});

test("property: narrow-range symmetric weights never use the dropped code", () => {
  fc.assert(fc.property(
    fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 50 }),
    fc.constantFrom<QuantDType>("int8", "int4", "int16", "uint8", "uint4"),
    (values, dtype) => {
      const x = Float32Array.from(values);
      let lo = Infinity, hi = -Infinity;
      for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const qp = qparamsFromRange(lo, hi, { dtype, symmetric: true, narrow: true });
      const dropped = { int8: -128, int4: -8, int16: -32768, uint8: 0, uint4: 0 }[dtype as "int8"];
      return !quantize(x, qp).includes(dropped);
    },
  ), { numRuns: 500 });
});
