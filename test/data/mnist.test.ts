import { test } from "node:test";
import assert from "node:assert/strict";
import { loadMnist, mnistBatches, mnistFeeds, parseIdxImages, parseIdxLabels } from "../../src/data/mnist.js";
import type { Feeds } from "../../src/data/feeds.js";

test("MNIST has 60000 training and 10000 test images of 28×28 with digit labels", () => {
  const train = loadMnist("train");
  const testSet = loadMnist("test");
  assert.equal(train.count, 60000);
  assert.equal(testSet.count, 10000);
  assert.equal(train.images.length, 60000 * 784);
  assert.equal(testSet.labels.length, 10000);
  // Published facts: the first test digit is a 7, the first training digit a 5 (then 0, 4, 1, 9).
  assert.equal(testSet.labels[0], 7);
  assert.deepEqual(Array.from(train.labels.subarray(0, 5)), [5, 0, 4, 1, 9]);
  // Every digit class occurs; the test set has 980 zeros (published class counts).
  const counts = new Array<number>(10).fill(0);
  for (const l of testSet.labels) counts[l]!++;
  assert.equal(counts[0], 980);
  assert.equal(counts.reduce((a, b) => a + b, 0), 10000);
  let min = Infinity, max = -Infinity;
  for (const v of testSet.images) { if (v < min) min = v; if (v > max) max = v; }
  assert.equal(min, 0);
  assert.equal(max, 1);
  // Values are k/255: check a pixel round-trips to an integer byte.
  const inked = testSet.images.find((v) => v > 0 && v < 1)!;
  assert.ok(Math.abs(inked * 255 - Math.round(inked * 255)) < 1e-4);
  assert.equal(loadMnist("test"), testSet, "cached per split");
  assert.throws(() => loadMnist("val" as "test"), /split must be "train" or "test"/);
});

test("IDX parsing validates magic numbers and sizes (hand-built files)", () => {
  // 2 images of 2×1: magic 00 00 08 03, count 2, rows 2, cols 1, then 4 pixels.
  const images = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 10, 20, 30, 40]);
  const parsed = parseIdxImages(images);
  assert.deepEqual([parsed.count, parsed.rows, parsed.cols], [2, 2, 1]);
  assert.deepEqual(Array.from(parsed.pixels), [10, 20, 30, 40]);
  assert.throws(() => parseIdxImages(images.subarray(0, 19), "f"), /f declares 2 images of 2×1 \(20 bytes\) but has 19 bytes/);
  const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
  assert.deepEqual(Array.from(parseIdxLabels(labels)), [7, 2, 1]);
  assert.throws(() => parseIdxImages(labels, "labels.idx"), /labels\.idx has magic number 0x00000801, expected 0x00000803/);
  assert.throws(() => parseIdxLabels(images, "img.idx"), /img\.idx has magic number 0x00000803, expected 0x00000801/);
  assert.throws(() => parseIdxLabels(new Uint8Array(3)), /too short/);
});

test("mnistFeeds batches images in the requested layout, with a limit", async () => {
  const seen: Feeds[] = [];
  for await (const f of mnistFeeds({ split: "test", inputName: "input", batch: 4, limit: 10 })) seen.push(f);
  assert.deepEqual(seen.map((f) => f.input!.dims), [[4, 1, 28, 28], [4, 1, 28, 28], [2, 1, 28, 28]]);
  const testSet = loadMnist("test");
  assert.deepEqual(Array.from((seen[1]!.input!.data as Float32Array).subarray(0, 784)), Array.from(testSet.images.subarray(4 * 784, 5 * 784)));
  for await (const f of mnistFeeds({ split: "test", inputName: "x", batch: 3, limit: 3, layout: "NHWC" })) assert.deepEqual(f.x!.dims, [3, 28, 28, 1]);
  for await (const f of mnistFeeds({ split: "test", inputName: "x", batch: 3, limit: 3, layout: "flat" })) assert.deepEqual(f.x!.dims, [3, 784]);
  const labels: number[] = [];
  for await (const b of mnistBatches({ split: "test", inputName: "x", batch: 2, limit: 3 })) labels.push(...b.labels);
  assert.deepEqual(labels, Array.from(testSet.labels.subarray(0, 3)));
  assert.throws(() => mnistFeeds({ split: "test", inputName: "x", batch: 0 }), /positive integer/);
});
