// Pooling and ReLU kernels: the reference against hand-worked windows, and the WebAssembly kernels
// (one and two threads) against the reference, bit for bit (these ops only select values).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { pool2dGeometry } from "../../../src/kernels/float/geometry.js";
import {
  avgPool2dBackwardReference, avgPool2dForwardReference, maxPool2dBackwardReference, maxPool2dForwardReference,
  reluBackwardReference, reluForwardReference,
} from "../../../src/kernels/float/reference.js";
import { WasmFloatKernels } from "../../../src/kernels/float/wasm.js";
import { Rng } from "../../../src/train/init.js";

const wasm1 = new WasmFloatKernels({ threads: 1 });
const wasm2 = new WasmFloatKernels({ threads: 2 });
after(() => { wasm1.dispose(); wasm2.dispose(); });

// x = 4×4 ramp 0..15
const ramp = Float32Array.from({ length: 16 }, (_, i) => i);

test("max pool 2×2 stride 2 by hand, with gradient routing", () => {
  const g = pool2dGeometry([1, 1, 4, 4], [2, 2], { strides: [2, 2] });
  const { y, argmax } = maxPool2dForwardReference(ramp, g);
  assert.deepEqual([...y], [5, 7, 13, 15]);
  assert.deepEqual([...argmax], [5, 7, 13, 15]);
  const dx = maxPool2dBackwardReference(Float32Array.of(1, 2, 3, 4), argmax, 16);
  assert.deepEqual([...dx], [0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4]);
  // Ties go to the first tap; padding never wins even when every value is negative.
  const neg = Float32Array.of(-3, -1, -1, -2);
  const gp = pool2dGeometry([1, 1, 2, 2], [2, 2], { pads: [1, 1, 0, 0] });
  const r = maxPool2dForwardReference(neg, gp);
  assert.deepEqual([...r.y], [-3, -1, -1, -1]);
  assert.deepEqual([...r.argmax], [0, 1, 2, 1]);
});

test("average pool 3×3 stride 1 pad 1 by hand, with and without count_include_pad", () => {
  const g = pool2dGeometry([1, 1, 4, 4], [3, 3], { pads: [1, 1, 1, 1] });
  const excl = avgPool2dForwardReference(ramp, g, false);
  const incl = avgPool2dForwardReference(ramp, g, true);
  // Corner window covers 0,1,4,5 → sum 10; centre window at (1,1) covers 0,1,2,4,5,6,8,9,10 → 45.
  assert.equal(excl[0], Math.fround(10 / 4));
  assert.equal(incl[0], Math.fround(10 / 9));
  assert.equal(excl[5], Math.fround(45 / 9));
  assert.equal(incl[5], Math.fround(45 / 9));
  // Gradient of Σy: each pixel receives 1/count from every window containing it; corner pixel 0 is
  // in windows (0,0) (4 taps), (0,1) (6 taps), (1,0) (6 taps), (1,1) (9 taps).
  const dx = avgPool2dBackwardReference(new Float32Array(16).fill(1), g, false);
  assert.ok(Math.abs(dx[0]! - (1 / 4 + 1 / 6 + 1 / 6 + 1 / 9)) < 1e-6);
});

test("wasm max pool forward and backward equal the reference (ties, pads, dilation, strides)", () => {
  const rng = new Rng(9);
  const shapes: Array<[number[], number[], Parameters<typeof pool2dGeometry>[2]]> = [
    [[64, 20, 24, 24], [2, 2], { strides: [2, 2] }],
    [[1, 2, 7, 9], [3, 2], { strides: [2, 1], pads: [1, 1, 2, 1] }],
    [[2, 1, 8, 8], [3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }],
    [[3, 5, 6, 5], [3, 3], { strides: [1, 1], pads: [1, 1, 1, 1] }],
    // Wide enough for the four-window vector path at stride 1 and at stride 2 with dilation.
    [[2, 3, 9, 13], [3, 3], { strides: [1, 1], pads: [1, 1, 1, 1] }],
    [[2, 2, 11, 19], [2, 3], { strides: [2, 2], dilations: [1, 2], pads: [0, 1, 1, 0] }],
  ];
  for (const [dims, kernel, opts] of shapes) {
    const g = pool2dGeometry(dims, kernel, opts);
    // Quantised values so ties happen and the first-maximum rule is exercised; some −0s and NaNs.
    const x = Float32Array.from({ length: dims.reduce((s, d) => s * d, 1) }, () => {
      const r = rng.below(9);
      return r === 7 ? -0 : r === 8 && rng.below(20) === 0 ? Number.NaN : r - 3;
    });
    const ref = maxPool2dForwardReference(x, g);
    const dy = Float32Array.from({ length: ref.y.length }, () => rng.uniform());
    const dxRef = maxPool2dBackwardReference(dy, ref.argmax, x.length);
    for (const k of [wasm1, wasm2]) {
      const got = k.maxPool2dForward(x, g);
      assert.deepEqual(got.y, ref.y, `${k.name} [${dims}] y`);
      assert.deepEqual(got.argmax, ref.argmax, `${k.name} [${dims}] argmax`);
      assert.deepEqual(k.maxPool2dBackward(dy, got.argmax, g), dxRef, `${k.name} [${dims}] dx`);
    }
  }
  const g = pool2dGeometry([1, 1, 4, 4], [2, 2], { strides: [2, 2] });
  assert.throws(() => wasm1.maxPool2dBackward(new Float32Array(4), Int32Array.of(0, 1, 2, 99), g), /an argmax index lies outside its window's plane/);
  assert.throws(() => pool2dGeometry([1, 1, 4, 4], [2, 2], { pads: [2, 0, 0, 0] }), /must be smaller than the kernel/);
});

test("ReLU: reference by hand, wasm equal to it bit for bit on odd lengths", () => {
  const x = Float32Array.of(-2, -0, 0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
  const y = reluForwardReference(x);
  assert.deepEqual([...y], [0, 0, 0, 0.5, 0, Number.POSITIVE_INFINITY, 0]);
  assert.ok(Object.is(y[1], 0)); // −0 becomes +0
  assert.deepEqual([...reluBackwardReference(x, Float32Array.of(1, 2, 3, 4, 5, 6, 7))], [0, 0, 0, 4, 0, 6, 0]);
  const rng = new Rng(10);
  for (const n of [7, 1, 100_003]) {
    const v = Float32Array.from({ length: n }, (_, i) => (i % 11 === 0 ? -0 : i % 13 === 0 ? Number.NaN : rng.uniform() - 0.5));
    const d = Float32Array.from({ length: n }, () => rng.uniform());
    for (const k of [wasm1, wasm2]) {
      assert.deepEqual(k.reluForward(v), reluForwardReference(v));
      assert.deepEqual(k.reluBackward(v, d), reluBackwardReference(v, d));
    }
  }
});
