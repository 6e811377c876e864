// The relaxed-SIMD build (fused multiply-add GEMM) against the reference. Node 20 hides relaxed
// SIMD behind a V8 flag; this test process turns it on for itself (each test file runs in its own
// process), so the build is checked on every Node version.
import v8 from "node:v8";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { conv2dGeometry } from "../../../src/kernels/float/geometry.js";
import { referenceKernels } from "../../../src/kernels/float/kernels.js";
import { gemmReference } from "../../../src/kernels/float/reference.js";
import { relaxedSimdSupported, WasmFloatKernels } from "../../../src/kernels/float/wasm.js";
import { Rng } from "../../../src/train/init.js";

if (!relaxedSimdSupported()) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const relaxed1 = new WasmFloatKernels({ threads: 1, relaxedSimd: true });
const relaxed2 = new WasmFloatKernels({ threads: 2, relaxedSimd: true });
after(() => { relaxed1.dispose(); relaxed2.dispose(); });

test("the runtime now validates relaxed SIMD and the kernels say which build they use", () => {
  assert.equal(relaxedSimdSupported(), true);
  assert.equal(relaxed1.relaxedSimd, true);
  assert.match(relaxed1.name, /relaxed-simd×1/);
  assert.equal(new WasmFloatKernels({ relaxedSimd: false }).relaxedSimd, false);
});

test("relaxed GEMM equals the reference within the float error bound; two threads equal one", () => {
  const rng = new Rng(31);
  for (const [m, n, k] of [[5, 9, 300], [67, 33, 257], [50, 600, 500]] as const) {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = Float32Array.from({ length: m * k }, () => rng.uniform() * 2 - 1);
      const b = Float32Array.from({ length: k * n }, () => rng.uniform() * 2 - 1);
      const expected = new Float32Array(m * n);
      const one = new Float32Array(m * n);
      const two = new Float32Array(m * n);
      gemmReference(m, n, k, a, transA ? m : k, transA, b, transB ? k : n, transB, expected, n, false);
      relaxed1.gemm(m, n, k, a, transA ? m : k, transA, b, transB ? k : n, transB, one, n, false);
      relaxed2.gemm(m, n, k, a, transA ? m : k, transA, b, transB ? k : n, transB, two, n, false);
      // |error| ≤ k·2^-23·Σ|a||b| and Σ|a||b| ≤ k for values in [−1, 1].
      for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(one[i]! - expected[i]!) <= k * k * 2 ** -23, `C[${i}]`);
      assert.deepEqual(two, one);
    }
  }
});

test("relaxed conv kernels equal the reference", () => {
  const rng = new Rng(32);
  const g = conv2dGeometry([3, 4, 9, 8], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1], strides: [1, 2] });
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
  const x = r(3 * 4 * 72);
  const w = r(6 * 2 * 9);
  const y = relaxed1.conv2dForward(x, w, null, g);
  const yRef = referenceKernels.conv2dForward(x, w, null, g);
  for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i]! - yRef[i]!) <= 1e-5, `y[${i}]`);
  const dy = r(y.length);
  const grads = relaxed1.conv2dBackward(x, w, dy, g, { input: true, weight: true });
  const ref = referenceKernels.conv2dBackward(x, w, dy, g, { input: true, weight: true });
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(grads.dx![i]! - ref.dx![i]!) <= 1e-5, `dx[${i}]`);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(grads.dw![i]! - ref.dw![i]!) <= 1e-4, `dw[${i}]`);
});
