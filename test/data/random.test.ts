import { test } from "node:test";
import assert from "node:assert/strict";
import type { ValueInfo } from "../../src/graph/ir.js";
import type { Feeds } from "../../src/data/feeds.js";
import { randomFeeds } from "../../src/data/random.js";
import { Mulberry32 } from "../../src/data/prng.js";
import { floatToHalf } from "../../src/data/float16.js";
import { halfToFloat } from "../../src/tensor/tensor.js";

async function collect(src: AsyncIterable<Feeds>): Promise<Feeds[]> {
  const out: Feeds[] = [];
  for await (const f of src) out.push(f);
  return out;
}

test("mulberry32 matches published outputs of the reference algorithm", () => {
  // Test vectors from another implementation's test suite (seed 1985 → 3527837133, 3112574143;
  // seed 0 → 1144304738, 1416247).
  const a = new Mulberry32(1985);
  assert.deepEqual([a.nextUint32(), a.nextUint32()], [3527837133, 3112574143]);
  const b = new Mulberry32(0);
  assert.deepEqual([b.nextUint32(), b.nextUint32()], [1144304738, 1416247]);
});

test("uniform and normal draws have the moments of their distributions", () => {
  const rng = new Mulberry32(7);
  const n = 200000;
  let sum = 0, sumSq = 0, min = 1, max = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    sum += u; sumSq += u * u; min = Math.min(min, u); max = Math.max(max, u);
  }
  // Uniform[0,1): mean 1/2, variance 1/12; standard error of the mean ≈ 0.29/√n ≈ 0.0006.
  assert.ok(Math.abs(sum / n - 0.5) < 0.005);
  assert.ok(Math.abs(sumSq / n - (sum / n) ** 2 - 1 / 12) < 0.005);
  assert.ok(min >= 0 && max < 1);
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    s += z; s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.01);
  assert.ok(Math.abs(s2 / n - 1) < 0.02);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[rng.integer(-1, 1) + 1]!++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500);
});

test("floatToHalf rounds to the nearest binary16, ties to even", () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65520, 0x7c00], // halfway to 2^16 rounds (to even) up to Inf
    [1e6, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // half of it: tie to even → 0
    [3 * 2 ** -26, 0x0001], // 0.75 of the smallest subnormal → 1
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10 → even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9 → even (…02)
    [1 / 3, 0x3555],
  ];
  for (const [x, bits] of cases) assert.equal(floatToHalf(x), bits, `floatToHalf(${x})`);
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(Number.NaN))));
  // Every finite half survives half → number → half.
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00) continue;
    assert.equal(floatToHalf(halfToFloat(h)), h);
  }
});

test("random feeds follow the inputs' dtypes and shapes, batch by batch", async () => {
  const inputs: ValueInfo[] = [
    { name: "x", dtype: "float32", shape: ["batch", 3, 4] },
    { name: "ids", dtype: "int64", shape: [undefined, 5] },
    { name: "h", dtype: "float16", shape: [-1, 2] },
    { name: "m", dtype: "bool", shape: ["N", 1] },
  ];
  const out = await collect(randomFeeds(inputs, { batch: 4, samples: 10, seed: 3, intRange: [2, 4] }));
  assert.deepEqual(out.map((f) => f.x!.dims), [[4, 3, 4], [4, 3, 4], [2, 3, 4]]);
  assert.deepEqual(out[2]!.ids!.dims, [2, 5]);
  for (const f of out) {
    assert.equal(f.x!.dtype, "float32");
    for (const v of f.x!.data as Float32Array) assert.ok(v >= 0 && v < 1);
    for (const v of f.ids!.data as BigInt64Array) assert.ok(v >= 2n && v <= 4n);
    for (const v of f.h!.data as Uint16Array) assert.ok(halfToFloat(v) >= 0 && halfToFloat(v) <= 1);
    for (const v of f.m!.data as Uint8Array) assert.ok(v === 0 || v === 1);
  }
});

test("the same seed gives the same data on every iteration; another seed differs", async () => {
  const inputs: ValueInfo[] = [{ name: "x", dtype: "float32", shape: ["N", 8] }];
  const src = randomFeeds(inputs, { batch: 2, samples: 4, seed: 11, distribution: "normal", mean: 5, std: 0.1 });
  const first = (await collect(src)).flatMap((f) => Array.from(f.x!.data as Float32Array));
  const second = (await collect(src)).flatMap((f) => Array.from(f.x!.data as Float32Array));
  assert.deepEqual(first, second);
  for (const v of first) assert.ok(Math.abs(v - 5) < 1);
  const other = (await collect(randomFeeds(inputs, { batch: 2, samples: 4, seed: 12 }))).flatMap((f) => Array.from(f.x!.data as Float32Array));
  assert.notDeepEqual(first, other);
});

test("dynamic non-batch dimensions need explicit shapes; fixed batch must match", async () => {
  const dyn: ValueInfo[] = [{ name: "tokens", dtype: "int64", shape: ["N", "seq"] }];
  assert.throws(() => randomFeeds(dyn, { batch: 2, samples: 2 }), /input "tokens" of shape \[N, seq\] has a dynamic dimension 1: give a concrete shape/);
  const out = await collect(randomFeeds(dyn, { batch: 2, samples: 2, shapes: { tokens: ["N", 7] } }));
  assert.deepEqual(out[0]!.tokens!.dims, [2, 7]);
  assert.throws(() => randomFeeds([{ name: "x", dtype: "float32" }], { batch: 1, samples: 1 }), /no known shape/);
  assert.throws(() => randomFeeds([{ name: "x", dtype: "float32", shape: [1, 3] }], { batch: 4, samples: 4 }), /fixed batch dimension of 1, so random data needs batch size 1/);
  assert.throws(() => randomFeeds(dyn, { batch: 2, samples: 2, shapes: { nope: [1] } }), /"nope", which is not a model input/);
  assert.throws(() => randomFeeds([{ name: "s", dtype: "string", shape: [1] }], { batch: 1, samples: 1 }), /dtype string/);
  assert.throws(() => randomFeeds(dyn, { batch: 0, samples: 1, shapes: { tokens: [1, 1] } }), /batch size must be a positive integer/);
});
