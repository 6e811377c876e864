import { test } from "node:test";
import assert from "node:assert/strict";
import type { ValueInfo } from "../../src/graph/ir.js";
import type { Feeds } from "../../src/data/feeds.js";
import { reiterable } from "../../src/data/feeds.js";
import { firstNonFinite, validatedSource, validateFeeds } from "../../src/data/validate.js";

const inputs: ValueInfo[] = [
  { name: "image", dtype: "float32", shape: ["N", 3, 2, 2] },
  { name: "scale", dtype: "float32", shape: [undefined, 1] },
];

function good(n = 1): Feeds {
  return {
    image: { dtype: "float32", dims: [n, 3, 2, 2], data: new Float32Array(n * 12) },
    scale: { dtype: "float32", dims: [n, 1], data: new Float32Array(n).fill(1) },
  };
}

test("accepts matching feeds with any size in dynamic dimensions", () => {
  validateFeeds(good(1), inputs, "sample a.npz");
  validateFeeds(good(7), inputs, "sample a.npz");
  validateFeeds({ x: { dtype: "int64", dims: [5, 9], data: new BigInt64Array(45) } }, [{ name: "x", dtype: "int64" }], "w");
});

test("missing and unknown inputs are named, with the model's inputs", () => {
  const { scale: _, ...noScale } = good();
  assert.throws(() => validateFeeds(noScale, inputs, "file a.npz"), /^Error: file a\.npz: model input "scale" is missing \(the model's inputs are "image", "scale"; the data has "image"\)/);
  assert.throws(() => validateFeeds({ ...good(), extra: good().scale! }, inputs, "file a.npz"), /"extra" is not an input of the model/);
});

test("dtype, rank and static dimension mismatches say what was expected", () => {
  const f64 = { ...good(), image: { dtype: "float64" as const, dims: [1, 3, 2, 2], data: new Float64Array(12) } };
  assert.throws(() => validateFeeds(f64, inputs, "file b.npy"), /file b\.npy: input "image" has dtype float64 but the model expects float32 \(in NumPy, convert with a\.astype\(np\.float32\)/);
  const rank3 = { ...good(), image: { dtype: "float32" as const, dims: [3, 2, 2], data: new Float32Array(12) } };
  assert.throws(() => validateFeeds(rank3, inputs, "w"), /shape \[3, 2, 2\] \(rank 3\) but the model expects \[N, 3, 2, 2\] \(rank 4\)/);
  const channels = { ...good(), image: { dtype: "float32" as const, dims: [1, 1, 2, 2], data: new Float32Array(4) } };
  assert.throws(() => validateFeeds(channels, inputs, "w"), /dimension 1 must be 3/);
  const badLength = { ...good(), scale: { dtype: "float32" as const, dims: [1, 1], data: new Float32Array(2) } };
  assert.throws(() => validateFeeds(badLength, inputs, "w"), /holds 2 values instead of 1/);
});

test("a fixed batch dimension is checked unless told otherwise", () => {
  const fixed: ValueInfo[] = [{ name: "x", dtype: "float32", shape: [1, 2] }];
  const two: Feeds = { x: { dtype: "float32", dims: [2, 2], data: new Float32Array(4) } };
  assert.throws(() => validateFeeds(two, fixed, "w"), /dimension 0 must be 1/);
  validateFeeds(two, fixed, "w", { checkBatchDim: false });
});

test("NaN and Inf are reported with the input, the place and the first bad index", () => {
  const f = good(2);
  (f.image!.data as Float32Array)[12 + 3 * 4 - 1] = Number.NaN; // sample 1, channel 2, row 1, col 1 → flat 23
  (f.image!.data as Float32Array)[23 + 0] = Number.NaN;
  assert.throws(() => validateFeeds(f, inputs, "calibration file c.npy"),
    /calibration file c\.npy: input "image" has a non-finite value \(NaN\) at index \[1, 2, 1, 1\] \(flat index 23\)/);
  const inf = good();
  (inf.scale!.data as Float32Array)[0] = -Infinity;
  assert.throws(() => validateFeeds(inf, inputs, "w"), /\(-Infinity\) at index \[0, 0\]/);
  validateFeeds(f, inputs, "w", { checkFinite: false });
});

test("firstNonFinite understands float16 bit patterns and ignores integers", () => {
  // 0x3c00 = 1.0, 0x7c00 = +Inf, 0xfe00 = NaN
  assert.equal(firstNonFinite({ dtype: "float16", dims: [3], data: new Uint16Array([0x3c00, 0x7bff, 0xfe00]) }), 2);
  assert.equal(firstNonFinite({ dtype: "float16", dims: [2], data: new Uint16Array([0x7c00, 0]) }), 0);
  assert.equal(firstNonFinite({ dtype: "int32", dims: [1], data: new Int32Array([-1]) }), -1);
  assert.throws(() => validateFeeds({ h: { dtype: "float16", dims: [1], data: new Uint16Array([0xfc00]) } }, [{ name: "h", dtype: "float16", shape: [1] }], "w"), /\(-Infinity\)/);
});

test("validatedSource names the batch and its sample range", async () => {
  const src = reiterable(async function* () {
    yield good(2);
    const bad = good(3);
    (bad.scale!.data as Float32Array)[1] = Number.NaN;
    yield bad;
  });
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const f of validatedSource(src, inputs, "calibration data")) seen.push(f.image!.dims[0]!);
  }, /calibration data batch 1 \(samples 2–4\): input "scale" has a non-finite value \(NaN\) at index \[1, 0\]/);
  assert.deepEqual(seen, [2]);
});
