import { test } from "node:test";
import assert from "node:assert/strict";
import { batchSize, concatFeeds, countSamples, limit, rebatch, requireSamples, sliceFeeds } from "../../src/data/batch.js";
import type { DataSource, Feeds } from "../../src/data/feeds.js";
import { reiterable } from "../../src/data/feeds.js";

/** A batch of `n` samples of a [n, 2] float input "x" holding start, start+1, ... and an int64 "id". */
function rows(start: number, n: number): Feeds {
  return {
    x: { dtype: "float32", dims: [n, 2], data: Float32Array.from({ length: 2 * n }, (_, i) => start * 2 + i) },
    id: { dtype: "int64", dims: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(start + i)) },
  };
}

function sourceOf(sizes: number[]): DataSource {
  return reiterable(async function* () {
    let start = 0;
    for (const n of sizes) {
      yield rows(start, n);
      start += n;
    }
  });
}

async function collect(source: DataSource): Promise<Feeds[]> {
  const out: Feeds[] = [];
  for await (const f of source) out.push(f);
  return out;
}

const ids = (f: Feeds) => Array.from(f.id!.data as BigInt64Array, Number);

test("batchSize reads the shared first dimension and rejects disagreement", () => {
  assert.equal(batchSize(rows(0, 3)), 3);
  assert.throws(() => batchSize({ ...rows(0, 3), y: { dtype: "float32", dims: [2], data: new Float32Array(2) } }), /"x" has 3 samples, "y" has 2/);
  assert.throws(() => batchSize({ s: { dtype: "float32", dims: [], data: new Float32Array(1) } }), /scalar/);
});

test("concatFeeds joins along axis 0 and sliceFeeds cuts it", () => {
  const joined = concatFeeds([rows(0, 1), rows(1, 2)]);
  assert.deepEqual(joined.x!.dims, [3, 2]);
  assert.deepEqual(Array.from(joined.x!.data as Float32Array), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(ids(joined), [0, 1, 2]);
  const middle = sliceFeeds(joined, 1, 2);
  assert.deepEqual(middle.x!.dims, [1, 2]);
  assert.deepEqual(Array.from(middle.x!.data as Float32Array), [2, 3]);
  assert.throws(() => sliceFeeds(joined, 2, 4), /samples \[2, 4\) of a batch of 3/);
});

test("concatFeeds refuses mismatched shapes, dtypes and input sets", () => {
  const wide: Feeds = { ...rows(0, 1), x: { dtype: "float32", dims: [1, 3], data: new Float32Array(3) } };
  assert.throws(() => concatFeeds([rows(0, 1), wide]), /shapes \[1, 2\] and \[1, 3\] differ beyond the first dimension/);
  const f64: Feeds = { ...rows(0, 1), x: { dtype: "float64", dims: [1, 2], data: new Float64Array(2) } };
  assert.throws(() => concatFeeds([rows(0, 1), f64]), /dtypes float32 and float64/);
  assert.throws(() => concatFeeds([rows(0, 1), { x: rows(0, 1).x! }]), /batch 1 lacks input "id"/);
});

test("rebatch regroups any batch sizes into batches of N, keeping order", async () => {
  const out = await collect(rebatch(sourceOf([1, 1, 5, 0, 2]), 3));
  assert.deepEqual(out.map(batchSize), [3, 3, 3]);
  assert.deepEqual(out.flatMap(ids), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const ragged = await collect(rebatch(sourceOf([4, 3]), 3));
  assert.deepEqual(ragged.map(batchSize), [3, 3, 1]);
  const dropped = await collect(rebatch(sourceOf([4, 3]), 3, { dropRemainder: true }));
  assert.deepEqual(dropped.map(batchSize), [3, 3]);
  assert.throws(() => rebatch(sourceOf([1]), 0), /positive integer/);
});

test("limit takes the first n samples, cutting a batch, and stops reading", async () => {
  let produced = 0;
  const counting = reiterable(async function* () {
    for (let i = 0; i < 100; i++) {
      produced++;
      yield rows(4 * i, 4);
    }
  });
  const out = await collect(limit(counting, 6));
  assert.deepEqual(out.map(batchSize), [4, 2]);
  assert.deepEqual(out.flatMap(ids), [0, 1, 2, 3, 4, 5]);
  assert.equal(produced, 2);
  assert.equal(await countSamples(limit(sourceOf([3]), 0)), 0);
});

test("sources restart on every iteration", async () => {
  const src = rebatch(sourceOf([2, 2]), 3);
  assert.deepEqual((await collect(src)).flatMap(ids), (await collect(src)).flatMap(ids));
  assert.equal(await countSamples(src), 4);
});

test("requireSamples turns an empty source into an error", async () => {
  await assert.rejects(collect(requireSamples(sourceOf([]), "calibration data d contains no samples")), /d contains no samples/);
  await assert.rejects(collect(requireSamples(sourceOf([0]), "empty!")), /empty!/);
  assert.equal((await collect(requireSamples(sourceOf([1]), "x"))).length, 1);
});
