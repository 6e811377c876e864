import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SymmetricHistogram, powerOfTwoAbove } from "../../src/observe/histogram.js";
import { concat, gaussian, random } from "./helpers.js";

/**
 * The histogram by its definition, written independently of the implementation: R is the smallest
 * power of two above max |x| (found by doubling/halving from 1), |x| bin j = floor(|x| / w), and a
 * negative x goes to the mirror bin n − 1 − j.
 */
function bruteForce(values: ArrayLike<number>, n: number): { limit: number; counts: number[] } {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
  let limit = 0;
  if (maxAbs > 0) {
    limit = 1;
    while (limit <= maxAbs) limit *= 2;
    while (limit / 2 > maxAbs) limit /= 2;
  }
  const counts = new Array<number>(2 * n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    const j = limit === 0 ? 0 : Math.floor(Math.abs(x) / (limit / n));
    counts[x < 0 ? n - 1 - j : n + j]!++;
  }
  return { limit, counts };
}

test("powerOfTwoAbove is the smallest power of two strictly above", () => {
  assert.equal(powerOfTwoAbove(3), 4);
  assert.equal(powerOfTwoAbove(4), 8); // strictly above: 4 itself would need bin n
  assert.equal(powerOfTwoAbove(0.3), 0.5);
  assert.equal(powerOfTwoAbove(0.5), 1);
  assert.equal(powerOfTwoAbove(1e-40), 2 ** -132); // 2^-133 ≈ 9.2e-41 ≤ 1e-40 < 2^-132 ≈ 1.8e-40
  assert.equal(powerOfTwoAbove(3.4e38), 2 ** 128);
  assert.throws(() => powerOfTwoAbove(0), /m > 0/);
});

test("hand-computed bins: 4 |x| bins, values in [-3, 1.5]", () => {
  // max |x| = 3 → R = 4, w = 1. Signed bins 0..7 cover [-4,-3) [-3,-2) [-2,-1) [-1,0) [0,1) [1,2) [2,3) [3,4)
  // except that negatives are mirrored: |x| bin j = floor(|x|) goes to 3 − j.
  //   0.5 → |x| bin 0 → 4;  −0.5 → 3;  1.5 → 5;  −3 → |x| bin 3 → 0;  0 → 4;  −1 → |x| bin 1 → 2.
  const h = new SymmetricHistogram(4);
  h.add(new Float32Array([0.5, -0.5, 1.5, -3, 0, -1]));
  assert.equal(h.limit, 4);
  assert.equal(h.binWidth, 1);
  assert.deepEqual(Array.from(h.counts), [1, 0, 1, 1, 2, 1, 0, 0]);
  assert.equal(h.min, -3);
  assert.equal(h.max, 1.5);
  assert.equal(h.total, 6);
  assert.equal(h.maxAbs, 3);
  // |x| histogram: bin 0 ← {0.5, −0.5, 0}, bin 1 ← {1.5, −1}, bin 3 ← {−3}
  assert.deepEqual(Array.from(h.absoluteCounts()), [3, 2, 0, 1]);
});

test("hand-computed growth: R 2 → 8 sums groups of 4 |x| bins", () => {
  // Batch 1: max |x| 1.5 → R = 2, w = 0.5: 0.5 → |x| bin 1 → 5; −0.5 → 4−1−1 = 2; 1.5 → |x| bin 3 → 7.
  const h = new SymmetricHistogram(4);
  h.add(new Float32Array([0.5, -0.5, 1.5]));
  assert.equal(h.limit, 2);
  assert.deepEqual(Array.from(h.counts), [0, 0, 1, 0, 0, 1, 0, 1]);
  // Batch 2: 6 → R = 8, w = 2. Old |x| bins 1 and 3 both map to floor(j/4) = 0; 6 → |x| bin 3 → 7.
  // Built from scratch at R = 8: 0.5 → 4, −0.5 → 3, 1.5 → 4, 6 → 7. Same.
  h.add(new Float32Array([6]));
  assert.equal(h.limit, 8);
  assert.deepEqual(Array.from(h.counts), [0, 0, 0, 1, 2, 0, 0, 1]);
});

test("zeros only: limit stays 0, zeros stay in |x| bin 0 after growth", () => {
  const h = new SymmetricHistogram(4);
  h.add(new Float32Array([0, -0, 0]));
  assert.equal(h.limit, 0);
  assert.equal(h.binWidth, 0);
  assert.deepEqual(Array.from(h.counts), [0, 0, 0, 0, 3, 0, 0, 0]);
  assert.equal(h.maxAbs, 0);
  h.add(new Float32Array([-3]));
  assert.equal(h.limit, 4);
  assert.deepEqual(Array.from(h.counts), [1, 0, 0, 0, 3, 0, 0, 0]);
});

test("streaming batches of growing range equals one histogram of all data at the final R", () => {
  const r = random(11);
  const batches: Float32Array[] = [];
  for (let b = 0; b < 12; b++) {
    const scale = 2 ** (b / 2 - 3); // ranges grow by √2 each batch, crossing many powers of two
    const batch = new Float32Array(5000);
    for (let i = 0; i < batch.length; i++) batch[i] = (r() * 2 - 1) * scale;
    // exact bin edges and their negatives (multiples of small powers of two) stress the mirror rule
    for (let i = 0; i < 50; i++) batch[i] = Math.round((r() * 2 - 1) * 64) * 2 ** -9 * scale;
    batches.push(batch);
  }
  const streamed = new SymmetricHistogram(2048);
  for (const b of batches) streamed.add(b);
  const all = concat(...batches);
  const expected = bruteForce(all, 2048);
  assert.equal(streamed.limit, expected.limit);
  assert.deepEqual(Array.from(streamed.counts), expected.counts);
  assert.equal(streamed.total, all.length);

  const once = new SymmetricHistogram(2048);
  once.add(all);
  assert.deepEqual(Array.from(once.counts), Array.from(streamed.counts));
});

test("property: any batch split and any merge order give the brute-force histogram", () => {
  const value = fc.oneof(
    fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    fc.integer({ min: -64, max: 64 }).map((k) => k / 16), // exact edges for small R
    fc.constantFrom(0, -0),
  );
  fc.assert(
    fc.property(fc.array(fc.array(value, { maxLength: 40 }), { minLength: 1, maxLength: 6 }), (parts) => {
      const batches = parts.map((p) => Float32Array.from(p));
      const all = concat(...batches);
      const expected = bruteForce(all, 16);
      // stream into one
      const streamed = new SymmetricHistogram(16);
      for (const b of batches) streamed.add(b);
      // one histogram per batch, merged right to left
      const merged = new SymmetricHistogram(16);
      for (const b of [...batches].reverse()) {
        const h = new SymmetricHistogram(16);
        h.add(b);
        merged.merge(h);
      }
      for (const h of [streamed, merged]) {
        assert.equal(h.limit, expected.limit);
        assert.deepEqual(Array.from(h.counts), expected.counts);
        assert.equal(h.total, all.length);
      }
    }),
    { numRuns: 300 },
  );
});

test("merge of two halves equals the histogram of the union (and keeps exact min/max)", () => {
  const a = gaussian(20000, 1);
  const b = gaussian(20000, 2).map((v) => v * 7); // wider: the merge must grow the first
  const ha = new SymmetricHistogram();
  ha.add(a);
  const hb = new SymmetricHistogram();
  hb.add(b);
  ha.merge(hb);
  const union = new SymmetricHistogram();
  union.add(concat(a, b));
  assert.equal(ha.limit, union.limit);
  assert.deepEqual(Array.from(ha.counts), Array.from(union.counts));
  assert.equal(ha.min, union.min);
  assert.equal(ha.max, union.max);
  assert.equal(ha.total, 40000);
});

test("state survives a JSON round trip and rejects inconsistent state", () => {
  const h = new SymmetricHistogram(8);
  h.add(new Float32Array([0.25, -1.5, 2, 0]));
  const state = JSON.parse(JSON.stringify(h.state()));
  const back = SymmetricHistogram.fromState(state);
  assert.deepEqual(Array.from(back.counts), Array.from(h.counts));
  assert.equal(back.limit, h.limit);
  assert.equal(back.min, -1.5);
  assert.equal(back.max, 2);
  assert.equal(back.total, 4);

  assert.throws(() => SymmetricHistogram.fromState({ ...state, limit: 8 }), /smallest power of two/);
  assert.throws(() => SymmetricHistogram.fromState({ ...state, limit: 3 }), /power of two/);
  assert.throws(() => SymmetricHistogram.fromState({ ...state, counts: state.counts.slice(1) }), /16 numbers/);
  assert.throws(() => SymmetricHistogram.fromState({ ...state, total: 5 }), /sum of counts/);
  assert.throws(() => SymmetricHistogram.fromState({ ...state, min: null }), /min\/max/);
  const negative = [...state.counts];
  negative[0] = -1;
  assert.throws(() => SymmetricHistogram.fromState({ ...state, counts: negative }), /non-negative integer/);
  assert.throws(() => new SymmetricHistogram(12), /power of two/);
});

test("add rejects NaN and infinities without recording anything", () => {
  const h = new SymmetricHistogram(8);
  h.add(new Float32Array([1, 2]));
  const before = Array.from(h.counts);
  assert.throws(() => h.add(new Float32Array([0.5, NaN])), /non-finite value NaN at index 1 of 2/);
  assert.throws(() => h.add(new Float32Array([Infinity])), /non-finite value Infinity at index 0/);
  assert.throws(() => h.add(new Float32Array([3, -Infinity])), /non-finite value -Infinity/);
  assert.deepEqual(Array.from(h.counts), before);
  assert.equal(h.total, 2);
  assert.equal(h.limit, 4);
});

test("merging histograms with different bin counts is refused", () => {
  const a = new SymmetricHistogram(8);
  const b = new SymmetricHistogram(16);
  b.add(new Float32Array([1]));
  assert.throws(() => a.merge(b), /cannot merge 16 \|x\| bins into 8/);
});
