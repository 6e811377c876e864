/**
 * MaxPool's 2×2 / stride 2 vector path (assembly/int8/pooling.ts, maxPool2x2) against the
 * reference maxPool2d, bit for bit: even and odd image sizes (the last row or column dropped),
 * widths below, at and past one 16-byte load, int8 and uint8 with values at the extremes, equal
 * params (no table) and a requantization table, several planes and images, 1 and 2 threads; and
 * the neighbouring geometries (padding, ceil mode, stride 1) that take the general loop. Plus a
 * case computed by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { maxPool2d, prepareMaxPool2d } from "../../../src/kernels/reference/index.js";
import { wasmMaxPool } from "../../../src/kernels/int8/pooling.js";
import { Int8Wasm } from "../../../src/kernels/int8/wasm.js";
import type { Tensor } from "../../../src/tensor/tensor.js";
import { qp, randomInt, randomInt8Tensor, rng, pick, sameTensor } from "../reference/helpers.js";


test("maxPool 2×2 stride 2 computed by hand", () => {
  const wasm = new Int8Wasm({ threads: 1 });
  try {
    // One 3×5 int8 plane: the last row and column are dropped (floor mode).
    const x: Tensor = { dtype: "int8", dims: [1, 1, 3, 5], data: Int8Array.from([
      -128, -7, 3, 127, 9,
      -100, -9, 2, -128, 9,
      50, 50, 50, 50, 50,
    ]) };
    const plan = prepareMaxPool2d({ kernelShape: [2, 2], strides: [2, 2] }, qp("int8", 0.1, 0), qp("int8", 0.1, 0));
    const y = wasmMaxPool(wasm, plan)(x);
    assert.deepEqual(y.dims, [1, 1, 1, 2]);
    assert.deepEqual(Array.from(y.data as Int8Array), [-7, 127]);
  } finally {
    wasm.dispose();
  }
});

for (const threads of [1, 2]) {
  const wasm = new Int8Wasm({ threads });
  test.after(() => wasm.dispose());

  test(`maxPool 2×2 stride 2 (${threads} thread${threads > 1 ? "s" : ""}) equals the reference`, () => {
    const random = rng(310 + threads);
    const sizes = [2, 3, 4, 5, 15, 16, 17, 24, 31, 32, 33, 48];
    let i = 0;
    for (const h of sizes) {
      for (const w of sizes) {
        const dtype = random() < 0.5 ? "uint8" : "int8";
        const zero = dtype === "uint8" ? pick(random, [0, 128, 255]) : pick(random, [-128, 0, 127]);
        const batch = randomInt(random, 1, 2);
        const channels = pick(random, [1, 3, 20, 64]);
        // Values at the extremes half of the time, so that ties and the range ends are exercised.
        const x = random() < 0.5
          ? randomInt8Tensor(random, dtype, [batch, channels, h, w])
          : randomInt8Tensor(random, dtype, [batch, channels, h, w], dtype === "int8" ? -128 : 0, dtype === "int8" ? -126 : 2);
        const input = qp(dtype, 0.05, zero);
        const output = random() < 0.5 ? input : qp(dtype, 0.021, dtype === "int8" ? 9 : 137);
        const plan = prepareMaxPool2d({ kernelShape: [2, 2], strides: [2, 2] }, input, output);
        const got = wasmMaxPool(wasm, plan)(x);
        sameTensor(got, maxPool2d(plan, x), `case ${i++}: [${x.dims}] ${dtype} ${output === input ? "same params" : "requantized"}`);
        wasm.release(got.data);
      }
    }
  });

  test(`maxPool 2×2 neighbours of the fast path (${threads} thread${threads > 1 ? "s" : ""}) equal the reference`, () => {
    const random = rng(410 + threads);
    const geometries = [
      { kernelShape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] },
      { kernelShape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] },
      { kernelShape: [2, 2], strides: [2, 2], ceilMode: true },
      { kernelShape: [2, 2], strides: [1, 1] },
      { kernelShape: [2, 2], strides: [2, 1] },
      { kernelShape: [3, 3], strides: [2, 2] },
    ];
    for (const attrs of geometries) {
      for (const [h, w] of [[5, 7], [24, 24], [9, 33]] as const) {
        const x = randomInt8Tensor(random, "uint8", [1, 4, h, w]);
        const plan = prepareMaxPool2d(attrs, qp("uint8", 0.05, 3), qp("uint8", 0.05, 3));
        const got = wasmMaxPool(wasm, plan)(x);
        sameTensor(got, maxPool2d(plan, x), `${JSON.stringify(attrs)} on ${h}×${w}`);
        wasm.release(got.data);
      }
    }
  });
}

