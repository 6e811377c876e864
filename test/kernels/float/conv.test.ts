// Convolution kernels: the direct-loop reference against hand-worked cases and against an
// independent formulation (im2col + GEMM, both reference); im2col/col2im as adjoints; the
// WebAssembly kernels (one and two threads) against the reference for strides, pads, dilations,
// groups and depthwise.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { conv2dGeometry, type Conv2dOptions } from "../../../src/kernels/float/geometry.js";
import { referenceKernels } from "../../../src/kernels/float/kernels.js";
import {
  col2imReference, conv2dBackwardDataReference, conv2dBackwardFilterReference, conv2dForwardReference, gemmReference, im2colReference,
} from "../../../src/kernels/float/reference.js";
import { WasmFloatKernels } from "../../../src/kernels/float/wasm.js";
import { Rng } from "../../../src/train/init.js";

const wasm1 = new WasmFloatKernels({ threads: 1 });
const wasm2 = new WasmFloatKernels({ threads: 2 });
after(() => { wasm1.dispose(); wasm2.dispose(); });

const random = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);

function close(actual: Float32Array, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test("reference conv: 3×3 image, 2×2 kernel, by hand", () => {
  const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
  const w = Float32Array.of(1, 0, 0, 1); // adds the top-left and bottom-right taps
  const g = conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2]);
  assert.deepEqual([...conv2dForwardReference(x, w, Float32Array.of(0.5), g)], [6.5, 8.5, 12.5, 14.5]);
  // Padding 1 and stride 2: windows at (−1,−1), (−1,1), (1,−1), (1,1).
  const gp = conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], { pads: [1, 1, 1, 1], strides: [2, 2] });
  assert.deepEqual([...conv2dForwardReference(x, w, null, gp)], [1, 3, 7, 5 + 9]);
  // ∂x of Σy with w = [1,0,0,1]: how many windows use each pixel as top-left or bottom-right.
  const dx = conv2dBackwardDataReference(Float32Array.of(1, 1, 1, 1), w, g);
  assert.deepEqual([...dx], [1, 1, 0, 1, 2, 1, 0, 1, 1]);
  // ∂w of Σy: the sum of the pixels each tap sees.
  assert.deepEqual([...conv2dBackwardFilterReference(x, Float32Array.of(1, 1, 1, 1), g)], [12, 16, 24, 28]);
});

const cases: Array<{ name: string; x: number[]; w: number[]; opts: Conv2dOptions }> = [
  { name: "LeNet conv2 shape", x: [3, 20, 12, 12], w: [50, 20, 5, 5], opts: {} },
  { name: "odd everything", x: [2, 3, 11, 9], w: [5, 3, 3, 2], opts: { strides: [2, 3], pads: [1, 0, 2, 1] } },
  { name: "dilation", x: [2, 2, 10, 9], w: [3, 2, 3, 3], opts: { dilations: [2, 3], pads: [2, 1, 0, 3] } },
  { name: "groups", x: [2, 6, 7, 7], w: [4, 3, 3, 3], opts: { group: 2, pads: [1, 1, 1, 1] } },
  { name: "depthwise stride 2", x: [3, 5, 9, 8], w: [5, 1, 3, 3], opts: { group: 5, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: "1×1", x: [2, 7, 5, 3], w: [9, 7, 1, 1], opts: {} },
  { name: "padding wider than the kernel reach", x: [1, 1, 2, 3], w: [2, 1, 2, 2], opts: { pads: [3, 3, 3, 3] } },
];

test("reference conv equals im2col + reference GEMM, and im2col/col2im are adjoint", () => {
  const rng = new Rng(5);
  for (const c of cases) {
    const g = conv2dGeometry(c.x, c.w, c.opts);
    const x = random(rng, c.x.reduce((s, d) => s * d, 1));
    const w = random(rng, c.w.reduce((s, d) => s * d, 1));
    const P = g.outHeight * g.outWidth;
    const NP = g.batch * P;
    const Cg = g.inChannels / g.group;
    const Mg = g.outChannels / g.group;
    const K = Cg * g.kernelHeight * g.kernelWidth;
    const expected = new Float32Array(g.batch * g.outChannels * P);
    for (let grp = 0; grp < g.group; grp++) {
      const col = new Float32Array(K * NP);
      im2colReference(x, g, grp * Cg, Cg, col);
      const yT = new Float32Array(Mg * NP);
      gemmReference(Mg, NP, K, w.subarray(grp * Mg * K), K, false, col, NP, false, yT, NP, false);
      for (let m = 0; m < Mg; m++) for (let n = 0; n < g.batch; n++) for (let p = 0; p < P; p++) {
        expected[(n * g.outChannels + grp * Mg + m) * P + p] = yT[m * NP + n * P + p]!;
      }
      // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for a random c.
      const cc = random(rng, K * NP);
      const back = new Float32Array(x.length);
      col2imReference(cc, g, grp * Cg, Cg, back);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < col.length; i++) lhs += col[i]! * cc[i]!;
      for (let i = 0; i < x.length; i++) rhs += x[i]! * back[i]!;
      assert.ok(Math.abs(lhs - rhs) <= 1e-4 * (1 + Math.abs(lhs)), `${c.name}: adjoint ${lhs} vs ${rhs}`);
    }
    close(conv2dForwardReference(x, w, null, g), expected, 1e-5, c.name);
  }
});

test("wasm conv forward and backward equal the reference; two threads equal one bit for bit", () => {
  const rng = new Rng(6);
  for (const c of cases) {
    const g = conv2dGeometry(c.x, c.w, c.opts);
    const x = random(rng, c.x.reduce((s, d) => s * d, 1));
    const w = random(rng, c.w.reduce((s, d) => s * d, 1));
    const bias = random(rng, g.outChannels);
    const dy = random(rng, g.batch * g.outChannels * g.outHeight * g.outWidth);
    const yRef = referenceKernels.conv2dForward(x, w, bias, g);
    const gradRef = referenceKernels.conv2dBackward(x, w, dy, g, { input: true, weight: true });
    const y1 = wasm1.conv2dForward(x, w, bias, g);
    const grad1 = wasm1.conv2dBackward(x, w, dy, g, { input: true, weight: true });
    close(y1, yRef, 2e-5 * Math.sqrt(c.w[1]! * c.w[2]! * c.w[3]!), `${c.name} y`);
    close(grad1.dx!, gradRef.dx!, 2e-5 * Math.sqrt(c.w[0]! * c.w[2]! * c.w[3]!), `${c.name} dx`);
    close(grad1.dw!, gradRef.dw!, 2e-5 * Math.sqrt(y1.length), `${c.name} dw`);
    assert.deepEqual(wasm2.conv2dForward(x, w, bias, g), y1, `${c.name}: 2 threads forward`);
    const grad2 = wasm2.conv2dBackward(x, w, dy, g, { input: true, weight: true });
    assert.deepEqual(grad2.dx, grad1.dx, `${c.name}: 2 threads dx`);
    assert.deepEqual(grad2.dw, grad1.dw, `${c.name}: 2 threads dw`);
    // Asking for one gradient only gives the same values.
    assert.deepEqual(wasm1.conv2dBackward(x, w, dy, g, { input: false, weight: true }).dw, grad1.dw);
    assert.equal(wasm1.conv2dBackward(x, w, dy, g, { input: false, weight: true }).dx, null);
  }
});

test("conv geometry: ONNX output extents and named errors", () => {
  const g = conv2dGeometry([1, 3, 28, 28], [8, 3, 5, 5], { strides: [2, 1], pads: [2, 1, 2, 0], dilations: [1, 2] });
  // floor((28 + 4 − 5) / 2) + 1 = 14; floor((28 + 1 − 9) / 1) + 1 = 21
  assert.equal(g.outHeight, 14);
  assert.equal(g.outWidth, 21);
  assert.throws(() => conv2dGeometry([1, 3, 8, 8], [6, 2, 3, 3], { group: 2 }), /group 2 must divide input channels 3/);
  assert.throws(() => conv2dGeometry([1, 4, 8, 8], [6, 4, 3, 3], { group: 2 }), /2 input channels per group|4 input channels per group/);
  assert.throws(() => conv2dGeometry([1, 1, 2, 2], [1, 1, 3, 3]), /does not fit the padded input/);
  assert.throws(() => conv2dGeometry([1, 1, 8, 8], [1, 1, 3, 3], { pads: [1, 1] }), /pads must be four/);
  assert.throws(() => wasm1.conv2dForward(new Float32Array(3), new Float32Array(9), null, conv2dGeometry([1, 1, 4, 4], [1, 1, 3, 3])), /conv input has 3 values, expected 16/);
});
