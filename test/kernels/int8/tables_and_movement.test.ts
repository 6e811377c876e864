/**
 * The WebAssembly table, movement and boundary kernels against the reference kernels, bit for bit:
 * binary tables (Add, Sub, Mul) under every broadcasting layout, Concat, nearest Resize and
 * GlobalAveragePool with and without requantization, QuantizeLinear (ties, infinities, NaN), and
 * the allocator under the engine's memory (no overlaps, everything returned), and each call's scratch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  add, addValue, concat, globalAveragePool, mul, mulValue, prepareAdd, prepareConcat, prepareGlobalAveragePool, prepareMul,
  prepareResize, prepareSub, resize, averagePool2d, maxPool2d, prepareAveragePool2d,
  prepareMaxPool2d,
} from "../../../src/kernels/reference/index.js";
import { planBinaryBroadcast } from "../../../src/kernels/int8/broadcast_binary.js";
import { wasmBinaryTable } from "../../../src/kernels/int8/binary.js";
import { wasmConcat, wasmGlobalAveragePool, wasmResize } from "../../../src/kernels/int8/movement.js";
import { quantizePerTensor, wasmQuantizePerTensor } from "../../../src/kernels/int8/quantize.js";
import { binaryByteTable } from "../../../src/kernels/int8/tables.js";
import { wasmAveragePool, wasmMaxPool } from "../../../src/kernels/int8/pooling.js";
import { Allocator } from "../../../src/kernels/int8/allocator.js";
import { Int8Wasm, OVERREAD } from "../../../src/kernels/int8/wasm.js";
import { quantize } from "../../../src/quant/quantize.js";
import type { Tensor } from "../../../src/tensor/tensor.js";
import { qp, randomInt, randomInt8Tensor, rng, sameTensor } from "../reference/helpers.js";


for (const threads of [1, 2]) {
  const wasm = new Int8Wasm({ threads });
  test.after(() => wasm.dispose());
  const label = `${threads} thread${threads > 1 ? "s" : ""}`;

  test(`binary tables on wasm (${label}) equal the reference Add, Sub and Mul under every broadcast layout`, () => {
    const random = rng(3 + threads);
    const shapes: [number[], number[]][] = [
      [[2, 3, 50, 70], [2, 3, 50, 70]], // same (large enough to split across threads)
      [[1], [4, 33]], [[4, 33], []], // scalars
      [[2, 5, 7, 9], [5, 1, 1]], [[3, 1, 1], [2, 3, 4, 5]], // per-channel blocks
      [[4, 6], [6]], // a bias
      [[3, 1, 5], [1, 4, 1]], // general broadcasting (index maps)
    ];
    for (const [aDims, bDims] of shapes) {
      for (const kind of ["add", "sub", "mul"] as const) {
        const aType = random() < 0.5 ? "uint8" : "int8";
        const bType = random() < 0.5 ? "uint8" : "int8";
        const a = randomInt8Tensor(random, aType, aDims);
        const b = randomInt8Tensor(random, bType, bDims);
        const quant = {
          a: qp(aType, 0.02 + random() * 0.05, aType === "uint8" ? 128 : 3), b: qp(bType, 0.01 + random() * 0.05, bType === "uint8" ? 250 : -100),
          output: qp("uint8", 0.05 + random() * 0.05, 120),
        };
        let expected: Tensor;
        let table: Uint8Array;
        if (kind === "mul") {
          const plan = prepareMul(quant);
          expected = mul(plan, a, b);
          table = binaryByteTable(aType, bType, (x, y) => mulValue(plan, x, y));
        } else {
          const plan = kind === "add" ? prepareAdd(quant) : prepareSub(quant);
          expected = add(plan, a, b);
          table = binaryByteTable(aType, bType, (x, y) => addValue(plan, x, y));
        }
        const plan = planBinaryBroadcast(a.dims, b.dims, kind);
        const out = new Uint8Array(expected.data.length);
        wasmBinaryTable(wasm, table)(plan, a.data as Uint8Array, b.data as Uint8Array, out);
        sameTensor({ dtype: "uint8", dims: plan.outDims, data: out }, expected, `${kind} [${aDims}] with [${bDims}]`);
      }
    }
  });

  test(`MaxPool and AveragePool on wasm (${label}) equal the reference`, () => {
    const random = rng(40 + threads);
    for (let i = 0; i < 40; i++) {
      const dtype = random() < 0.5 ? "uint8" : "int8";
      const zero = dtype === "uint8" ? 100 : -20;
      const kernelShape = [randomInt(random, 1, 3), randomInt(random, 1, 3)];
      const attrs = {
        kernelShape, strides: [randomInt(random, 1, 3), randomInt(random, 1, 2)],
        pads: [randomInt(random, 0, kernelShape[0]! - 1), randomInt(random, 0, kernelShape[1]! - 1), randomInt(random, 0, kernelShape[0]! - 1), randomInt(random, 0, kernelShape[1]! - 1)],
        countIncludePad: random() < 0.5,
      };
      const x = randomInt8Tensor(random, dtype, [randomInt(random, 1, 2), randomInt(random, 1, 9), randomInt(random, kernelShape[0]!, 30), randomInt(random, kernelShape[1]!, 40)]);
      const output = random() < 0.5 ? qp(dtype, 0.05, zero) : qp(dtype, 0.021, zero + 9);
      const maxPlan = prepareMaxPool2d(attrs, qp(dtype, 0.05, zero), output);
      sameTensor(wasmMaxPool(wasm, maxPlan)(x), maxPool2d(maxPlan, x), `maxPool case ${i} ${JSON.stringify(attrs)}`);
      const avgPlan = prepareAveragePool2d(attrs, qp(dtype, 0.05, zero), output);
      sameTensor(wasmAveragePool(wasm, avgPlan)(x), averagePool2d(avgPlan, x), `averagePool case ${i} ${JSON.stringify(attrs)}`);
    }
  });

  test(`Concat, Resize and GlobalAveragePool on wasm (${label}) equal the reference`, () => {
    const random = rng(70 + threads);
    for (let i = 0; i < 12; i++) {
      const dtype = random() < 0.5 ? "uint8" : "int8";
      const zero = dtype === "uint8" ? 128 : 0;
      // Concat of three inputs, two of them requantized.
      const axis = randomInt(random, 0, 3);
      const base = [randomInt(random, 1, 2), randomInt(random, 1, 5), randomInt(random, 1, 7), randomInt(random, 1, 9)];
      const inputs = [0, 1, 2].map(() => {
        const dims = [...base];
        dims[axis] = randomInt(random, 1, 4);
        return randomInt8Tensor(random, dtype, dims);
      });
      const params = [qp(dtype, 0.05, zero), qp(dtype, 0.03, zero + 5), qp(dtype, 0.11, zero - 7)];
      const cPlan = prepareConcat(axis, params, qp(dtype, 0.05, zero));
      sameTensor(wasmConcat(wasm, cPlan)(inputs), concat(cPlan, inputs), `concat case ${i} axis ${axis}`);
      // Nearest resize, up and down, with and without new params.
      const x = randomInt8Tensor(random, dtype, [1, randomInt(random, 1, 6), randomInt(random, 1, 12), randomInt(random, 1, 14)]);
      const outDims = [x.dims[0]!, x.dims[1]!, Math.max(1, Math.round(x.dims[2]! * (0.5 + random() * 2))), Math.max(1, Math.round(x.dims[3]! * (0.5 + random() * 2)))];
      const rPlan = prepareResize({
        mode: "nearest", coordinateTransformationMode: random() < 0.5 ? "asymmetric" : "half_pixel", nearestMode: random() < 0.5 ? "floor" : "round_prefer_floor",
        inputDims: x.dims, outputDims: outDims,
      }, qp(dtype, 0.04, zero), qp(dtype, random() < 0.5 ? 0.04 : 0.07, zero));
      sameTensor(wasmResize(wasm, rPlan)(x), resize(rPlan, x), `resize case ${i} [${x.dims}] → [${outDims}]`);
      // GlobalAveragePool with the same and with new params.
      const g = randomInt8Tensor(random, dtype, [randomInt(random, 1, 2), randomInt(random, 1, 8), randomInt(random, 1, 33), randomInt(random, 1, 21)]);
      const size = g.dims[2]! * g.dims[3]!;
      for (const output of [qp(dtype, 0.04, zero), qp(dtype, 0.013, zero + 3)]) {
        const gPlan = prepareGlobalAveragePool(qp(dtype, 0.04, zero), output, size);
        sameTensor(wasmGlobalAveragePool(wasm, gPlan)(g), globalAveragePool(gPlan, g), `globalAveragePool case ${i} [${g.dims}]`);
      }
    }
  });
}

test("QuantizeLinear on wasm and in JavaScript equal quant/quantize.ts, ties and infinities included", () => {
  const wasm = new Int8Wasm();
  try {
    const random = rng(8);
    const scale = 0.25; // x / 0.25 makes exact ties of every k + 0.5 with x = k/4 + 1/8
    const values = [
      0.125, -0.125, 0.375, -0.375, 0.625, 31.875, -31.875, 1e30, -1e30, Infinity, -Infinity, 0, -0,
      ...Array.from({ length: 997 }, () => (random() * 2 - 1) * 80),
    ];
    const x = Float32Array.from(values);
    for (const dtype of ["uint8", "int8"] as const) {
      for (const zero of dtype === "uint8" ? [0, 128, 255] : [-128, 0, 127]) {
        const expected = Array.from(quantize(x, { dtype, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zero) }));
        assert.deepEqual(Array.from(quantizePerTensor(x, scale, zero, dtype)), expected, `JavaScript ${dtype} z ${zero}`);
        assert.deepEqual(Array.from(wasmQuantizePerTensor(wasm, x, scale, zero, dtype)), expected, `wasm ${dtype} z ${zero}`);
      }
    }
    assert.throws(() => wasmQuantizePerTensor(wasm, Float32Array.of(1, NaN), 0.1, 0, "uint8"), /cannot quantize NaN/);
    assert.throws(() => quantizePerTensor(Float32Array.of(NaN), 0.1, 0, "uint8"), /cannot quantize NaN/);
  } finally {
    wasm.dispose();
  }
});

test("the allocator never hands out overlapping blocks and gets everything back", () => {
  const random = rng(99);
  const a = new Allocator(64);
  const live = new Map<number, number>();
  for (let step = 0; step < 5000; step++) {
    if (live.size > 0 && random() < 0.45) {
      const keys = [...live.keys()];
      const at = keys[Math.floor(random() * keys.length)]!;
      a.release(at);
      live.delete(at);
    } else {
      const bytes = Math.floor(random() ** 3 * 100000);
      const at = a.alloc(bytes);
      assert.equal(at % 16, 0, "16-byte aligned");
      assert.ok(at >= 64, "never below the start");
      for (const [other, size] of live) {
        const mine = a.sizeOf(at)!;
        assert.ok(at + mine <= other || other + size <= at, `block ${at}+${mine} overlaps ${other}+${size}`);
      }
      live.set(at, a.sizeOf(at)!);
      assert.ok(a.sizeOf(at)! >= bytes);
    }
  }
  for (const at of live.keys()) a.release(at);
  assert.equal(a.allocatedBytes, 0);
  assert.equal(a.end, 64, "the used range shrinks back to its start");
  assert.throws(() => a.release(64), /not an allocated block/);
});

test("a call's scratch is stacked past every block, refuses blocks on top of it, and is dropped whole by endCall", () => {
  const wasm = new Int8Wasm({ threads: 1 });
  try {
    const t = wasm.newTensor("uint8", [100]);
    const tAt = wasm.offsetOf(t.data)!;
    const held = wasm.allocatedBytes;
    wasm.beginCall();
    const a = wasm.arena(10);
    const b = wasm.arena(1000);
    assert.equal(a % 16, 0);
    assert.equal(b % 16, 0);
    assert.ok(a >= tAt + 100 + OVERREAD, "scratch starts past the tensor and its over-read slack");
    assert.ok(b >= a + 10 + OVERREAD, "scratch blocks do not overlap");
    assert.ok(wasm.allocatedBytes >= held + 1010, "the open call's scratch is counted");
    assert.throws(() => wasm.newTensor("int8", [4]), /allocated during a call that holds scratch/);
    // Scratch past the memory's end grows it; the views follow.
    const big = wasm.arena(48 << 20);
    wasm.u8[big + (48 << 20) - 1] = 7;
    assert.equal(wasm.u8[big + (48 << 20) - 1], 7);
    wasm.endCall();
    assert.equal(wasm.allocatedBytes, held, "endCall drops every scratch block");
    const u = wasm.newTensor("int8", [4]);
    assert.equal(wasm.offsetOf(u.data), a, "the next block takes the scratch's place");
    wasm.release(u.data);
    wasm.release(t.data);
    assert.equal(wasm.allocatedBytes, 0);
  } finally {
    wasm.dispose();
  }
});
