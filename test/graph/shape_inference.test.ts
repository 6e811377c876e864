import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { makeNode, type Dim, type Node } from "../../src/graph/ir.js";
import { int64Tensor } from "../../src/graph/constants.js";
import { inferShapes, inferValueFacts } from "../../src/graph/shape_inference.js";
import { encodeModel } from "../../src/onnx/encode.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { floatInput, graphOf, int, ints, loadPpocr, PPOCR, randomFloats, rng, str } from "./oracle.js";

/** Shape of value `out` after inferring a one-node graph. */
function shapeOf(node: Node, inputs: [string, Dim[]][], inits: [string, Tensor][] = [], opset = 13, out = node.outputs[0]!): Dim[] | undefined {
  const g = graphOf({
    nodes: [node], inputs: inputs.map(([n, s]) => floatInput(n, s)), outputs: [], initializers: new Map(inits),
  });
  return inferValueFacts(g, opset).get(out)?.shape;
}

const convOut = (input: number, k: number, s: number, d: number, pb: number, pe: number) => Math.floor((input + pb + pe - d * (k - 1) - 1) / s) + 1;

test("Conv output size follows floor((in + pads − dilation·(k − 1) − 1)/stride) + 1", () => {
  const w: [string, Tensor][] = [["w", randomFloats([8, 3, 3, 5], rng(1))]];
  const node = makeNode("Conv", ["x", "w"], ["y"], { strides: ints([2, 3]), dilations: ints([2, 1]), pads: ints([1, 0, 2, 2]) });
  assert.deepEqual(shapeOf(node, [["x", ["N", 3, 17, 20]]], w), ["N", 8, convOut(17, 3, 2, 2, 1, 2), convOut(20, 5, 3, 1, 0, 2)]);
  const same = makeNode("Conv", ["x", "w"], ["y"], { strides: ints([2, 3]), auto_pad: str("SAME_UPPER") });
  assert.deepEqual(shapeOf(same, [["x", [1, 3, 17, 20]]], w), [1, 8, 9, 7]);
  // A dynamic spatial dim stays unknown, the channel count is still known.
  assert.deepEqual(shapeOf(node, [["x", [1, 3, "H", 20]]], w), [1, 8, undefined, convOut(20, 5, 3, 1, 0, 2)]);
});

test("pooling with ceil_mode, global pooling and ConvTranspose sizes", () => {
  const pool = makeNode("MaxPool", ["x"], ["y"], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: int(1) });
  // ceil((10 − 3)/2) + 1 = 5; floor would give 4.
  assert.deepEqual(shapeOf(pool, [["x", [1, 4, 10, 9]]]), [1, 4, 5, 4]);
  assert.deepEqual(shapeOf(makeNode("GlobalAveragePool", ["x"], ["y"]), [["x", ["N", 4, 10, 9]]]), ["N", 4, 1, 1]);
  // stride·(in − 1) + output_padding + (k − 1)·dilation + 1 − pads = 2·4 + 1 + 3 − 1 = 11.
  const ct = makeNode("ConvTranspose", ["x", "w"], ["y"], { strides: ints([2, 2]), output_padding: ints([1, 0]), pads: ints([1, 0, 0, 0]), group: int(2) });
  assert.deepEqual(shapeOf(ct, [["x", [1, 4, 5, 5]]], [["w", randomFloats([4, 3, 3, 3], rng(2))]]), [1, 6, 11, 11]);
});

test("broadcasting, MatMul promotion rules and Gemm transposes", () => {
  assert.deepEqual(shapeOf(makeNode("Add", ["a", "b"], ["y"]), [["a", [2, 1, 4]], ["b", [3, 1]]]), [2, 3, 4]);
  assert.deepEqual(shapeOf(makeNode("Mul", ["a", "b"], ["y"]), [["a", ["N", 1, 4]], ["b", [5, 4]]]), ["N", 5, 4]);
  assert.throws(() => shapeOf(makeNode("Add", ["a", "b"], ["y"]), [["a", [2, 3]], ["b", [4]]]), /do not broadcast/);
  assert.deepEqual(shapeOf(makeNode("MatMul", ["a", "b"], ["y"]), [["a", [7, 1, 2, 3]], ["b", [5, 3, 4]]]), [7, 5, 2, 4]);
  assert.deepEqual(shapeOf(makeNode("MatMul", ["a", "b"], ["y"]), [["a", [3]], ["b", [2, 3, 4]]]), [2, 4]);
  assert.deepEqual(shapeOf(makeNode("MatMul", ["a", "b"], ["y"]), [["a", [2, 3, 4]], ["b", [4]]]), [2, 3]);
  assert.deepEqual(shapeOf(makeNode("Gemm", ["a", "b"], ["y"], { transA: int(1), transB: int(1) }), [["a", [4, 3]], ["b", [5, 4]]]), [3, 5]);
});

test("Reshape with 0 and −1, computed from Shape, keeps symbolic dims", () => {
  const g = graphOf({
    nodes: [
      makeNode("Shape", ["x"], ["s"]),
      makeNode("Slice", ["s", "zero", "two"], ["s01"]),
      makeNode("Concat", ["s01", "minus1"], ["target"], { axis: int(0) }),
      makeNode("Reshape", ["x", "target"], ["y"]),
      makeNode("Reshape", ["x", "zeros"], ["z"]),
    ],
    inputs: [floatInput("x", ["N", 64, 1, "W"])],
    outputs: [],
    initializers: new Map([["zero", int64Tensor([0])], ["two", int64Tensor([2])], ["minus1", int64Tensor([-1])], ["zeros", int64Tensor([0, 0, -1])]]),
  });
  const f = inferValueFacts(g, 13);
  assert.deepEqual(f.get("target")?.value, ["N", 64, -1]);
  assert.deepEqual(f.get("y")?.shape, ["N", 64, "W"]);
  assert.deepEqual(f.get("z")?.shape, ["N", 64, "W"]);
});

test("Squeeze/Unsqueeze/Split/ReduceMean read axes per opset; Resize scales floor the size", () => {
  assert.deepEqual(shapeOf(makeNode("Squeeze", ["x"], ["y"], { axes: ints([0, -1]) }), [["x", [1, 3, 1]]], [], 11), [3]);
  assert.deepEqual(shapeOf(makeNode("Squeeze", ["x", "a"], ["y"]), [["x", [1, 3, 1]]], [["a", int64Tensor([0])]], 13), [3, 1]);
  assert.deepEqual(shapeOf(makeNode("Unsqueeze", ["x", "a"], ["y"]), [["x", [3, 4]]], [["a", int64Tensor([0, 3])]], 13), [1, 3, 4, 1]);
  const split = makeNode("Split", ["x"], ["p", "q"], { axis: int(1), split: ints([2, 5]) });
  assert.deepEqual(shapeOf(split, [["x", [1, 7]]], [], 11, "q"), [1, 5]);
  assert.deepEqual(shapeOf(makeNode("ReduceMean", ["x"], ["y"], { axes: ints([-1]), keepdims: int(0) }), [["x", ["N", 5, 6]]], [], 11), ["N", 5]);
  const resize = makeNode("Resize", ["x", "", "scales"], ["y"], { mode: str("nearest") });
  assert.deepEqual(shapeOf(resize, [["x", [1, 2, 5, 7]]], [["scales", { dtype: "float32", dims: [4], data: Float32Array.from([1, 1, 2, 0.5]) }]], 13), [1, 2, 10, 3]);
});

test("an op without a rule gets unknown outputs and inference carries on", () => {
  const g = graphOf({
    nodes: [makeNode("MysteryOp", ["x"], ["m"], {}, "m", "com.example"), makeNode("Relu", ["m"], ["y"]), makeNode("Relu", ["x"], ["z"])],
    inputs: [floatInput("x", [2, 3])],
    outputs: [],
  });
  const f = inferValueFacts(g, 13);
  assert.equal(f.get("m")?.shape, undefined);
  assert.deepEqual(f.get("z")?.shape, [2, 3]);
});

test("every intermediate shape of the PP-OCR classifier matches what ONNX Runtime computes", async () => {
  const model = loadPpocr("cls");
  const dims = [...PPOCR.cls.input];
  const report = inferShapes(model, { inputShapes: { x: dims } });
  const g = model.graph;
  const values = g.nodes.filter((n) => n.opType !== "Constant").flatMap((n) => n.outputs).filter((o) => !g.outputs.some((v) => v.name === o));
  g.outputs.push(...values.map((name) => ({ name, dtype: report.facts.get(name)!.dtype! })));
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
  const out = await session.run({ x: new ort.Tensor("float32", randomFloats(dims, rng(1)).data as Float32Array, dims) });
  let compared = 0;
  for (const name of values) {
    const f = report.facts.get(name)!;
    assert.deepEqual(f.shape, [...out[name]!.dims], `shape of ${name}`);
    assert.equal(f.dtype, out[name]!.type, `dtype of ${name}`);
    compared++;
  }
  assert.ok(compared > 200);
  await session.release();
});
