// Fake quantization (STE with clipping), LSQ and the EMA range tracker against hand-computed cases,
// the LSQ step gradient against finite differences, and the LSQ range ↔ params round trip.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { qparamsFromRange, type QParams } from "../../src/quant/qparams.js";
import { fakeQuantize } from "../../src/quant/quantize.js";
import { Rng } from "../../src/train/init.js";
import { backward, constant, parameter } from "../../src/train/tape.js";
import { fakeQuant, fakeQuantBias } from "../../src/train/qat/fake_quant.js";
import { lsqGradScale, lsqIntegerCodes, lsqQuantize } from "../../src/train/qat/lsq.js";
import { lsqRange } from "../../src/train/qat/qat_model.js";
import { EmaRangeTracker } from "../../src/train/qat/range_tracker.js";

const uint8 = (scale: number, zeroPoint: number): QParams => ({ dtype: "uint8", scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zeroPoint) });

test("fakeQuant: values and straight-through gradient, zero where saturated", () => {
  // scale 0.5, zero point 10 → representable [−5, 122.5].
  const x = parameter(Float32Array.of(1.26, 0.25, 0.75, -6, 200, -5, 122.5), [7]);
  const y = fakeQuant(x, uint8(0.5, 10));
  // 1.26/0.5 = 2.52 → 3 → 1.5; 0.5 → tie → 0 (even); 1.5 → tie → 2 → 1.0; −12 + 10 = −2 → 0 → −5;
  // 400 + 10 → 255 → 122.5; −10 + 10 = 0 → −5 (edge, inside); 245 + 10 = 255 (edge, inside).
  assert.deepEqual(Array.from(y.data), [1.5, 0, 1, -5, 122.5, -5, 122.5]);
  backward(y, Float32Array.of(1, 2, 3, 4, 5, 6, 7));
  assert.deepEqual(Array.from(x.grad!), [1, 2, 3, 0, 0, 6, 7]);
});

test("fakeQuant: per-channel params along axis 0 of a weight", () => {
  const w = parameter(Float32Array.of(0.3, -0.9, 2.0, -4.0), [2, 2]);
  const qp: QParams = { dtype: "int8", scale: Float32Array.of(0.1, 0.5), zeroPoint: Int32Array.of(0, 0), axis: 0 };
  const y = fakeQuant(w, qp);
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;
  // channel 0: 3 → 0.3, −9 → −0.9; channel 1: 4 → 2.0, −8 → −4.0
  assert.ok([0.3, -0.9, 2, -4].every((v, i) => close(y.data[i]!, v)), `got ${Array.from(y.data)}`);
});

test("fakeQuant: NaN is an error naming the index", () => {
  assert.throws(() => fakeQuant(constant(Float32Array.of(1, NaN), [2]), uint8(1, 0)), /NaN at flat index 1/);
});

test("fakeQuantBias: int32 at input scale × weight scale, gradient passes", () => {
  const b = parameter(Float32Array.of(0.1234, -1), [2]);
  const y = fakeQuantBias(b, 0.01, Float32Array.of(0.5, 0.25));
  // scales 0.005 and 0.0025: 24.68 → 25 → 0.125; −400 → −1
  assert.ok(Math.abs(y.data[0]! - 0.125) < 1e-7 && Math.abs(y.data[1]! + 1) < 1e-7, `got ${Array.from(y.data)}`);
  backward(y, Float32Array.of(2, 3));
  assert.deepEqual(Array.from(b.grad!), [2, 3]);
});

test("LSQ: values and gradients of Esser et al. eq. 3 by hand (int4, s = 1)", () => {
  const x = parameter(Float32Array.of(1.3, 9, -10, -2.6), [4]);
  const s = parameter(Float32Array.of(1), [1]);
  const y = lsqQuantize(x, s, { dtype: "int4", zeroPoint: Int32Array.of(0) });
  assert.deepEqual(Array.from(y.data), [1, 7, -8, -3]);
  backward(y, Float32Array.of(1, 1, 1, 1));
  assert.deepEqual(Array.from(x.grad!), [1, 0, 0, 1]);
  // ∂/∂s: (1 − 1.3) + 7 + (−8) + (−3 + 2.6) = −1.7
  assert.ok(Math.abs(s.grad![0]! - -1.7) < 1e-6, `step gradient ${s.grad![0]}`);
});

test("LSQ: gradient scale g = 1/√(N·Q_P) multiplies the step gradient", () => {
  assert.equal(lsqGradScale(4, 7), 1 / Math.sqrt(28));
  const run = (g: number) => {
    const s = parameter(Float32Array.of(0.5), [1]);
    backward(lsqQuantize(constant(Float32Array.of(0.8, 2.1), [2]), s, { dtype: "int8", zeroPoint: Int32Array.of(0), gradScale: g }), Float32Array.of(1, 1));
    return s.grad![0]!;
  };
  assert.ok(Math.abs(run(0.25) - 0.25 * run(1)) < 1e-7);
});

test("LSQ: step gradient = finite difference of the loss minus the straight-through term Σ r·v/s (per channel)", () => {
  // With rounding held fixed (no value crosses a rounding boundary for a tiny change of s), the
  // true derivative of s·round(v/s) is round(v/s); LSQ's is round(v/s) − v/s inside the range,
  // and the same (qmin or qmax − z) outside. So LSQ = FD − Σ_inside r·v/s.
  const rng = new Rng(3);
  const dims = [3, 5];
  const steps = Float32Array.of(0.11, 0.07, 0.35);
  // v/s = k + δ with |δ| ≤ 0.3: no value crosses a rounding boundary under the ±ε below; some k
  // lie outside int4's range so both branches are exercised.
  const v = Float32Array.from({ length: 15 }, (_, i) => (Math.floor(rng.uniform() * 24) - 12 + (rng.uniform() - 0.5) * 0.6) * steps[Math.floor(i / 5)]!);
  const r = Float32Array.from({ length: 15 }, () => rng.uniform() * 2 - 1);
  const z = Int32Array.of(0, 3, -2);
  const opts = { dtype: "int4" as const, zeroPoint: z, axis: 0 };
  const s = parameter(steps.slice(), [3]);
  backward(lsqQuantize(constant(v, dims), s, opts), r);
  const loss = (st: Float32Array) => {
    const y = lsqQuantize(constant(v, dims), constant(st, [3]), opts).data;
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += r[i]! * y[i]!;
    return sum;
  };
  for (let c = 0; c < 3; c++) {
    const eps = 1e-4 * steps[c]!;
    const plus = steps.slice();
    const minus = steps.slice();
    plus[c]! += eps;
    minus[c]! -= eps;
    const fd = (loss(plus) - loss(minus)) / (plus[c]! - minus[c]!);
    let ste = 0;
    for (let i = c * 5; i < c * 5 + 5; i++) {
      const q = Math.round(v[i]! / steps[c]!) + z[c]!;
      if (q >= -8 && q <= 7) ste += (r[i]! * v[i]!) / steps[c]!;
    }
    assert.ok(Math.abs(s.grad![c]! - (fd - ste)) < 1e-2 * (1 + Math.abs(fd - ste)), `channel ${c}: LSQ ${s.grad![c]} vs FD − STE ${fd - ste}`);
  }
});

test("LSQ: integer codes are the forward pass's integers", () => {
  const v = Float32Array.of(0.26, -0.9, 1.0, 5);
  const codes = lsqIntegerCodes(v, [4], Float32Array.of(0.25), { dtype: "int8", zeroPoint: Int32Array.of(0), narrow: true });
  assert.deepEqual(Array.from(codes), [1, -4, 4, 20]);
  const y = lsqQuantize(constant(v, [4]), constant(Float32Array.of(0.25), [1]), { dtype: "int8", zeroPoint: Int32Array.of(0), narrow: true });
  assert.deepEqual(Array.from(y.data), Array.from(codes, (q) => q * 0.25));
});

test("lsqRange maps back to exactly the learned (scale, zero point) through qparamsFromRange", () => {
  fc.assert(fc.property(
    fc.float({ min: Math.fround(1e-6), max: Math.fround(10), noNaN: true }),
    fc.constantFrom("uint8", "int8", "uint4", "int4"),
    fc.boolean(), fc.nat(255),
    (s, dtype, symmetric, zSeed) => {
      const scale = Math.fround(s);
      const [qmin, qmax] = dtype === "uint8" ? [0, 255] : dtype === "int8" ? [-128, 127] : dtype === "uint4" ? [0, 15] : [-8, 7];
      const z = symmetric ? 0 : qmin + (zSeed % (qmax - qmin + 1)); // symmetric: only the scale is learned
      const r = lsqRange(scale, z, dtype, symmetric, false);
      const qp = qparamsFromRange(r.min, r.max, { dtype, symmetric });
      return qp.scale[0] === scale && (symmetric || qp.zeroPoint[0] === z);
    },
  ), { numRuns: 300 });
});

test("EMA ranges: first batch sets the range, then min/max move by the decay; frozen stops; NaN is an error", () => {
  const t = new EmaRangeTracker(0.9);
  t.observe(Float32Array.of(0, 1, 0.5), "x");
  assert.deepEqual([t.min, t.max], [0, 1]);
  t.observe(Float32Array.of(-1, 3), "x");
  // 0.9·0 + 0.1·(−1) = −0.1; 0.9·1 + 0.1·3 = 1.2
  assert.ok(Math.abs(t.min - -0.1) < 1e-12 && Math.abs(t.max - 1.2) < 1e-12);
  t.observe(Float32Array.of(2, 2), "x");
  assert.ok(Math.abs(t.min - 0.11) < 1e-12 && Math.abs(t.max - 1.28) < 1e-12);
  t.frozen = true;
  t.observe(Float32Array.of(-100, 100), "x");
  assert.ok(Math.abs(t.max - 1.28) < 1e-12 && t.count === 3);
  const u = new EmaRangeTracker(0.5);
  assert.throws(() => u.observe(Float32Array.of(1, NaN), "conv1"), /conv1 has NaN/);
  assert.throws(() => new EmaRangeTracker(1), /decay/);
});

test("fakeQuant equals the exporter's quantize → dequantize (quant/fakeQuantize) on random values with ties", () => {
  const rng = new Rng(12);
  // Multiples of half the scale put many values exactly on ties.
  const values = Float32Array.from({ length: 4000 }, (_, i) => (i % 2 ? Math.round((rng.uniform() - 0.5) * 1200) * 0.125 : (rng.uniform() - 0.5) * 400));
  for (const qp of [uint8(0.25, 128), { dtype: "int8", scale: Float32Array.of(0.25), zeroPoint: Int32Array.of(0) } as QParams, { dtype: "uint4", scale: Float32Array.of(3), zeroPoint: Int32Array.of(2) } as QParams]) {
    assert.deepEqual(Array.from(fakeQuant(constant(values, [4000]), qp).data), Array.from(fakeQuantize(values, qp)));
  }
});
