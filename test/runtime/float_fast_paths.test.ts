/**
 * The float steps' loops (float/elementwise.ts, float/reduce.ts, float_ops.ts): every broadcasting
 * layout, reduction shape and op against naive loops that index each element by its multi-index
 * (the independent expectation), bit for bit where the arithmetic is the same (+ − × ÷, pow, max,
 * min and double-precision sums each rounded once to float32), and the dtypes the loops do not
 * take (int64 shape arithmetic) still computed by the graph's evaluators.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Attribute, makeNode } from "../../src/graph/ir.js";
import { floatStep } from "../../src/runtime/float_ops.js";
import { type Tensor, sizeOf } from "../../src/tensor/tensor.js";
import { rng } from "../helpers/models.js";

function randomFloats(dims: number[], r: () => number, positive = false): Tensor {
  const data = new Float32Array(sizeOf(dims));
  for (let i = 0; i < data.length; i++) data[i] = positive ? 0.25 + r() * 2 : (r() - 0.5) * 6;
  return { dtype: "float32", dims, data };
}

function run(opType: string, inputs: (Tensor | undefined)[], attributes: Record<string, Attribute> = {}, opset = 13): Tensor {
  const names = inputs.map((t, i) => (t ? `in${i}` : ""));
  const step = floatStep(makeNode(opType, names, ["y"], attributes, "node"), opset);
  assert.ok(step, `${opType} has a float step`);
  return step.run(inputs)[0]!;
}

/** Numpy broadcasting, element by element through multi-indices. */
function naiveBinary(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pa = [...new Array<number>(rank - a.dims.length).fill(1), ...a.dims];
  const pb = [...new Array<number>(rank - b.dims.length).fill(1), ...b.dims];
  const dims = pa.map((d, k) => (d === 1 ? pb[k]! : d));
  const out = new Float32Array(sizeOf(dims));
  const index = new Array<number>(rank).fill(0);
  const flat = (p: number[]) => p.reduce((acc, d, k) => acc * d + (d === 1 ? 0 : index[k]!), 0);
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    for (let k = rank - 1; k >= 0; k--) { index[k] = rem % dims[k]!; rem = Math.floor(rem / dims[k]!); }
    out[i] = f((a.data as Float32Array)[flat(pa)]!, (b.data as Float32Array)[flat(pb)]!);
  }
  return { dtype: "float32", dims, data: out };
}

function sameFloats(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.dims, expected.dims, `${what}: dims`);
  const x = actual.data as Float32Array;
  const y = expected.data as Float32Array;
  for (let i = 0; i < y.length; i++) {
    if (!Object.is(x[i], y[i]) && !(Number.isNaN(x[i]!) && Number.isNaN(y[i]!))) assert.fail(`${what}: element ${i} is ${x[i]}, expected ${y[i]}`);
  }
}

const BINARY: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
  Pow: (x, y) => x ** y,
  Max: (x, y) => Math.max(x, y),
  Min: (x, y) => Math.min(x, y),
};

/** [a dims, b dims, the layout it exercises] */
const SHAPES: [number[], number[], string][] = [
  [[2, 3, 5], [2, 3, 5], "same shape"],
  [[2, 3, 5], [], "scalar second"],
  [[], [2, 3, 5], "scalar first"],
  [[2, 3, 5], [1], "one-element second"],
  [[2, 3, 5], [2, 3, 1], "per-row statistic (LayerNorm's mean)"],
  [[2, 3, 1], [2, 3, 5], "per-row statistic first"],
  [[2, 3, 5], [5], "per-column constant (γ, β)"],
  [[5], [2, 3, 5], "per-column constant first"],
  [[2, 3, 5], [3, 1], "per-channel block"],
  [[2, 1, 5], [3, 1], "both broadcast (index maps)"],
  [[4, 1], [1, 6], "outer product (index maps)"],
  [[2, 0, 3], [3], "empty"],
];

for (const [opType, f] of Object.entries(BINARY)) {
  test(`float ${opType}: every broadcasting layout equals a naive loop bit for bit`, () => {
    const r = rng(opType.length * 31 + 7);
    for (const [aDims, bDims, layout] of SHAPES) {
      // Pow of a negative base to a fractional power is NaN on both sides; keep bases positive.
      const a = randomFloats(aDims, r, opType === "Pow");
      const b = randomFloats(bDims, r, opType === "Div");
      sameFloats(run(opType, [a, b]), naiveBinary(a, b, (x, y) => Math.fround(f(x, y))), `${opType} ${layout}`);
    }
  });
}

test("float Pow by the constant 2 (LayerNorm's square) is the exact product", () => {
  fc.assert(fc.property(fc.array(fc.float({ noNaN: true, min: Math.fround(-1e18), max: Math.fround(1e18) }), { minLength: 1, maxLength: 50 }), (values) => {
    const x: Tensor = { dtype: "float32", dims: [values.length], data: Float32Array.from(values) };
    const two: Tensor = { dtype: "float32", dims: [], data: Float32Array.of(2) };
    const y = run("Pow", [x, two]).data as Float32Array;
    (x.data as Float32Array).forEach((v, i) => assert.ok(Object.is(y[i], Math.fround(v * v)), `${v}² = ${y[i]}`));
  }));
});

test("binary ops on int64 (shape arithmetic) still compute exactly through the evaluator", () => {
  const a: Tensor = { dtype: "int64", dims: [3], data: BigInt64Array.of(7n, -7n, 40n) };
  const b: Tensor = { dtype: "int64", dims: [1], data: BigInt64Array.of(2n) };
  assert.deepEqual(Array.from(run("Div", [a, b]).data as BigInt64Array), [3n, -3n, 20n]);
  assert.deepEqual(Array.from(run("Mul", [a, b]).data as BigInt64Array), [14n, -14n, 80n]);
});

/** Reduction through multi-indices, in increasing index order, in double, rounded once. */
function naiveReduce(x: Tensor, axes: number[], keep: boolean, op: string): Tensor {
  const rank = x.dims.length;
  const reduced = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const kept = x.dims.map((d, k) => (reduced.has(k) ? 1 : d));
  const n = sizeOf(kept);
  const init = op === "ReduceProd" ? 1 : op === "ReduceMax" ? -Infinity : op === "ReduceMin" ? Infinity : 0;
  const acc = new Float64Array(n).fill(init);
  const count = [...reduced].reduce((p, a) => p * x.dims[a]!, 1);
  const v = x.data as Float32Array;
  for (let i = 0; i < v.length; i++) {
    let rem = i;
    let o = 0;
    let stride = 1;
    for (let k = rank - 1; k >= 0; k--) {
      const idx = rem % x.dims[k]!;
      rem = Math.floor(rem / x.dims[k]!);
      if (!reduced.has(k)) o += idx * stride;
      stride *= kept[k]!;
    }
    const a = acc[o]!;
    acc[o] = op === "ReduceProd" ? a * v[i]! : op === "ReduceMax" ? Math.max(a, v[i]!) : op === "ReduceMin" ? Math.min(a, v[i]!) : a + v[i]!;
  }
  const out = Float32Array.from(acc, (a) => (op === "ReduceMean" ? a / count : a));
  return { dtype: "float32", dims: keep ? kept : x.dims.filter((_, k) => !reduced.has(k)), data: out };
}

const REDUCTIONS: [number[], number[]][] = [
  [[2, 3, 4, 5], [-1]], [[2, 3, 4, 5], [3]], [[2, 3, 4, 5], [1, 2]], [[2, 3, 4, 5], [0]], [[2, 3, 4, 5], [0, 1, 2, 3]],
  [[2, 3, 4, 5], [1, 3]], // not contiguous: the evaluator
  [[2, 1, 4, 5], [1, 2]], [[2, 3, 1, 5], [1, 3]], // contiguous once the size-1 axis is dropped
  [[1, 40, 120], [-1]], [[6], [0]], [[3, 0, 2], [-1]],
];

for (const op of ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]) {
  test(`float ${op} over contiguous and other axes equals a naive loop bit for bit (keepdims 1 and 0, axes as attribute (opset 11) and as input (opset 18))`, () => {
    const r = rng(op.length * 13);
    for (const [dims, axes] of REDUCTIONS) {
      const x = randomFloats(dims, r);
      for (const keep of [1, 0]) {
        const expected = naiveReduce(x, axes, keep === 1, op);
        sameFloats(run(op, [x], { axes: { kind: "ints", value: axes }, keepdims: { kind: "int", value: keep } }, 11), expected, `${op} [${dims}] axes [${axes}] keepdims ${keep}`);
        const axesInput: Tensor = { dtype: "int64", dims: [axes.length], data: BigInt64Array.from(axes.map(BigInt)) };
        sameFloats(run(op, [x, axesInput], { keepdims: { kind: "int", value: keep } }, 18), expected, `${op}-18 [${dims}] axes [${axes}] keepdims ${keep}`);
      }
    }
  });
}

test("float Softmax (opset 13, any axis; before 13, the flattened trailing block) equals the definition", () => {
  const r = rng(5);
  const x = randomFloats([2, 3, 7], r);
  const v = x.data as Float32Array;
  const check = (axis: number, opset: number) => {
    const y = run("Softmax", [x], { axis: { kind: "int", value: axis } }, opset).data as Float32Array;
    const dims = x.dims;
    const a = axis < 0 ? axis + 3 : axis;
    const length = opset >= 13 ? dims[a]! : sizeOf(dims.slice(a));
    const inner = opset >= 13 ? sizeOf(dims.slice(a + 1)) : 1;
    for (let o = 0; o < v.length / (length * inner); o++) {
      for (let i = 0; i < inner; i++) {
        const at = (k: number) => o * length * inner + k * inner + i;
        let max = -Infinity;
        for (let k = 0; k < length; k++) max = Math.max(max, v[at(k)]!);
        let sum = 0;
        for (let k = 0; k < length; k++) sum += Math.exp(v[at(k)]! - max);
        for (let k = 0; k < length; k++) {
          const expected = Math.exp(v[at(k)]! - max) / sum;
          assert.ok(Math.abs(y[at(k)]! - expected) <= 1e-6 * expected + 1e-9, `axis ${axis} opset ${opset}: ${y[at(k)]} vs ${expected}`);
        }
      }
    }
  };
  check(-1, 13);
  check(1, 13);
  check(0, 13);
  check(1, 11);
});

test("float MatMul (batched, broadcast batch) equals dot products summed in double, rounded once", () => {
  const r = rng(8);
  for (const [aDims, bDims] of [[[3, 4], [4, 5]], [[2, 3, 4], [4, 2]], [[2, 1, 3, 4], [3, 4, 6]], [[5], [5, 2]], [[3, 0], [0, 2]]] as number[][][]) {
    const a = randomFloats(aDims!, r);
    const b = randomFloats(bDims!, r);
    const y = run("MatMul", [a, b]);
    // Naive: promote 1-D operands, broadcast batch dims, dot products in double.
    const A = aDims!.length === 1 ? [1, aDims![0]!] : aDims!;
    const B = bDims!.length === 1 ? [bDims![0]!, 1] : bDims!;
    const m = A[A.length - 2]!;
    const k = A[A.length - 1]!;
    const n = B[B.length - 1]!;
    const batchA = A.slice(0, -2);
    const batchB = B.slice(0, -2);
    const rank = Math.max(batchA.length, batchB.length);
    const pa = [...new Array<number>(rank - batchA.length).fill(1), ...batchA];
    const pb = [...new Array<number>(rank - batchB.length).fill(1), ...batchB];
    const batch = pa.map((d, i) => Math.max(d, pb[i]!));
    const out = y.data as Float32Array;
    const av = a.data as Float32Array;
    const bv = b.data as Float32Array;
    for (let t = 0; t < sizeOf(batch); t++) {
      let rem = t;
      let ia = 0;
      let ib = 0;
      let sa = 1;
      let sb = 1;
      for (let d = rank - 1; d >= 0; d--) {
        const idx = rem % batch[d]!;
        rem = Math.floor(rem / batch[d]!);
        ia += (pa[d] === 1 ? 0 : idx) * sa;
        ib += (pb[d] === 1 ? 0 : idx) * sb;
        sa *= pa[d]!;
        sb *= pb[d]!;
      }
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += av[ia * m * k + i * k + p]! * bv[ib * k * n + p * n + j]!;
          assert.ok(Object.is(out[(t * m + i) * n + j], Math.fround(s)), `[${aDims}]·[${bDims}] (${t}, ${i}, ${j})`);
        }
      }
    }
  }
});

test("float unary ops (Sqrt, Exp, Relu, Sigmoid, Neg, Reciprocal) equal the function rounded once", () => {
  const r = rng(21);
  const x = randomFloats([4, 9], r, true);
  const cases: [string, (v: number) => number][] = [
    ["Sqrt", Math.sqrt], ["Exp", Math.exp], ["Relu", (v) => Math.max(v, 0)], ["Sigmoid", (v) => 1 / (1 + Math.exp(-v))],
    ["Neg", (v) => -v], ["Reciprocal", (v) => 1 / v], ["Log", Math.log], ["Abs", Math.abs],
  ];
  for (const [op, f] of cases) {
    const y = run(op, [x]).data as Float32Array;
    (x.data as Float32Array).forEach((v, i) => assert.ok(Object.is(y[i], Math.fround(f(v))), `${op}(${v}) = ${y[i]}`));
  }
  const ints: Tensor = { dtype: "int64", dims: [2], data: BigInt64Array.of(-3n, 4n) };
  assert.deepEqual(Array.from(run("Neg", [ints]).data as BigInt64Array), [3n, -4n], "int64 Neg through the evaluator");
});
