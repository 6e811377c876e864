import { test } from "node:test";
import assert from "node:assert/strict";
import { createObserver, observerFromState } from "../../src/observe/index.js";
import { gaussian } from "./helpers.js";

test("minmax: exact extremes over batches; symmetric covers both", () => {
  const o = createObserver("minmax");
  o.update(new Float32Array([0.5, -2, 3]));
  o.update(new Float32Array([1, -0.25]));
  o.update(new Float32Array([])); // empty batch: nothing changes
  assert.deepEqual(o.range(), { min: -2, max: 3 });

  const s = createObserver("minmax", { symmetric: true });
  s.update(new Float32Array([0.5, -7, 3]));
  assert.deepEqual(s.range(), { min: -7, max: 7 }); // max(|−7|, |3|) = 7
});

test("minmax: merge of two halves equals observing everything", () => {
  const data = gaussian(10000, 3);
  const whole = createObserver("minmax");
  whole.update(data);
  const left = createObserver("minmax");
  left.update(data.subarray(0, 4000));
  const right = createObserver("minmax");
  right.update(data.subarray(4000));
  left.merge(right.state());
  assert.deepEqual(left.range(), whole.range());
  // merging a live observer works the same, and through a JSON round trip
  const again = createObserver("minmax");
  again.update(data.subarray(0, 4000));
  again.merge(observerFromState(JSON.parse(JSON.stringify(right.state()))));
  assert.deepEqual(again.range(), whole.range());
  assert.equal((again.state() as { count: number }).count, 10000);
});

test("minmax: state round trip, empty error, NaN rejection", () => {
  const o = createObserver("minmax", { symmetric: true });
  assert.throws(() => o.range(), /no calibration data observed/);
  const empty = observerFromState(JSON.parse(JSON.stringify(o.state())));
  assert.throws(() => empty.range(), /no calibration data observed/);

  o.update(new Float32Array([1, -3]));
  assert.throws(() => o.update(new Float32Array([5, NaN, 9])), /minmax observer: non-finite value NaN at index 1 of 3/);
  assert.deepEqual(o.range(), { min: -3, max: 3 }); // the rejected batch left no trace (5 and 9 not seen)
  const back = observerFromState(JSON.parse(JSON.stringify(o.state())));
  assert.equal(back.method, "minmax");
  assert.deepEqual(back.range(), { min: -3, max: 3 });
  assert.throws(() => o.update([1, 2] as unknown as Float32Array), /takes a Float32Array, got Array/);
});

test("moving average: first batch sets, later batches move by c·(batch − current)", () => {
  const o = createObserver("moving-average", { averagingConstant: 0.5 });
  o.update(new Float32Array([-1, 0, 2])); // sets min −1, max 2
  assert.deepEqual(o.range(), { min: -1, max: 2 });
  o.update(new Float32Array([-3, 4])); // min −1 + 0.5·(−3 − −1) = −2; max 2 + 0.5·(4 − 2) = 3
  assert.deepEqual(o.range(), { min: -2, max: 3 });
  o.update(new Float32Array([])); // empty batch: ignored, not averaged in
  o.update(new Float32Array([0, 1])); // min −2 + 0.5·(0 − −2) = −1; max 3 + 0.5·(1 − 3) = 2
  assert.deepEqual(o.range(), { min: -1, max: 2 });

  const d = createObserver("moving-average"); // PyTorch's default c = 0.01
  d.update(new Float32Array([-1, 1]));
  d.update(new Float32Array([-3, 2]));
  const r = d.range(); // min −1 + 0.01·(−2) = −1.02; max 1 + 0.01·1 = 1.01
  assert.ok(Math.abs(r.min - -1.02) < 1e-12 && Math.abs(r.max - 1.01) < 1e-12, JSON.stringify(r));

  const s = createObserver("moving-average", { symmetric: true, averagingConstant: 0.5 });
  s.update(new Float32Array([-1, 2]));
  s.update(new Float32Array([-5, 2])); // min −3, max 2 → [−3, 3]
  assert.deepEqual(s.range(), { min: -3, max: 3 });
});

test("moving average: merge is the batch-count-weighted mean", () => {
  const a = createObserver("moving-average", { averagingConstant: 0.5 });
  a.update(new Float32Array([-4, 8])); // 1 batch: [−4, 8]
  const b = createObserver("moving-average", { averagingConstant: 0.5 });
  b.update(new Float32Array([-1, 1]));
  b.update(new Float32Array([-1, 1]));
  b.update(new Float32Array([-1, 1])); // 3 batches: [−1, 1]
  a.merge(b);
  // min = (1·−4 + 3·−1)/4 = −1.75; max = (1·8 + 3·1)/4 = 2.75
  assert.deepEqual(a.range(), { min: -1.75, max: 2.75 });
  assert.equal((a.state() as { batches: number }).batches, 4);

  const empty = createObserver("moving-average", { averagingConstant: 0.5 });
  empty.merge(b.state()); // merging into an empty observer copies
  assert.deepEqual(empty.range(), { min: -1, max: 1 });
  b.merge(createObserver("moving-average", { averagingConstant: 0.5 })); // merging an empty one changes nothing
  assert.deepEqual(b.range(), { min: -1, max: 1 });
  const back = observerFromState(JSON.parse(JSON.stringify(a.state())));
  assert.deepEqual(back.range(), { min: -1.75, max: 2.75 });
});

test("merge refuses other methods and other options", () => {
  const o = createObserver("minmax");
  o.update(new Float32Array([1]));
  assert.throws(() => o.merge(createObserver("percentile")), /cannot merge state of a percentile observer/);
  assert.throws(() => o.merge(createObserver("minmax", { symmetric: true })), /different options/);
  const m = createObserver("moving-average");
  assert.throws(() => m.merge(createObserver("moving-average", { averagingConstant: 0.1 })), /different options/);
});

test("options and states are validated with clear errors", () => {
  assert.throws(() => createObserver("kl" as never), /unknown observer method "kl"/);
  assert.throws(() => createObserver("minmax", { bit: 8 } as never), /unknown observer option "bit"/);
  assert.throws(() => createObserver("minmax", { bits: 1 }), /bits must be an integer in \[2, 16\]/);
  assert.throws(() => createObserver("percentile", { percentile: 101 }), /percentile must be a number in \[50, 100\]/);
  assert.throws(() => createObserver("moving-average", { averagingConstant: 0 }), /averagingConstant/);
  assert.throws(() => createObserver("entropy", { bins: 1000 }), /power of two/);
  assert.throws(() => observerFromState({ method: "nope" } as never), /unknown method "nope"/);
  assert.throws(
    () => observerFromState({ method: "minmax", options: {}, min: 2, max: 1, count: 3 } as never),
    /min ≤ max/,
  );
  assert.throws(
    () => observerFromState({ method: "minmax", options: {}, min: null, max: null, count: -1 } as never),
    /non-negative integer/,
  );
  assert.throws(() => observerFromState({ method: "entropy", options: {} } as never), /has no histogram/);
});
