import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { channelRanges, tensorRange, quantizeWeight } from "../../src/quant/weights.js";

test("channelRanges along axis 0 and axis 1 of a [2, 3] matrix", () => {
  const data = Float32Array.of(1, -2, 3, -4, 5, 0.5);
  assert.deepEqual(channelRanges(data, [2, 3], 0), { mins: Float32Array.of(-2, -4), maxs: Float32Array.of(3, 5) });
  assert.deepEqual(channelRanges(data, [2, 3], 1), { mins: Float32Array.of(-4, -2, 0.5), maxs: Float32Array.of(1, 5, 3) });
  assert.deepEqual(channelRanges(data, [2, 3], -1), channelRanges(data, [2, 3], 1));
});

test("channelRanges on 4-D tensors equals brute force over the 4-D index", () => {
  const dims = [2, 3, 4, 5];
  fc.assert(fc.property(
    fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 120, maxLength: 120 }),
    fc.constantFrom(0, 1, 2, 3),
    (values, axis) => {
      const x = Float32Array.from(values);
      const n = dims[axis]!;
      const mins = new Float32Array(n).fill(Infinity);
      const maxs = new Float32Array(n).fill(-Infinity);
      for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) for (let d = 0; d < 5; d++) {
        const v = x[((a * 3 + b) * 4 + c) * 5 + d]!;
        const ch = [a, b, c, d][axis]!;
        mins[ch] = Math.min(mins[ch]!, v);
        maxs[ch] = Math.max(maxs[ch]!, v);
      }
      assert.deepEqual(channelRanges(x, dims, axis), { mins, maxs });
    },
  ), { numRuns: 200 });
});

test("empty channels get [0, 0]; NaN and bad shapes are errors", () => {
  assert.deepEqual(channelRanges(new Float32Array(0), [3, 0], 0), { mins: new Float32Array(3), maxs: new Float32Array(3) });
  assert.deepEqual(tensorRange([]), { min: 0, max: 0 });
  assert.throws(() => channelRanges(Float32Array.of(1, NaN), [2], 0), /flat index 1 is NaN/);
  assert.throws(() => tensorRange([0, NaN]), /NaN/);
  assert.throws(() => channelRanges(Float32Array.of(1, 2), [3], 0), /hold 3 values but got 2/);
  assert.throws(() => channelRanges(Float32Array.of(1, 2), [2], 1), /axis 1 is out of range for a tensor of rank 1/);
});

test("per-channel symmetric int8 narrow weights: hand-computed with exact binary scales", () => {
  // Row 0: max|w| = 7.9375 = 127·2^-4 → scale 0.0625. Row 1: max|w| = 31.75 = 127·0.25 → scale 0.25.
  const w = { dtype: "float32" as const, dims: [2, 4], data: Float32Array.of(-7.9375, 1, 0.03125, 0.09375, 31.75, -0.375, 0.625, 0) };
  const { q, qparams } = quantizeWeight(w, { dtype: "int8", symmetric: true, narrow: true, axis: 0 });
  assert.deepEqual(Array.from(qparams.scale), [0.0625, 0.25]);
  assert.deepEqual(Array.from(qparams.zeroPoint), [0, 0]);
  assert.equal(qparams.axis, 0);
  assert.equal(q.dtype, "int8");
  assert.deepEqual(q.dims, [2, 4]);
  // 0.03125/0.0625 = 0.5 → 0; 0.09375/0.0625 = 1.5 → 2; -0.375/0.25 = -1.5 → -2; 0.625/0.25 = 2.5 → 2
  assert.deepEqual(Array.from(q.data as Int8Array), [-127, 16, 0, 2, 127, -2, 2, 0]);
});

test("per-tensor and negative-axis weight quantization", () => {
  const w = { dtype: "float32" as const, dims: [2, 2], data: Float32Array.of(-1, 3, 0.5, 2) };
  const whole = quantizeWeight(w, { dtype: "uint8" });
  assert.equal(whole.qparams.axis, undefined);
  assert.deepEqual(Array.from(whole.qparams.scale), [Math.fround(4 / 255)]);
  assert.deepEqual(Array.from(whole.qparams.zeroPoint), [64]);
  // -1 → -63.75 → -64 + 64 = 0; 3 → 191.25 → 191 + 64 = 255; 0.5 → 31.875 → 32 + 64 = 96;
  // 2 → 127.5 in exact arithmetic, but f32(4/255) > 4/255 so the float32 quotient is 127.49999 → 127 + 64 = 191.
  assert.ok(Math.fround(4 / 255) > 4 / 255);
  assert.deepEqual(Array.from(whole.q.data as Uint8Array), [0, 255, 96, 191]);
  const lastAxis = quantizeWeight(w, { dtype: "int4", symmetric: true, narrow: true, axis: -1 });
  assert.equal(lastAxis.qparams.axis, 1); // stored normalised
  assert.deepEqual(Array.from(lastAxis.qparams.scale), [Math.fround(1 / 7), Math.fround(3 / 7)]);
  assert.throws(() => quantizeWeight({ dtype: "int8", dims: [1], data: Int8Array.of(1) }, { dtype: "int8" }), /expected a float tensor/);
  assert.throws(() => quantizeWeight({ dtype: "float32", dims: [1], data: Float32Array.of(Infinity) }, { dtype: "int8" }), /finite/);
});
