// The thread pool with more threads than cores: every chunk is computed exactly once, by some
// thread, and the results equal a single-threaded run bit for bit; small jobs stay on the caller.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { conv2dGeometry } from "../../../src/kernels/float/geometry.js";
import { WasmFloatKernels } from "../../../src/kernels/float/wasm.js";
import { Rng } from "../../../src/train/init.js";

const one = new WasmFloatKernels({ threads: 1 });
const four = new WasmFloatKernels({ threads: 4 });
after(() => { one.dispose(); four.dispose(); });

test("four threads on two cores: GEMMs and convolutions equal one thread bit for bit, many times over", () => {
  const rng = new Rng(21);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
  for (let rep = 0; rep < 20; rep++) {
    const [m, n, k] = [20 + rng.below(60), 20 + rng.below(300), 50 + rng.below(300)];
    const a = r(m * k);
    const b = r(k * n);
    const c1 = new Float32Array(m * n);
    const c4 = new Float32Array(m * n);
    one.gemm(m, n, k, a, k, false, b, n, false, c1, n, false);
    four.gemm(m, n, k, a, k, false, b, n, false, c4, n, false);
    assert.deepEqual(c4, c1);
  }
  const g = conv2dGeometry([9, 6, 10, 10], [8, 3, 3, 3], { group: 2, pads: [1, 1, 1, 1] });
  const x = r(9 * 6 * 100);
  const w = r(8 * 3 * 9);
  const dy = r(9 * 8 * 100);
  assert.deepEqual(four.conv2dForward(x, w, null, g), one.conv2dForward(x, w, null, g));
  const g4 = four.conv2dBackward(x, w, dy, g, { input: true, weight: true });
  const g1 = one.conv2dBackward(x, w, dy, g, { input: true, weight: true });
  assert.deepEqual(g4.dx, g1.dx);
  assert.deepEqual(g4.dw, g1.dw);
});

test("a narrow GEMM is split by rows and still equals one thread", () => {
  const rng = new Rng(22);
  const [m, n, k] = [600, 9, 400];
  const a = Float32Array.from({ length: m * k }, () => rng.uniform());
  const b = Float32Array.from({ length: k * n }, () => rng.uniform());
  const c1 = new Float32Array(m * n);
  const c4 = new Float32Array(m * n);
  one.gemm(m, n, k, a, k, false, b, n, false, c1, n, false);
  four.gemm(m, n, k, a, k, false, b, n, false, c4, n, false);
  assert.deepEqual(c4, c1);
});

test("the peak loop runs on every thread and reports the flops done", () => {
  assert.equal(four.simdPeak(1000), 1000 * 64);
  assert.equal(one.simdPeak(10), 640);
});

test("thread counts outside [1, 64] are refused", () => {
  assert.throws(() => new WasmFloatKernels({ threads: 0 }), /threads must be an integer in \[1, 64\]/);
});
