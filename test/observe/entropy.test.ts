import { test } from "node:test";
import assert from "node:assert/strict";
import {
  candidateDistribution, createObserver, entropyCalibration, entropyDivergence, entropyThreshold, klDivergence,
  observerFromState, referenceDistribution, EntropyObserver,
} from "../../src/observe/index.js";
import { concat, gaussian, random } from "./helpers.js";

test("Q: the GTC 2017 slide's worked example (8 bins into 2 levels)", () => {
  // Slides: P = [1 0 2 3 5 3 1 7] merged into 2 bins → [1+0+2+3, 5+3+1+7] = [6, 16], expanded over
  // the non-empty bins: Q = [6/3, 0, 6/3, 6/3, 16/4, 16/4, 16/4, 16/4] = [2 0 2 2 4 4 4 4].
  assert.deepEqual(Array.from(candidateDistribution([1, 0, 2, 3, 5, 3, 1, 7], 8, 2)), [2, 0, 2, 2, 4, 4, 4, 4]);
  // When levels do not divide the kept bins, bin j joins group floor(j·levels/i): 5 bins into 2
  // levels → groups {0,1,2} and {3,4}: [1,2,3 | 4,0] → sums 6, 4 → [2,2,2, 4,0].
  assert.deepEqual(Array.from(candidateDistribution([1, 2, 3, 4, 0, 9], 5, 2)), [2, 2, 2, 4, 0]);
});

test("P: outliers are folded into the last kept bin", () => {
  assert.deepEqual(Array.from(referenceDistribution([1, 2, 3, 4, 5], 3)), [1, 2, 3 + 4 + 5]);
  assert.deepEqual(Array.from(referenceDistribution([1, 2, 3], 3)), [1, 2, 3]);
});

test("KL divergence, normalising both sides, unsmoothed", () => {
  // p = [1,1] → [1/2, 1/2]; q = [1,3] → [1/4, 3/4]: ½·ln(½/¼) + ½·ln(½/¾) = ½ ln 2 + ½ ln(2/3)
  assert.ok(Math.abs(klDivergence([1, 1], [1, 3]) - (0.5 * Math.log(2) + 0.5 * Math.log(2 / 3))) < 1e-15);
  // p = [½, 0, ½], q = [5/17, 7/17, 5/17]: the p = 0 term drops out, 2·½·ln(½·17/5) = ln(1.7)
  assert.ok(Math.abs(klDivergence([2, 0, 2], [5, 7, 5]) - Math.log(1.7)) < 1e-15);
  assert.equal(klDivergence([1, 1], [1, 0]), Infinity); // p > 0 where q = 0
  assert.equal(klDivergence([0, 1], [1, 1]), Math.log(2));
  assert.throws(() => klDivergence([0, 0], [1, 1]), /no mass/);
});

test("fast scan equals the literal definition on random histograms", () => {
  const r = random(21);
  for (let trial = 0; trial < 12; trial++) {
    const n = 256 + Math.floor(r() * 300);
    const counts = new Float64Array(n);
    for (let j = 0; j < n; j++) counts[j] = r() < 0.3 ? 0 : Math.floor(r() * (trial % 2 ? 4 : 100000));
    const fast = entropyCalibration(counts, 0.5);
    const reference: number[] = [];
    for (let i = 128; i <= n; i++) {
      const want = entropyDivergence(counts, i);
      const got = fast.divergences[i - 128]!;
      if (want === Infinity) assert.equal(got, Infinity, `trial ${trial} i ${i}`);
      else assert.ok(Math.abs(got - want) < 1e-10, `trial ${trial} i ${i}: ${got} vs ${want}`);
      reference.push(want);
    }
    const minimum = Math.min(...reference);
    let bestBins = n; // the largest i whose divergence ties the minimum (within 1e-12)
    while (!(reference[bestBins - 128]! <= minimum + 1e-12)) bestBins--;
    assert.equal(fast.bestBins, bestBins, `trial ${trial}`);
    assert.equal(fast.threshold, (bestBins + 0.5) * 0.5);
  }
});

test("a distribution inside the first 128 bins: threshold at bin 128 + ½", () => {
  // counts j+1 in bins 0..127, nothing above (2048 bins). At i = 128 every bin is its own level, so
  // Q = P and KL = 0. For every i > 128 some level merges two non-empty bins with different counts
  // (e.g. i = 129 puts bins 0 and 1 together: floor(1·128/129) = 0), so KL > 0.
  // Threshold = (128 + 0.5)·w.
  const counts = new Float64Array(2048);
  for (let j = 0; j < 128; j++) counts[j] = j + 1;
  const result = entropyCalibration(counts, 0.01);
  assert.equal(result.bestBins, 128);
  assert.ok(Math.abs(result.divergence) < 1e-12);
  assert.equal(result.threshold, 128.5 * 0.01);
});

test("data in blocks of 3 equal bins: the KL minimiser is i = 384 (3 bins per level)", () => {
  // Bins 0..299 hold k+1 in block k = {3k, 3k+1, 3k+2}; nothing above. Q = P exactly iff every level
  // within bins 0..299 is a union of whole blocks: i = 384 (levels of exactly 3 bins) and i = 383
  // (level g starts at ceil(g·383/128) = 3g for g < 128) both give KL = 0; i = 382 splits a block at
  // bin 191 (64·382/128 = 191), i ≥ 385 splits block 0 (ceil(385/128) = 4), i < 300 folds outliers.
  // Ties go to the larger i → 384, threshold 384.5·w.
  const counts = new Float64Array(2048);
  for (let j = 0; j < 300; j++) counts[j] = Math.floor(j / 3) + 1;
  const result = entropyCalibration(counts, 1);
  assert.ok(Math.abs(result.divergences[383 - 128]!) < 1e-12);
  assert.ok(Math.abs(result.divergences[384 - 128]!) < 1e-12);
  assert.ok(result.divergences[382 - 128]! > 1e-6 && result.divergences[385 - 128]! > 1e-6);
  assert.equal(result.bestBins, 384);
  assert.equal(result.threshold, 384.5);
  assert.equal(entropyThreshold(counts, 2), 769);
});

test("a long tail is clipped", () => {
  // A smooth bulk (decreasing counts over bins 0..255) and 5 outliers at bin 1900 out of ~150 000.
  // Keeping the outliers (i > 1900) forces ~15 bins per level and blurs the bulk; clipping them costs
  // only the 5/150 000 of mass moved into the last kept bin. The minimiser must lie below bin 1900,
  // and it must be the minimum of the literal divergences.
  const counts = new Float64Array(2048);
  for (let j = 0; j < 256; j++) counts[j] = 1000 - 3 * j;
  counts[1900] = 5;
  const result = entropyCalibration(counts, 1);
  assert.ok(result.bestBins < 1900, `bestBins ${result.bestBins}`);
  assert.ok(result.bestBins >= 256, `bestBins ${result.bestBins}`); // clipping into the bulk folds ~its whole tail
  let minimum = Infinity;
  for (let i = 128; i <= 2048; i += 1) minimum = Math.min(minimum, entropyDivergence(counts, i));
  assert.ok(Math.abs(result.divergence - minimum) < 1e-10);
});

test("entropy observer: symmetric [−T, T]; asymmetric keeps ReLU's min 0", () => {
  const relu = gaussian(200000, 8).map((v) => Math.max(0, v));
  const asym = createObserver("entropy");
  asym.update(relu);
  const r = asym.range();
  assert.equal(r.min, 0);
  assert.ok(r.max > 2 && r.max <= 6, `max ${r.max}`);

  const sym = createObserver("entropy", { symmetric: true });
  sym.update(relu);
  const s = sym.range();
  assert.equal(s.min, -s.max);

  // The observer is the pure function on the folded histogram with the zero spike flattened
  // (bin 0 := bin 1), capped at max |x|: 128 levels when symmetric, 256 for never-negative data
  // quantized asymmetrically (all codes of uint8 cover [0, T]).
  const h = asym.snapshot();
  const counts = h.absoluteCounts();
  counts[0] = counts[1]!;
  assert.equal(r.max, Math.min(entropyThreshold(counts, h.binWidth, 256, 256), h.maxAbs));
  assert.equal(s.max, Math.min(entropyThreshold(counts, h.binWidth, 128, 128), h.maxAbs));
  // More levels cost less resolution per level: the unsigned threshold clips no harder.
  assert.ok(r.max >= s.max, `unsigned ${r.max} vs signed ${s.max}`);
});

test("entropy observer: a ReLU zero spike does not drag the threshold to the first candidate", () => {
  // Half the values exactly 0 (ReLU of a centred Gaussian), the rest N(0,1)+: without flattening
  // bin 0, the first candidate (i = 128 bins ≈ R/16) wins; with it, T lands in the Gaussian's tail.
  const relu = gaussian(200000, 3).map((v) => Math.max(0, v));
  const o = createObserver("entropy");
  o.update(relu);
  const max = o.range().max;
  assert.ok(max > 2.5, `threshold ${max} clips the ReLU output too hard`);
});

test("entropy observer: outliers in a later batch grow the histogram and get clipped", () => {
  // Bulk N(0,1) (|x| < ~5.5), then 3 outliers near 30: R grows from 8 to 32, w = 1/64, so the bulk
  // spans ~350 |x| bins and the outliers sit near bin 1900. Candidates whose last kept bin is empty
  // while outliers exist have infinite divergence, so the winner either clips inside the bulk or keeps
  // everything; keeping everything blurs the bulk into ~3 levels, so it clips.
  const bulk = gaussian(300000, 9);
  const o = createObserver("entropy", { symmetric: true });
  o.update(bulk);
  const before = o.range().max;
  o.update(new Float32Array([30, -25, 28]));
  const after = o.range().max;
  assert.ok(before > 3, `threshold without outliers ${before}`);
  assert.ok(after > 3 && after < 6, `threshold ${after} should clip the outliers near 30`);
});

test("entropy limitation: a bulk narrower than startBin bins cannot be resolved (as in TensorRT)", () => {
  // Outliers 200× beyond the bulk: R = 1024, w = 0.5, the bulk fills |x| bins 0..9 only. Every
  // candidate from 128 to 1600 has an empty last bin with outliers beyond it (infinite KL), so the
  // search cannot clip into the gap: the unsmoothed algorithm keeps the full range.
  const o = createObserver("entropy", { symmetric: true });
  o.update(concat(gaussian(100000, 13), new Float32Array([1000, -800, 900])));
  assert.equal(o.range().max, 1000);
});

test("entropy levels follow bits: 2^(bits−1); too few bins for the levels is refused", () => {
  assert.equal((createObserver("entropy") as EntropyObserver).quantLevels, 128);
  assert.equal((createObserver("entropy", { bits: 4 }) as EntropyObserver).quantLevels, 8);
  const big = createObserver("entropy", { bits: 12 }) as EntropyObserver; // 2048 levels: start at bin 2048
  assert.equal(big.startBin, 2048);
  assert.throws(() => createObserver("entropy", { bits: 13 }), /pass bins ≥ 4096/);
  assert.throws(() => createObserver("entropy", { bins: 64 }), /pass bins ≥ 128/);
  assert.throws(() => entropyCalibration(new Float64Array(100), 1), /fewer than startBin/);
  assert.throws(() => entropyCalibration(new Float64Array(200), 1), /empty histogram/);

  // 4-bit (8 levels) clips harder than 8-bit (128 levels) on a Gaussian.
  const data = gaussian(200000, 10);
  const e8 = createObserver("entropy", { symmetric: true });
  const e4 = createObserver("entropy", { symmetric: true, bits: 4 });
  e8.update(data);
  e4.update(data);
  assert.ok(e4.range().max < e8.range().max, `${e4.range().max} vs ${e8.range().max}`);
});

test("entropy: merge of two halves equals observing everything; state round trip; errors", () => {
  const data = concat(gaussian(30000, 12), new Float32Array([40, -35]));
  const whole = createObserver("entropy");
  whole.update(data);
  const a = createObserver("entropy");
  a.update(data.subarray(0, 15000));
  const b = createObserver("entropy");
  b.update(data.subarray(15000));
  a.merge(JSON.parse(JSON.stringify(b.state())));
  assert.deepEqual(a.range(), whole.range());
  assert.deepEqual(observerFromState(JSON.parse(JSON.stringify(whole.state()))).range(), whole.range());

  const empty = createObserver("entropy");
  assert.throws(() => empty.range(), /entropy observer: no calibration data observed/);
  assert.throws(() => empty.update(new Float32Array([-Infinity])), /non-finite value -Infinity/);
  const zeros = createObserver("entropy");
  zeros.update(new Float32Array(10));
  assert.deepEqual(zeros.range(), { min: 0, max: 0 });
});
