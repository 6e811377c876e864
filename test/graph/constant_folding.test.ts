import { test } from "node:test";
import assert from "node:assert/strict";
import { makeNode } from "../../src/graph/ir.js";
import { int64Tensor, float32Tensor, numbersOf } from "../../src/graph/constants.js";
import { evaluateNode } from "../../src/graph/eval/index.js";
import { foldConstants } from "../../src/graph/passes/constant_folding.js";
import {
  assertPassPreservesOutputs, float, floatInput, graphOf, int, ints, modelOf, randomFloats, rng, tensorAttr,
} from "./oracle.js";

const evalOne = (op: string, inputs: ReturnType<typeof int64Tensor>[], attrs: Record<string, any> = {}, opset = 13, nIn = inputs.length) =>
  evaluateNode(makeNode(op, inputs.map((_, i) => `i${i}`).slice(0, nIn), ["y"], attrs), inputs, { opset });

test("Slice follows ONNX clamping, negative indices and negative steps (hand-computed)", () => {
  const x = int64Tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const slice = (starts: number[], ends: number[], steps?: number[]) =>
    numbersOf(evalOne("Slice", [x, int64Tensor(starts), int64Tensor(ends), int64Tensor([0]), ...(steps ? [int64Tensor(steps)] : [])])[0]!);
  assert.deepEqual(slice([2], [5]), [2, 3, 4]);
  assert.deepEqual(slice([-3], [2 ** 62]), [7, 8, 9]);
  assert.deepEqual(slice([8], [1], [-3]), [8, 5, 2]);
  assert.deepEqual(slice([-1], [-(2 ** 62)], [-1]), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.deepEqual(slice([5], [2]), []);
  // Slice-1 (opset 9) keeps its arguments in attributes.
  const old = evaluateNode(makeNode("Slice", ["x"], ["y"], { starts: ints([1]), ends: ints([3]), axes: ints([0]) }), [x], { opset: 9 });
  assert.deepEqual(numbersOf(old[0]!), [1, 2]);
});

test("Gather, Transpose, Concat, Reshape and Unsqueeze evaluate as hand-computed", () => {
  const m = { dtype: "float32" as const, dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual(numbersOf(evalOne("Gather", [m as any, int64Tensor([2, -3])], { axis: int(1) })[0]!), [3, 1, 6, 4]);
  const t = evalOne("Transpose", [m as any], {})[0]!;
  assert.deepEqual(t.dims, [3, 2]);
  assert.deepEqual(numbersOf(t), [1, 4, 2, 5, 3, 6]);
  const c = evalOne("Concat", [m as any, m as any], { axis: int(-1) })[0]!;
  assert.deepEqual(c.dims, [2, 6]);
  assert.deepEqual(numbersOf(c), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  assert.deepEqual(evalOne("Reshape", [m as any, int64Tensor([0, -1, 1])])[0]!.dims, [2, 3, 1]);
  // Unsqueeze: axes attribute at opset 11, input from 13; same result.
  const u11 = evaluateNode(makeNode("Unsqueeze", ["x"], ["y"], { axes: ints([0, -1]) }), [m as any], { opset: 11 })[0]!;
  const u13 = evaluateNode(makeNode("Unsqueeze", ["x", "a"], ["y"]), [m as any, int64Tensor([0, -1])], { opset: 13 })[0]!;
  assert.deepEqual(u11.dims, [1, 2, 3, 1]);
  assert.deepEqual(u13.dims, [1, 2, 3, 1]);
});

test("Cast truncates toward zero, Div of integers truncates, Range and ReduceProd count", () => {
  const f = float32Tensor([-2.7, -0.5, 0.5, 2.7]);
  assert.deepEqual(numbersOf(evalOne("Cast", [f], { to: int(7) })[0]!), [-2, 0, 0, 2]);
  assert.deepEqual(numbersOf(evalOne("Div", [int64Tensor([7, -7]), int64Tensor([2])])[0]!), [3, -3]);
  assert.deepEqual(numbersOf(evalOne("Range", [int64Tensor([1], []), int64Tensor([10], []), int64Tensor([3], [])])[0]!), [1, 4, 7]);
  const p = evalOne("ReduceProd", [int64Tensor([2, 3, 4, 5], [2, 2])], { axes: ints([1]), keepdims: int(0) }, 11)[0]!;
  assert.deepEqual(numbersOf(p), [6, 20]);
  // int64 sentinels survive a round trip through numbers (clamped, not wrapped).
  assert.deepEqual([...(evalOne("Identity", [int64Tensor([2 ** 63])])[0]!.data as BigInt64Array)], [2n ** 63n - 1n]);
});

test("Constant nodes in every attribute form become initializers", () => {
  const g = graphOf({
    nodes: [
      makeNode("Constant", [], ["a"], { value: tensorAttr(float32Tensor([1, 2])) }),
      makeNode("Constant", [], ["b"], { value_float: float(3) }),
      makeNode("Constant", [], ["c"], { value_ints: ints([4, 5]) }),
      makeNode("Constant", [], ["d"], { value_int: int(6) }),
      makeNode("Add", ["x", "a"], ["y0"]),
      makeNode("Mul", ["y0", "b"], ["y"]),
      makeNode("Reshape", ["y", "c"], ["z"]),
      makeNode("Unsqueeze", ["z"], ["w"], { axes: ints([0]) }),
      // A dead branch: folded, then its initializers pruned.
      makeNode("Unsqueeze", ["d"], ["d2"], { axes: ints([0]) }),
    ],
    inputs: [floatInput("x", [10, 2])],
    outputs: [floatInput("w", undefined as any)],
  });
  const model = modelOf(g, 11);
  const report = foldConstants(model);
  assert.equal(report.constantsToInitializers, 4);
  assert.equal(g.nodes.filter((n) => n.opType === "Constant").length, 0);
  assert.deepEqual(numbersOf(g.initializers.get("b")!), [3]);
  assert.deepEqual(numbersOf(g.initializers.get("c")!), [4, 5]);
  // d only fed the dead Unsqueeze: folded and pruned.
  assert.equal(g.initializers.has("d"), false);
  assert.equal(g.initializers.has("d2"), false);
});

test("a shape computation from static dims folds, and ORT gives the same outputs", async () => {
  // y = Reshape(x, Concat(Gather(Shape(x), 0), [-1])) with x static [2, 3, 4]; plus a constant chain.
  const g = graphOf({
    nodes: [
      makeNode("Shape", ["x"], ["s"]),
      makeNode("Gather", ["s", "zero"], ["n"], { axis: int(0) }),
      makeNode("Unsqueeze", ["n", "axes0"], ["n1"]),
      makeNode("Concat", ["n1", "minus1"], ["target"], { axis: int(0) }),
      makeNode("Reshape", ["x", "target"], ["flat"]),
      makeNode("Transpose", ["w"], ["wt"], { perm: ints([1, 0]) }),
      makeNode("Sqrt", ["wt"], ["ws"]),
      makeNode("MatMul", ["flat", "ws"], ["y"]),
    ],
    inputs: [floatInput("x", [2, 3, 4])],
    outputs: [floatInput("y", [2, 5])],
    initializers: new Map([
      ["zero", int64Tensor([0], [])], ["axes0", int64Tensor([0])], ["minus1", int64Tensor([-1])],
      ["w", { dtype: "float32", dims: [5, 12], data: Float32Array.from({ length: 60 }, (_, i) => i / 7) }],
    ]),
  });
  const { model, result } = await assertPassPreservesOutputs(modelOf(g, 13), { x: randomFloats([2, 3, 4], rng(3)) }, (m) => foldConstants(m));
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Reshape", "MatMul"]);
  assert.equal(result.nodesFolded, 6);
  const target = model.graph.initializers.get(model.graph.nodes[0]!.inputs[1]!)!;
  assert.deepEqual(numbersOf(target), [2, -1]);
});

test("a dynamic dim is not folded; a static dim of the same tensor is", async () => {
  const g = graphOf({
    nodes: [
      makeNode("Shape", ["x"], ["s"]),
      makeNode("Gather", ["s", "zero"], ["batch"], { axis: int(0) }),
      makeNode("Gather", ["s", "one"], ["chan"], { axis: int(0) }),
      makeNode("Cast", ["chan"], ["chanf"], { to: int(1) }),
      makeNode("Cast", ["batch"], ["batchf"], { to: int(1) }),
      makeNode("Mul", ["x", "chanf"], ["y0"]),
      makeNode("Add", ["y0", "batchf"], ["y"]),
    ],
    inputs: [floatInput("x", ["N", 3])],
    outputs: [floatInput("y", ["N", 3])],
    initializers: new Map([["zero", int64Tensor([0], [])], ["one", int64Tensor([1], [])]]),
  });
  const { model } = await assertPassPreservesOutputs(modelOf(g, 13), { x: randomFloats([4, 3], rng(4)) }, (m) => foldConstants(m));
  const ops = model.graph.nodes.map((n) => n.opType);
  assert.deepEqual(ops, ["Shape", "Gather", "Cast", "Mul", "Add"]);
  assert.deepEqual(numbersOf(model.graph.initializers.get("chanf")!), [3]);
});

test("opset-9 Slice attributes fold; a folded value that is a graph output stays a node", async () => {
  const g = graphOf({
    nodes: [
      makeNode("Slice", ["c"], ["cs"], { starts: ints([1]), ends: ints([1000]), axes: ints([0]) }),
      makeNode("Add", ["x", "cs"], ["y"]),
      makeNode("Neg", ["c"], ["negc"]),
    ],
    inputs: [floatInput("x", [3])],
    outputs: [floatInput("y", [3]), floatInput("negc", [4])],
    initializers: new Map([["c", float32Tensor([1, 2, 3, 4])]]),
  });
  const { model } = await assertPassPreservesOutputs(modelOf(g, 9), { x: randomFloats([3], rng(5)) }, (m) => foldConstants(m));
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Add", "Neg"]);
  assert.deepEqual(numbersOf(model.graph.initializers.get("cs")!), [2, 3, 4]);
});

test("ConstantOfShape, Expand, Where, Equal and Range fold to ORT's values", async () => {
  const g = graphOf({
    nodes: [
      makeNode("ConstantOfShape", ["shape"], ["ones"], { value: tensorAttr(float32Tensor([1.5], [1])) }),
      makeNode("Range", ["r0", "r1", "r2"], ["r"]),
      makeNode("Cast", ["r"], ["rf"], { to: int(1) }),
      makeNode("Equal", ["r", "two"], ["eq"]),
      makeNode("Where", ["eq", "ones", "rf"], ["w"]),
      makeNode("Expand", ["w", "shape2"], ["e"]),
      makeNode("Mul", ["x", "e"], ["y"]),
    ],
    inputs: [floatInput("x", [2, 4])],
    outputs: [floatInput("y", [2, 4])],
    initializers: new Map([
      ["shape", int64Tensor([4])], ["shape2", int64Tensor([2, 4])], ["two", int64Tensor([2], [])],
      ["r0", int64Tensor([0], [])], ["r1", int64Tensor([4], [])], ["r2", int64Tensor([1], [])],
    ]),
  });
  const { model } = await assertPassPreservesOutputs(modelOf(g, 13), { x: randomFloats([2, 4], rng(6)) }, (m) => foldConstants(m));
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Mul"]);
  assert.deepEqual(numbersOf(model.graph.initializers.get("e")!), [0, 1, 1.5, 3, 0, 1, 1.5, 3]);
});

test("Split, Tile, Flatten, Squeeze, ReduceSum and Pow on constants fold to ORT's values", async () => {
  const g = graphOf({
    nodes: [
      makeNode("Split", ["c", "sizes"], ["p", "q"], { axis: int(1) }),
      makeNode("Tile", ["p", "reps"], ["t"]),
      makeNode("Flatten", ["t"], ["f"], { axis: int(0) }),
      makeNode("Squeeze", ["f", "axes0"], ["s"]),
      makeNode("ReduceSum", ["q", "axes1"], ["rs"], { keepdims: int(0) }),
      makeNode("Pow", ["rs", "two"], ["pw"]),
      makeNode("Mul", ["x", "s"], ["y1"]),
      makeNode("Add", ["x2", "pw"], ["y2"]),
    ],
    inputs: [floatInput("x", [12]), floatInput("x2", [2])],
    outputs: [floatInput("y1", [12]), floatInput("y2", [2])],
    initializers: new Map([
      ["c", float32Tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4])], ["sizes", int64Tensor([1, 3])], ["reps", int64Tensor([2, 3])],
      ["axes0", int64Tensor([0])], ["axes1", int64Tensor([1])], ["two", float32Tensor([2], [])],
    ]),
  });
  const feeds = { x: randomFloats([12], rng(8)), x2: randomFloats([2], rng(9)) };
  const { model, result } = await assertPassPreservesOutputs(modelOf(g, 13), feeds, (m) => foldConstants(m));
  assert.equal(result.nodesFolded, 6);
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Mul", "Add"]);
  // p = [[1], [5]] tiled (2, 3) → 4×3, flattened: 1,1,1,5,5,5,1,1,1,5,5,5; q = [[2,3,4],[6,7,8]] row sums 9, 21, squared.
  assert.deepEqual(numbersOf(model.graph.initializers.get("s")!), [1, 1, 1, 5, 5, 5, 1, 1, 1, 5, 5, 5]);
  assert.deepEqual(numbersOf(model.graph.initializers.get("pw")!), [81, 441]);
});
