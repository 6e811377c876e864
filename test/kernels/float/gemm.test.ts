// The WebAssembly SIMD GEMM against the plain-TypeScript reference (the spec) on random odd
// shapes, every transpose combination, accumulate and padded leading dimensions; and the
// reference itself against a product worked by hand.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { gemmReference } from "../../../src/kernels/float/reference.js";
import { WasmFloatKernels } from "../../../src/kernels/float/wasm.js";
import { Rng } from "../../../src/train/init.js";

const wasm1 = new WasmFloatKernels({ threads: 1 });
const wasm2 = new WasmFloatKernels({ threads: 2 });
after(() => { wasm1.dispose(); wasm2.dispose(); });

test("reference GEMM: a 2×3 by 3×2 product worked by hand, then accumulated", () => {
  const a = Float32Array.of(1, 2, 3, 4, 5, 6); // [[1,2,3],[4,5,6]]
  const b = Float32Array.of(7, 8, 9, 10, 11, 12); // [[7,8],[9,10],[11,12]]
  const c = new Float32Array(4);
  gemmReference(2, 2, 3, a, 3, false, b, 2, false, c, 2, false);
  assert.deepEqual([...c], [58, 64, 139, 154]);
  gemmReference(2, 2, 3, a, 3, false, b, 2, false, c, 2, true);
  assert.deepEqual([...c], [116, 128, 278, 308]);
  // Aᵀ stored as [3, 2] and Bᵀ as [2, 3] give the same product.
  const at = Float32Array.of(1, 4, 2, 5, 3, 6);
  const bt = Float32Array.of(7, 9, 11, 8, 10, 12);
  gemmReference(2, 2, 3, at, 2, true, bt, 3, true, c, 2, false);
  assert.deepEqual([...c], [58, 64, 139, 154]);
});

interface Case { m: number; n: number; k: number; transA: boolean; transB: boolean; accumulate: boolean; padC: number }

/** Runs one case on the reference and on `kernels`; checks the float error bound k·2^-23·Σ|a||b|. */
function check(kernels: WasmFloatKernels, c: Case, seed: number): Float32Array {
  const rng = new Rng(seed);
  const lda = c.transA ? c.m : c.k;
  const ldb = c.transB ? c.k : c.n;
  const ldc = c.n + c.padC;
  const a = Float32Array.from({ length: (c.transA ? c.k : c.m) * lda }, () => rng.uniform() * 2 - 1);
  const b = Float32Array.from({ length: (c.transB ? c.n : c.k) * ldb }, () => rng.uniform() * 2 - 1);
  const c0 = Float32Array.from({ length: Math.max(0, c.m * ldc) }, () => rng.uniform() * 2 - 1);
  const expected = c0.slice();
  const actual = c0.slice();
  gemmReference(c.m, c.n, c.k, a, lda, c.transA, b, ldb, c.transB, expected, ldc, c.accumulate);
  kernels.gemm(c.m, c.n, c.k, a, lda, c.transA, b, ldb, c.transB, actual, ldc, c.accumulate);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < ldc; j++) {
      const at = i * ldc + j;
      if (j >= c.n) {
        assert.equal(actual[at], c0[at], `padding C[${i}, ${j}] was overwritten`);
        continue;
      }
      let magnitude = c.accumulate ? Math.abs(c0[at]!) : 0;
      for (let p = 0; p < c.k; p++) {
        const av = c.transA ? a[p * lda + i]! : a[i * lda + p]!;
        const bv = c.transB ? b[j * ldb + p]! : b[p * ldb + j]!;
        magnitude += Math.abs(av * bv);
      }
      const bound = (c.k + 2) * 2 ** -23 * magnitude + 1e-30;
      assert.ok(Math.abs(actual[at]! - expected[at]!) <= bound, `${JSON.stringify(c)} C[${i}, ${j}]: wasm ${actual[at]} vs reference ${expected[at]}`);
    }
  }
  return actual;
}

test("wasm GEMM equals the reference on odd shapes in every transpose combination", () => {
  const shapes = [[1, 1, 1], [3, 5, 7], [4, 8, 1], [5, 9, 300], [67, 33, 257], [13, 130, 513], [65, 7, 66], [2, 1030, 3]];
  let seed = 0;
  for (const [m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const accumulate of [false, true]) {
          check(wasm1, { m: m!, n: n!, k: k!, transA, transB, accumulate, padC: seed % 3 }, seed++);
        }
      }
    }
  }
});

test("wasm GEMM with k = 0 leaves C (accumulate) or zeroes it", () => {
  const c = Float32Array.of(1, 2, 3, 4, 5, 6);
  wasm1.gemm(2, 3, 0, new Float32Array(0), 1, false, new Float32Array(0), 3, false, c, 3, true);
  assert.deepEqual([...c], [1, 2, 3, 4, 5, 6]);
  wasm1.gemm(2, 3, 0, new Float32Array(0), 1, false, new Float32Array(0), 3, false, c, 3, false);
  assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
});

test("wasm GEMM property: random shapes and flags agree with the reference", () => {
  fc.assert(fc.property(
    fc.record({
      m: fc.integer({ min: 1, max: 40 }), n: fc.integer({ min: 1, max: 40 }), k: fc.integer({ min: 1, max: 300 }),
      transA: fc.boolean(), transB: fc.boolean(), accumulate: fc.boolean(), padC: fc.integer({ min: 0, max: 3 }),
    }),
    fc.integer({ min: 0, max: 1 << 30 }),
    (c, seed) => { check(wasm1, c, seed); },
  ), { numRuns: 60, seed: 42 });
});

test("two threads give bit-identical results to one (split by columns and by rows)", () => {
  const cases: Case[] = [
    { m: 50, n: 4096, k: 500, transA: false, transB: false, accumulate: false, padC: 0 },
    { m: 500, n: 20, k: 300, transA: true, transB: true, accumulate: true, padC: 1 },
    { m: 64, n: 500, k: 800, transA: false, transB: true, accumulate: false, padC: 0 },
  ];
  cases.forEach((c, i) => {
    const one = check(wasm1, c, 100 + i);
    const two = check(wasm2, c, 100 + i);
    assert.deepEqual(two, one);
  });
});

test("bad GEMM arguments are named", () => {
  const a = new Float32Array(6);
  assert.throws(() => wasm1.gemm(2, 2, 3, a, 2, false, a, 2, false, new Float32Array(4), 2, false), /lda 2 is smaller than the 3 columns/);
  assert.throws(() => wasm1.gemm(2, 2, 3, a.subarray(0, 5), 3, false, a, 2, false, new Float32Array(4), 2, false), /A holds 5 values, needs 6/);
  assert.throws(() => wasm1.gemm(-1, 2, 3, a, 3, false, a, 2, false, new Float32Array(4), 2, false), /m must be a non-negative integer/);
});
