/**
 * The fully connected layers' matrix × vector path (assembly/int8/gemv.ts, taken by wasmLinear
 * for A with at most GEMV_MAX_ROWS rows) against the reference matMul, bit for bit: reductions K
 * odd, small and large (including one long enough for the int32 sums to wrap), N from 1 to 600
 * (blocks of 4 rows with a partial last one), per-tensor and per-column weight params, zero points
 * at the edges of their ranges, saturating and left-shifting output scales, fused Relu/Clip
 * clamps, output tables, 1 to 4 rows and the first GEMM size after them, 1 and 2 threads.
 * Plus one case computed by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type FusedActivation, matMul, newInt32Tensor, prepareMatMul } from "../../../src/kernels/reference/index.js";
import { GEMV_MAX_ROWS, wasmLinear } from "../../../src/kernels/int8/matmul.js";
import { Int8Wasm } from "../../../src/kernels/int8/wasm.js";
import type { QParams } from "../../../src/quant/qparams.js";
import type { Tensor } from "../../../src/tensor/tensor.js";
import { type Int8DType, qp, randomInt, randomInt8Tensor, rng, pick, sameTensor } from "../reference/helpers.js";

const EDGE_ZERO_POINTS: Record<Int8DType, number[]> = { uint8: [0, 255, 128, 3], int8: [-128, 127, 0, -5] };



function randomActivation(random: () => number): FusedActivation | undefined {
  const r = random();
  if (r < 0.4) return undefined;
  if (r < 0.7) return { kind: "relu" };
  return { kind: "clip", min: -0.5 - random(), max: 0.5 + random() };
}

function bParams(random: () => number, dtype: Int8DType, n: number, perColumn: boolean, symmetric = false): QParams {
  const scales = Array.from({ length: perColumn ? n : 1 }, () => Math.fround(0.002 + random() * 0.01));
  const zeros = scales.map(() => (symmetric ? 0 : pick(random, EDGE_ZERO_POINTS[dtype])));
  return perColumn ? { dtype, scale: Float32Array.from(scales), zeroPoint: Int32Array.from(zeros), axis: 1 } : qp(dtype, scales[0]!, zeros[0]!);
}

test("gemv: a fully connected layer at batch 1 computed by hand", () => {
  // Scales 1 → M = 1: y = z_y + Σ a·b + bias exactly (then clamped).
  const wasm = new Int8Wasm({ threads: 1 });
  try {
    const a: Tensor = { dtype: "uint8", dims: [1, 3], data: Uint8Array.from([1, 2, 3]) };
    // B [K = 3, N = 3]: columns (4, 5, 6), (−1, −1, −1), (100, 100, 100).
    const b: Tensor = { dtype: "int8", dims: [3, 3], data: Int8Array.from([4, -1, 100, 5, -1, 100, 6, -1, 100]) };
    const plan = prepareMatMul({ a: qp("uint8", 1, 0), b: qp("int8", 1, 0), output: qp("uint8", 1, 100) });
    const y = wasmLinear(wasm, plan, b, Int32Array.from([10, -10, 0]))(a);
    // 100 + 32 + 10 = 142; 100 − 6 − 10 = 84; 100 + 600 saturates at 255.
    assert.deepEqual(Array.from(y.data as Uint8Array), [142, 84, 255]);
    // A weight zero point of 2: Σ a·(b − 2) = 32 − 12, −6 − 12, 600 − 12.
    const plan2 = prepareMatMul({ a: qp("uint8", 1, 0), b: qp("int8", 1, 2), output: qp("int8", 1, -100) });
    const y2 = wasmLinear(wasm, plan2, b, undefined)(a);
    assert.deepEqual(Array.from(y2.data as Int8Array), [-100 + 20, -100 - 18, 127]);
  } finally {
    wasm.dispose();
  }
});

for (const threads of [1, 2]) {
  const wasm = new Int8Wasm({ threads });
  test.after(() => wasm.dispose());

  test(`gemv (${threads} thread${threads > 1 ? "s" : ""}) equals the reference over K, N, params and clamps`, () => {
    const random = rng(9100 + threads);
    const ks = [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 500, 800, 1001];
    const ns = [1, 2, 3, 4, 5, 7, 8, 9, 13, 33, 100, 257, 500, 600];
    let i = 0;
    for (const k of ks) {
      for (const n of ns) {
        if (k * n > 300_000 && random() < 0.6) continue; // keep the large ones few
        const aType = pick(random, ["uint8", "int8"] as const);
        const bType = pick(random, ["int8", "int8", "uint8"] as const);
        const yType = pick(random, ["uint8", "int8"] as const);
        const rows = pick(random, [1, 1, 2, 3, 4, GEMV_MAX_ROWS + 1]);
        const a = randomInt8Tensor(random, aType, rows === 1 && random() < 0.5 ? [1, k] : [rows, k]);
        const aq = qp(aType, Math.fround(0.01 + random() * 0.05), pick(random, EDGE_ZERO_POINTS[aType]));
        const b = randomInt8Tensor(random, bType, [k, n]);
        // Symmetric int8 weights (all zero points 0) take the narrow byte packing.
        const bq = bParams(random, bType, n, random() < 0.6, bType === "int8" && random() < 0.5);
        // Output scale around the typical accumulator, times a factor: ≪ 1 saturates, ≫ 1 gives M < 2^−22 (long shifts).
        const factor = pick(random, [1, 1, 0.01, 1e-4, 30, 1e5]);
        const typical = aq.scale[0]! * bq.scale[0]! * Math.sqrt(k) * 80 * 80;
        const yq = qp(yType, Math.fround((typical / 100) * factor), pick(random, EDGE_ZERO_POINTS[yType]));
        const activation = randomActivation(random);
        const plan = prepareMatMul({ a: aq, b: bq, output: yq, ...(activation ? { activation } : {}) });
        const bias = random() < 0.7 ? Int32Array.from({ length: n }, () => randomInt(random, -100000, 100000)) : undefined;
        const expected = matMul(plan, a, b, bias ? newInt32Tensor([n], bias) : undefined);
        const got = wasmLinear(wasm, plan, b, bias)(a);
        sameTensor(got, expected, `case ${i++}: [${a.dims}]·[${k}, ${n}] ${aType}/${bType}/${yType} ${activation?.kind ?? "none"}`);
        wasm.release(got.data);
      }
    }
  });

  test(`gemv (${threads} thread${threads > 1 ? "s" : ""}): the largest products, saturation and int32 wrap-around`, () => {
    // Inputs and weights at their extremes with zero points at the opposite extremes: every
    // product is ±255·255; K = 40 000 makes the exact sum exceed 2^31, so the int32 sums wrap.
    for (const k of [5, 799, 40_000]) {
      for (const [aType, za, av] of [["uint8", 0, 255], ["uint8", 255, 0], ["int8", -128, 127], ["int8", 127, -128]] as const) {
        // The symmetric int8 case (z = 0) takes the narrow byte packing: its extreme is −128.
        for (const [bType, zb, bv] of [["uint8", 255, 0], ["int8", -128, 127], ["int8", 0, -128]] as const) {
          const n = 6;
          const a: Tensor = { dtype: aType, dims: [1, k], data: aType === "int8" ? new Int8Array(k).fill(av) : new Uint8Array(k).fill(av) };
          const bData = bType === "int8" ? new Int8Array(k * n).fill(bv) : new Uint8Array(k * n).fill(bv);
          // Column 1 alternates the extremes, so its products cancel.
          for (let j = 0; j < k; j++) bData[j * n + 1] = j % 2 ? bv : (bType === "int8" ? -128 : 255);
          const b: Tensor = { dtype: bType, dims: [k, n], data: bData };
          for (const scale of [1e-6, 4000, 1e9]) {
            const plan = prepareMatMul({ a: qp(aType, 0.02, za), b: qp(bType, 0.01, zb), output: qp("int8", scale, 3) });
            const got = wasmLinear(wasm, plan, b, undefined)(a);
            sameTensor(got, matMul(plan, a, b), `k ${k} ${aType} z ${za} ${bType} z ${zb} scale ${scale}`);
            wasm.release(got.data);
          }
        }
      }
    }
  });

  test(`symmetric int8 weights (${threads} thread${threads > 1 ? "s" : ""}): one prepared layer serves batch 1 (bytes) and larger batches (GEMM, packed at first use)`, () => {
    const random = rng(313 + threads);
    for (const [k, n] of [[800, 500], [33, 21], [3, 4]] as const) {
      const b = randomInt8Tensor(random, "int8", [k, n]);
      const plan = prepareMatMul({
        a: qp("uint8", 0.02, 9), b: bParams(random, "int8", n, true, true), output: qp("int8", 0.05 * Math.sqrt(k), -3), activation: { kind: "relu" },
      });
      const bias = Int32Array.from({ length: n }, () => randomInt(random, -5000, 5000));
      const linear = wasmLinear(wasm, plan, b, bias);
      for (const rows of [1, GEMV_MAX_ROWS + 3, 1, 2]) {
        const a = randomInt8Tensor(random, "uint8", [rows, k]);
        const got = linear(a);
        sameTensor(got, matMul(plan, a, b, newInt32Tensor([n], bias)), `[${rows}, ${k}]·[${k}, ${n}]`);
        wasm.release(got.data);
      }
    }
  });

  test(`gemv (${threads} thread${threads > 1 ? "s" : ""}) with fused output tables`, () => {
    const random = rng(77 + threads);
    const table = Uint8Array.from({ length: 256 }, () => randomInt(random, 0, 255));
    const second = Uint8Array.from({ length: 256 }, () => randomInt(random, 0, 255));
    const apply = (t: Tensor, ...tables: Uint8Array[]): Tensor => {
      const bytes = Uint8Array.from(t.data as Uint8Array, (v) => tables.reduce((x, tb) => tb[x & 255]!, v));
      return { dtype: "int8", dims: t.dims, data: new Int8Array(bytes.buffer) };
    };
    for (const [k, n] of [[800, 500], [17, 9], [500, 10]] as const) {
      const a = randomInt8Tensor(random, "uint8", [1, k]);
      const b = randomInt8Tensor(random, "int8", [k, n]);
      const plan = prepareMatMul({
        a: qp("uint8", 0.02, 7), b: bParams(random, "int8", n, true), output: qp("uint8", 0.05 * Math.sqrt(k), 128), activation: { kind: "relu" },
      });
      const expected = matMul(plan, a, b);
      const linear = wasmLinear(wasm, plan, b, undefined);
      linear.fuseOutputTable(table, "int8");
      sameTensor(linear(a), apply(expected, table), `[1, ${k}]·[${k}, ${n}] with a table`);
      linear.fuseOutputTable(second, "int8");
      sameTensor(linear(a), apply(expected, table, second), `[1, ${k}]·[${k}, ${n}] with two tables`);
    }
  });
}
