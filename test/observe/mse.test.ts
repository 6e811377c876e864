import { test } from "node:test";
import assert from "node:assert/strict";
import {
  asymmetricGrid, createObserver, mseRange, observerFromState, squaredQuantizationError, symmetricGrid,
} from "../../src/observe/index.js";
import { concat, gaussian, laplace, uniformGrid } from "./helpers.js";

test("integer grids follow the affine map of DESIGN.md", () => {
  // symmetric int8 full range: s = T/127.5, q ∈ [−128, 127]
  assert.deepEqual(symmetricGrid(63.75, 8, false), { scale: 0.5, kMin: -128, kMax: 127 });
  // narrow range: s = T/127, q ∈ [−127, 127]
  assert.deepEqual(symmetricGrid(63.5, 8, true), { scale: 0.5, kMin: -127, kMax: 127 });
  // 2-bit asymmetric [−1, 2]: s = 3/3 = 1, zero point round(1) = 1 → k ∈ [−1, 2]
  assert.deepEqual(asymmetricGrid(-1, 2, 2, false), { scale: 1, kMin: -1, kMax: 2 });
  // [0.5, 2] is widened to [0, 2]: s = 2/3, zero point 0 → k ∈ [0, 3]
  assert.deepEqual(asymmetricGrid(0.5, 2, 2, false), { scale: 2 / 3, kMin: 0, kMax: 3 });
  // 2-bit asymmetric [−1, 0.5]: s = 0.5, zero point round(2) = 2 → k ∈ [−2, 1]
  assert.deepEqual(asymmetricGrid(-1, 0.5, 2, false), { scale: 0.5, kMin: -2, kMax: 1 });
});

test("squared error: rounding inside, clipping outside", () => {
  // grid s = 1, k ∈ [−1, 2]: 0.4 → 0 (error 0.16), 1.0 → 1 (0), 5 → 2 (clipped: 9), −3 → −1 (4)
  const values = Float64Array.from([0.4, 1, 5, -3]);
  const counts = Float64Array.from([1, 2, 1, 3]);
  const error = squaredQuantizationError(values, counts, { scale: 1, kMin: -1, kMax: 2 });
  assert.ok(Math.abs(error - (0.16 + 0 + 9 + 3 * 4)) < 1e-12, `${error}`);
  // zero scale quantizes everything to 0
  assert.equal(squaredQuantizationError(values, counts, { scale: 0, kMin: 0, kMax: 0 }), 0.16 + 2 + 25 + 27);
});

test("mseRange on a hand-sized histogram picks the clipping that minimises the error", () => {
  // 2 bits symmetric (k ∈ [−2, 1], s = 2T/3). Values: 100 at 0.5, 1 at 3.5 (bin width 1, edges 1..3).
  // T = 3.5 (max): s = 7/3 — 0.5 → 0 (error 0.25·100 = 25), 3.5 → round(1.5) = 2 → 1 (clipped to
  // 2.33, error 1.36): 26.36.  T = 1: s = 2/3 — 0.5 → round(0.75) = 1 → 0.667 (error
  // 0.0278·100 = 2.78), 3.5 → 0.667 (8.03): 10.8.  T = 2: s = 4/3 — 0.5 → 0 (25), …: ≥ 25.
  // T = 3: s = 2 — 0.5 → 0 (25): ≥ 25. Best: T = 1.
  const r = mseRange({
    centres: Float64Array.from([0.5, 3.5]), counts: Float64Array.from([100, 1]),
    min: 0, max: 3.5, binWidth: 1, bits: 2, symmetric: true, narrowRange: false,
  });
  assert.deepEqual(r, { min: -1, max: 1 });
});

test("MSE on a uniform distribution without outliers keeps (almost) the full range", () => {
  // For U(−1, 1) the optimum trades the rounding error s²/12 against clipping (1 − T)³/3, which puts it
  // within a quantization step of the edge (T* ≈ 1 − 1/256 for 8 bits).
  const data = uniformGrid(200000, -1, 1);
  const sym = createObserver("mse", { symmetric: true });
  sym.update(data);
  const t = sym.range().max;
  assert.ok(t > 0.985 && t <= 1, `T = ${t}`);

  const asym = createObserver("mse");
  asym.update(data);
  const r = asym.range();
  assert.ok(r.min < -0.98 && r.min >= -1 && r.max > 0.98 && r.max <= 1, JSON.stringify(r));
});

test("MSE with a far outlier clips it", () => {
  // 4 bits: keeping an outlier at 10 makes the step 20/15 = 1.33 for 100 000 values in [−1, 1]
  // (error ≈ N/3 ≈ 33 000: everything rounds to 0); clipping near 1 costs (10 − 1)² ≈ 81 for the
  // outlier plus N·s²/12 ≈ 100 000·(2/15)²/12 ≈ 150 for the bulk. So the range ends near the bulk's edge.
  const data = concat(uniformGrid(100000, -1, 1), new Float32Array([10]));
  const sym = createObserver("mse", { symmetric: true, bits: 4 });
  sym.update(data);
  const t = sym.range().max;
  assert.ok(t > 0.8 && t < 1.1, `T = ${t}`);

  const asym = createObserver("mse", { bits: 4 });
  asym.update(data);
  const r = asym.range();
  assert.ok(r.max > 0.8 && r.max < 1.1 && r.min < -0.8 && r.min > -1.1, JSON.stringify(r));
});

test("MSE matches the analytic optimal clipping of ACIQ (Banner et al. 2019)", () => {
  // Optimal clipping values for a symmetric uniform quantizer, as tabulated from Banner, Nahshan &
  // Soudry, "Post-training 4-bit quantization of convolutional networks for rapid deployment"
  // (NeurIPS 2019) in ncnn/TNN: Gaussian σ=1: 8 bits 3.924, 4 bits 2.559; Laplace b=1: 8 bits 9.897,
  // 4 bits 5.029. ACIQ models the rounding noise as s²/12, so allow 5%.
  const g = gaussian(1000000, 17);
  const l = laplace(1000000, 18);
  const cases: [Float32Array, number, number][] = [[g, 8, 3.924], [g, 4, 2.559], [l, 8, 9.897], [l, 4, 5.029]];
  for (const [data, bits, expected] of cases) {
    const o = createObserver("mse", { symmetric: true, bits });
    o.update(data);
    const t = o.range().max;
    assert.ok(Math.abs(t / expected - 1) < 0.05, `${bits} bits: T = ${t}, ACIQ ${expected}`);
  }
});

test("MSE's choice is near-optimal when re-measured on the raw values", () => {
  // Brute force on the data itself (no histogram): quantize every value for 300 candidate T and find
  // the best error; the observer's T must come within 1% of that error.
  const data = gaussian(100000, 19);
  const bits = 4;
  const rawError = (t: number) => {
    const { scale, kMin, kMax } = symmetricGrid(t, bits, false);
    let e = 0;
    for (const x of data) {
      const k = Math.min(kMax, Math.max(kMin, Math.round(x / scale)));
      e += (x - k * scale) ** 2;
    }
    return e;
  };
  let best = Infinity;
  for (let c = 1; c <= 300; c++) best = Math.min(best, rawError((c / 300) * 5));
  const o = createObserver("mse", { symmetric: true, bits });
  o.update(data);
  assert.ok(rawError(o.range().max) <= best * 1.01, `${rawError(o.range().max)} vs ${best}`);
});

test("MSE: ReLU output keeps min 0; merge equals union; empty and NaN errors", () => {
  const relu = gaussian(100000, 20).map((v) => Math.max(0, v));
  const o = createObserver("mse");
  o.update(relu);
  const r = o.range();
  assert.equal(r.min, 0);
  assert.ok(r.max > 2.5 && r.max < 5, JSON.stringify(r));

  const data = concat(gaussian(20000, 21), new Float32Array([12]));
  for (const symmetric of [false, true]) {
    const whole = createObserver("mse", { symmetric });
    whole.update(data);
    const a = createObserver("mse", { symmetric });
    a.update(data.subarray(0, 9000));
    const b = createObserver("mse", { symmetric });
    b.update(data.subarray(9000));
    b.merge(observerFromState(JSON.parse(JSON.stringify(a.state()))));
    assert.deepEqual(b.range(), whole.range());
  }
  const empty = createObserver("mse");
  assert.throws(() => empty.range(), /mse observer: no calibration data observed/);
  assert.throws(() => empty.update(new Float32Array([Infinity])), /non-finite value Infinity/);
  const zeros = createObserver("mse", { symmetric: true });
  zeros.update(new Float32Array(4));
  assert.deepEqual(zeros.range(), { min: 0, max: 0 });
});
