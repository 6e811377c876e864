import { test } from "node:test";
import assert from "node:assert/strict";
import { createObserver, histogramQuantile, observerFromState } from "../../src/observe/index.js";
import { concat, gaussian, uniformGrid } from "./helpers.js";

test("histogramQuantile interpolates linearly inside the bin", () => {
  // bins [0,1) [1,2) [2,3) holding 1, 2, 1 values (N = 4)
  const counts = [1, 2, 1];
  assert.equal(histogramQuantile(counts, 0, 1, 0), 0); // lower edge of the first non-empty bin
  assert.equal(histogramQuantile(counts, 0, 1, 0.25), 1); // q·N = 1: all of bin 0 → its upper edge
  assert.equal(histogramQuantile(counts, 0, 1, 0.5), 1.5); // q·N = 2: 1 below, 1 of bin 1's 2 → 1 + 1/2
  assert.equal(histogramQuantile(counts, 0, 1, 0.875), 2.5); // q·N = 3.5: 3 below, half of bin 2
  assert.equal(histogramQuantile(counts, 0, 1, 1), 3);
  // empty bins are skipped; edges shift with firstEdge and width
  assert.equal(histogramQuantile([0, 0, 4, 0, 4], -10, 2, 0.75), -10 + 4 * 2 + (6 - 4) / 4 * 2); // −1
  assert.throws(() => histogramQuantile([0, 0], 0, 1, 0.5), /empty histogram/);
  assert.throws(() => histogramQuantile([1], 0, 1, 1.5), /q must be in \[0, 1\]/);
});

test("percentile of a uniform distribution", () => {
  // 400 000 values evenly spread over [−1, 1]: the p-th percentile of |x| is p/100 and the p-th
  // percentile of x is 2p/100 − 1. R = 1, bin width 1/2048; interpolation inside a bin is exact for
  // evenly spread values up to the discreteness of the grid (2/400 000).
  const data = uniformGrid(400000, -1, 1);
  const sym = createObserver("percentile", { symmetric: true, percentile: 99 });
  sym.update(data);
  const rs = sym.range();
  assert.ok(Math.abs(rs.max - 0.99) < 1e-4, `symmetric 99th percentile of |x|: ${rs.max}`);
  assert.equal(rs.min, -rs.max);

  const asym = createObserver("percentile", { percentile: 99 });
  asym.update(data);
  const ra = asym.range(); // 1st and 99th percentiles of x: −0.98 and 0.98
  assert.ok(Math.abs(ra.min - -0.98) < 1e-4 && Math.abs(ra.max - 0.98) < 1e-4, JSON.stringify(ra));

  const defaults = createObserver("percentile", { symmetric: true }); // 99.99 → 0.9999
  defaults.update(data);
  assert.ok(Math.abs(defaults.range().max - 0.9999) < 1e-4, `${defaults.range().max}`);
});

test("percentile 100 is exactly MinMax; a rare outlier is clipped", () => {
  const data = concat(uniformGrid(100000, -1, 2), new Float32Array([50]));
  const all = createObserver("percentile", { percentile: 100 });
  all.update(data);
  assert.deepEqual(all.range(), { min: data[0], max: 50 });

  const clipped = createObserver("percentile", { percentile: 99.9 });
  clipped.update(data);
  const r = clipped.range(); // the 0.1% and 99.9% points of U(−1, 2): −0.997 and 1.997; 50 is 1 in 100 001
  assert.ok(Math.abs(r.min - -0.997) < 1e-3 && Math.abs(r.max - 1.997) < 1e-3, JSON.stringify(r));
});

test("percentile of a standard normal (published z-value)", () => {
  // Two-sided 99.9%: P(|Z| ≤ 3.2905) = 0.999 (standard normal table).
  const o = createObserver("percentile", { symmetric: true, percentile: 99.9 });
  o.update(gaussian(1000000, 5));
  assert.ok(Math.abs(o.range().max - 3.2905) < 0.03, `${o.range().max}`);
});

test("percentile: merge of two halves equals observing everything; state round trip", () => {
  const data = gaussian(50000, 6).map((v, i) => (i % 7 === 0 ? v * 9 : v));
  for (const symmetric of [false, true]) {
    const whole = createObserver("percentile", { symmetric, percentile: 99.5 });
    whole.update(data);
    const a = createObserver("percentile", { symmetric, percentile: 99.5 });
    a.update(data.subarray(0, 20000));
    const b = createObserver("percentile", { symmetric, percentile: 99.5 });
    b.update(data.subarray(20000));
    const restored = observerFromState(JSON.parse(JSON.stringify(b.state())));
    a.merge(restored);
    assert.deepEqual(a.range(), whole.range());
  }
});

test("percentile: empty observer and NaN", () => {
  const o = createObserver("percentile");
  assert.throws(() => o.range(), /percentile observer: no calibration data observed/);
  assert.throws(() => o.update(new Float32Array([1, NaN])), /percentile observer: non-finite value NaN at index 1/);
  assert.throws(() => o.range(), /no calibration data observed/);
});
