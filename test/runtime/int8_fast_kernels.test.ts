/**
 * The engine's own TypeScript integer kernels against their specifications:
 *
 * - kernels/int8/softmax.ts (histogram / short-row Softmax, with its fusions) equals the reference integer
 *   Softmax (kernels/reference/softmax.ts) bit for bit, and with a bias before it, an output table
 *   and a DequantizeLinear after it, equals those applied one by one around the reference;
 * - int8/binary_columns.ts equals table[a << 8 | column] computed element by element;
 * - int8/strided_copy.ts (Slice, Transpose) equals copies indexed through multi-indices.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Int8DType, newInt8Tensor, prepareSoftmax, softmax } from "../../src/kernels/reference/index.js";
import { histogramSoftmax } from "../../src/kernels/int8/softmax.js";
import { applyColumnsBinaryTable } from "../../src/kernels/int8/binary_columns.js";
import { slicePlan, stridedCopy, transposePlan } from "../../src/kernels/int8/strided_copy.js";
import { type Tensor, sizeOf } from "../../src/tensor/tensor.js";
import { rng } from "../helpers/models.js";

const newTensor = (dtype: Int8DType, dims: readonly number[]) => newInt8Tensor(dtype, dims);

/** A tensor's 8-bit data as raw bytes. */
function bytes(t: Tensor): Uint8Array {
  const d = t.data as Int8Array | Uint8Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

function randomBytes(dtype: Int8DType, dims: number[], r: () => number, spread = 256, base = 0): Tensor {
  const n = sizeOf(dims);
  const data = dtype === "int8" ? new Int8Array(n) : new Uint8Array(n);
  const qmin = dtype === "int8" ? -128 : 0;
  for (let i = 0; i < n; i++) data[i] = Math.min(qmin + 255, qmin + base + Math.floor(r() * spread));
  return { dtype, dims, data };
}

function sameBytes(a: Tensor, b: Tensor, what: string): void {
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  assert.deepEqual(a.dims, b.dims, `${what}: dims`);
  for (let i = 0; i < b.data.length; i++) if (a.data[i] !== b.data[i]) assert.fail(`${what}: element ${i} is ${a.data[i]}, expected ${b.data[i]}`);
}

test("int8 Softmax: equals the reference bit for bit on short rows, long rows, strided axes, both dtypes", () => {
  const r = rng(17);
  const shapes: [number[], number][] = [
    [[2, 8, 40, 40], -1], [[3, 700], -1], [[1, 40, 6625], 2], [[4, 5, 6], 1], [[4, 600, 3], 1], [[5, 1], -1], [[1, 513], 0],
  ];
  for (const dtype of ["uint8", "int8"] as const) {
    for (const scale of [0.02, 0.1, 0.7]) {
      for (const [dims, axis] of shapes) {
        for (const spread of [256, 12, 1]) {
          const plan = prepareSoftmax({ dtype, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(dtype === "int8" ? 3 : 120) }, dtype, axis);
          const x = randomBytes(dtype, dims, r, spread, spread === 1 ? 200 : 0);
          sameBytes(histogramSoftmax(plan, newTensor)(x), softmax(plan, x), `${dtype} scale ${scale} [${dims}] axis ${axis} spread ${spread}`);
        }
      }
    }
  }
});

test("int8 Softmax: a row with one large value saturates (256/256 → qmax) exactly as the reference", () => {
  for (const dtype of ["uint8", "int8"] as const) {
    const plan = prepareSoftmax({ dtype, scale: Float32Array.of(1), zeroPoint: Int32Array.of(0) }, dtype, -1);
    for (const length of [40, 1000]) {
      const data = dtype === "int8" ? new Int8Array(length).fill(-128) : new Uint8Array(length);
      data[length >> 1] = dtype === "int8" ? 127 : 255;
      const x: Tensor = { dtype, dims: [1, length], data };
      const y = histogramSoftmax(plan, newTensor)(x);
      sameBytes(y, softmax(plan, x), `${dtype} one-hot row of ${length}`);
      assert.equal(y.data[length >> 1], dtype === "int8" ? 127 : 255, "the winner saturates");
    }
  }
});

test("int8 Softmax with an output table, a per-column bias before it and a DequantizeLinear after it equals the steps one by one", () => {
  const r = rng(23);
  for (const dtype of ["uint8", "int8"] as const) {
    for (const length of [37, 900]) {
      const plan = prepareSoftmax({ dtype, scale: Float32Array.of(0.09), zeroPoint: Int32Array.of(0) }, dtype, -1);
      const biasTable = Uint8Array.from({ length: 65536 }, () => Math.floor(r() * 256));
      const column = Uint8Array.from({ length }, () => Math.floor(r() * 256));
      const outTable = Uint8Array.from({ length: 256 }, () => Math.floor(r() * 256));
      const dq = Float32Array.from({ length: 256 }, (_, b) => Math.fround((b - 17) * 0.013));
      const x = randomBytes("uint8", [3, length], r);
      // One by one: the bias table, the reference Softmax, the output table, the DequantizeLinear.
      const biased = newTensor(dtype, x.dims);
      const xb = x.data as Uint8Array;
      const bb = new Uint8Array(biased.data.buffer);
      for (let i = 0; i < xb.length; i++) bb[i] = biasTable[(xb[i]! << 8) | column[i % length]!]!;
      const s = bytes(softmax(plan, biased));
      const expectedBytes = Uint8Array.from(s, (b) => outTable[b]!);
      const expectedFloats = Float32Array.from(expectedBytes, (b) => dq[b]!);

      const withTable = histogramSoftmax(plan, newTensor);
      withTable.fuseOutputTable(outTable, dtype);
      const plainOut = bytes(withTable(biased));
      assert.deepEqual(plainOut, expectedBytes, `${dtype} ${length}: output table`);

      const columns = { table: biasTable, column, columnIsB: true };
      const withBias = histogramSoftmax(plan, newTensor, { inputColumns: columns });
      withBias.fuseOutputTable(outTable, dtype);
      assert.deepEqual(bytes(withBias(x)), expectedBytes, `${dtype} ${length}: bias + output table`);

      const floats = histogramSoftmax(plan, newTensor, { inputColumns: columns, dequantize: Float32Array.from(outTable, (b) => dq[b]!) })(x);
      assert.equal(floats.dtype, "float32");
      assert.deepEqual(floats.data, expectedFloats, `${dtype} ${length}: bias + output table + DequantizeLinear`);

      // The column as the table's first operand.
      const firstTable = new Uint8Array(65536);
      for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) firstTable[(b << 8) | a] = biasTable[(a << 8) | b]!;
      const flipped = histogramSoftmax(plan, newTensor, { inputColumns: { table: firstTable, column, columnIsB: false } });
      flipped.fuseOutputTable(outTable, dtype);
      assert.deepEqual(bytes(flipped(x)), expectedBytes, `${dtype} ${length}: column first`);
    }
  }
});

test("fused int8 Softmax refuses rows that do not match its bias, naming both widths", () => {
  const plan = prepareSoftmax({ dtype: "uint8", scale: Float32Array.of(0.1), zeroPoint: Int32Array.of(0) }, "uint8", -1);
  const k = histogramSoftmax(plan, newTensor, { inputColumns: { table: new Uint8Array(65536), column: new Uint8Array(10), columnIsB: true } });
  assert.throws(() => k({ dtype: "uint8", dims: [2, 12], data: new Uint8Array(24) }), /10 columns.*12 values/);
});

test("per-column binary table equals table[a << 8 | column[i mod W]] element by element", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), fc.constantFrom("int8", "uint8"), fc.integer(),
    (rows, width, columnIsB, dtype, seed) => {
      const r = rng(seed);
      const table = Uint8Array.from({ length: 65536 }, () => Math.floor(r() * 256));
      const big = randomBytes(dtype as Int8DType, [rows, width], r);
      const column = randomBytes(dtype as Int8DType, [width], r);
      const out = new Uint8Array(rows * width);
      applyColumnsBinaryTable(table, big.data as Int8Array, column.data as Int8Array, columnIsB, out);
      for (let i = 0; i < out.length; i++) {
        const a = (big.data[i] as number) & 0xff;
        const c = (column.data[i % width] as number) & 0xff;
        assert.equal(out[i], columnIsB ? table[(a << 8) | c] : table[(c << 8) | a]);
      }
    },
  ));
});

/** Copy by multi-index: output index → input index through `source`. */
function naiveGather(dims: number[], outDims: number[], source: (index: number[]) => number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(sizeOf(outDims));
  const index = new Array<number>(outDims.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    for (let k = outDims.length - 1; k >= 0; k--) { index[k] = rem % outDims[k]!; rem = Math.floor(rem / outDims[k]!); }
    const from = source(index);
    out[i] = data[from.reduce((acc, v, k) => acc * dims[k]! + v, 0)]!;
  }
  return out;
}

const dimsArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 });

test("Transpose as a strided copy equals the permuted multi-index copy", () => {
  fc.assert(fc.property(dimsArb, fc.integer(), (dims, seed) => {
    const r = rng(seed);
    const perm = dims.map((_, k) => k).sort(() => r() - 0.5);
    const data = Uint8Array.from({ length: sizeOf(dims) }, () => Math.floor(r() * 256));
    const { plan, outDims } = transposePlan(dims, perm);
    assert.deepEqual(outDims, perm.map((a) => dims[a]!));
    const out = new Uint8Array(sizeOf(outDims));
    stridedCopy(plan, data, out);
    const expected = naiveGather(dims, outDims, (index) => {
      const from = new Array<number>(dims.length);
      perm.forEach((a, k) => { from[a] = index[k]!; });
      return from;
    }, data);
    assert.deepEqual(out, expected, `[${dims}] perm [${perm}]`);
  }));
  // The recogniser's head split: [1, 40, 3, 8, 15] → [3, 1, 8, 40, 15].
  const dims = [1, 40, 3, 8, 15];
  const data = Uint8Array.from({ length: sizeOf(dims) }, (_, i) => i * 7);
  const { plan } = transposePlan(dims, [2, 0, 3, 1, 4]);
  const out = new Uint8Array(data.length);
  stridedCopy(plan, data, out);
  assert.equal(out[1 * 8 * 40 * 15 + 3 * 40 * 15 + 5 * 15 + 2], data[5 * 360 + 1 * 120 + 3 * 15 + 2], "head 1, group 3, position 5, lane 2");
});

test("Slice (any axes, steps, negative steps, clamped bounds) as a strided copy equals the multi-index copy", () => {
  fc.assert(fc.property(dimsArb, fc.integer(), (dims, seed) => {
    const r = rng(seed);
    const data = Uint8Array.from({ length: sizeOf(dims) }, () => Math.floor(r() * 256));
    const axes = dims.map((d, axis) => {
      const step = [1, 1, 2, -1, -2, 3][Math.floor(r() * 6)]!;
      let start = Math.floor(r() * d);
      let count = 1 + Math.floor(r() * d);
      if (step > 0) count = Math.min(count, Math.ceil((d - start) / step));
      else count = Math.min(count, Math.floor(start / -step) + 1);
      if (r() < 0.1) { start = 0; count = 0; }
      return { axis, start, step, count };
    });
    const { plan, outDims } = slicePlan(dims, axes);
    assert.deepEqual(outDims, axes.map((a) => a.count));
    const out = new Uint8Array(sizeOf(outDims));
    stridedCopy(plan, data, out);
    assert.deepEqual(out, naiveGather(dims, outDims, (index) => index.map((i, k) => axes[k]!.start + i * axes[k]!.step), data), JSON.stringify(axes));
  }));
});
