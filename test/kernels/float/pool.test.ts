// Pooling kernels against hand-worked windows, and the fast max pool against the reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pool2dGeometry } from "../../../src/kernels/float/geometry.js";
import { maxPool2dForward } from "../../../src/kernels/float/pool.js";
import { avgPool2dBackwardReference, avgPool2dForwardReference, maxPool2dBackwardReference, maxPool2dForwardReference } from "../../../src/kernels/float/reference.js";
import { Rng } from "../../../src/train/init.js";

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

test("fast max pool equals the reference on random geometries", () => {
  const rng = new Rng(9);
  const shapes: Array<[number[], number[], Parameters<typeof pool2dGeometry>[2]]> = [
    [[2, 3, 24, 24], [2, 2], { strides: [2, 2] }],
    [[1, 2, 7, 9], [3, 2], { strides: [2, 1], pads: [1, 1, 2, 1] }],
    [[2, 1, 8, 8], [3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }],
  ];
  for (const [dims, kernel, opts] of shapes) {
    const g = pool2dGeometry(dims, kernel, opts);
    // Quantised values so ties happen and the tie rule is exercised.
    const x = Float32Array.from({ length: dims.reduce((s, d) => s * d, 1) }, () => rng.below(7) - 3);
    const a = maxPool2dForward(x, g);
    const b = maxPool2dForwardReference(x, g);
    assert.deepEqual(a.y, b.y);
    assert.deepEqual(a.argmax, b.argmax);
  }
  assert.throws(() => pool2dGeometry([1, 1, 4, 4], [2, 2], { pads: [2, 0, 0, 0] }), /must be smaller than the kernel/);
});
