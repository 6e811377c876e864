import { test } from "node:test";
import assert from "node:assert/strict";
import { makeNode, type Node } from "../../src/graph/ir.js";
import { float32Tensor, numbersOf } from "../../src/graph/constants.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { foldBatchNorms } from "../../src/graph/passes/fold_batchnorm.js";
import { foldConvAffine } from "../../src/graph/passes/fold_conv_affine.js";
import { assertPassPreservesOutputs, float, floatInput, graphOf, int, ints, modelOf, randomFloats, rng } from "./oracle.js";

/** BatchNorm parameters for `c` channels with variances well away from 0. */
function bnParams(c: number, seed: number): Map<string, Tensor> {
  const r = rng(seed);
  return new Map([
    ["gamma", randomFloats([c], r, 2)], ["beta", randomFloats([c], r, 1)], ["mean", randomFloats([c], r, 1)],
    ["var", float32Tensor(Array.from({ length: c }, () => 0.1 + r() * 2))],
  ]);
}
const bn = (x: string, y: string, eps = 1e-5): Node =>
  makeNode("BatchNormalization", [x, "gamma", "beta", "mean", "var"], [y], { epsilon: float(eps) }, "bn");

test("Conv + BatchNormalization folds to the hand-computed weight and bias", () => {
  // 1×1 conv, one channel, w = 2, no bias; γ = 3, β = 1, μ = 0.5, σ² = 3, ε = 1: s = 3/√4 = 1.5,
  // w' = 3, b' = (0 − 0.5)·1.5 + 1 = 0.25.
  const g = graphOf({
    nodes: [makeNode("Conv", ["x", "w"], ["c"]), bn("c", "y", 1)],
    inputs: [floatInput("x", [1, 1, 2, 2])],
    outputs: [floatInput("y", [1, 1, 2, 2])],
    initializers: new Map([
      ["w", float32Tensor([2], [1, 1, 1, 1])], ["gamma", float32Tensor([3])], ["beta", float32Tensor([1])],
      ["mean", float32Tensor([0.5])], ["var", float32Tensor([3])],
    ]),
  });
  const report = foldBatchNorms(modelOf(g));
  assert.equal(report.folded, 1);
  assert.deepEqual(g.nodes.map((n) => n.opType), ["Conv"]);
  assert.equal(g.nodes[0]!.outputs[0], "y");
  assert.deepEqual(numbersOf(g.initializers.get("w")!), [3]);
  assert.deepEqual(numbersOf(g.initializers.get(g.nodes[0]!.inputs[2]!)!), [0.25]);
});

test("grouped Conv + BN matches ORT", async () => {
  const r = rng(10);
  const g = graphOf({
    nodes: [makeNode("Conv", ["x", "w", "b"], ["c"], { group: int(2), pads: ints([1, 1, 1, 1]), strides: ints([2, 1]) }), bn("c", "y")],
    inputs: [floatInput("x", [2, 4, 7, 6])],
    outputs: [floatInput("y", [2, 6, 4, 6])],
    initializers: new Map([["w", randomFloats([6, 2, 3, 3], r)], ["b", randomFloats([6], r)], ...bnParams(6, 11)]),
  });
  const { model, result } = await assertPassPreservesOutputs(modelOf(g), { x: randomFloats([2, 4, 7, 6], r) }, foldBatchNorms);
  assert.equal(result.folded, 1);
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Conv"]);
});

test("ConvTranspose with groups + BN matches ORT (output channels on weight axis 1, per group)", async () => {
  const r = rng(12);
  // W [C=4, M/group=3, 2, 2], group 2 → 6 output channels.
  const g = graphOf({
    nodes: [makeNode("ConvTranspose", ["x", "w"], ["c"], { group: int(2), strides: ints([2, 2]) }), bn("c", "y")],
    inputs: [floatInput("x", [1, 4, 3, 3])],
    outputs: [floatInput("y", [1, 6, 6, 6])],
    initializers: new Map([["w", randomFloats([4, 3, 2, 2], r)], ...bnParams(6, 13)]),
  });
  const { model, result } = await assertPassPreservesOutputs(modelOf(g), { x: randomFloats([1, 4, 3, 3], r) }, foldBatchNorms);
  assert.equal(result.folded, 1);
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["ConvTranspose"]);
});

for (const [transB, cDims] of [[0, [5]], [1, [1, 5]], [1, undefined], [0, [3, 5]], [1, [3, 1]]] as const) {
  test(`Gemm (transB=${transB}, C ${cDims ? `[${cDims}]` : "absent"}) + BN matches ORT`, async () => {
    const r = rng(20 + transB);
    const inits = new Map<string, Tensor>([["b", randomFloats(transB ? [5, 4] : [4, 5], r)], ...bnParams(5, 21)]);
    if (cDims) inits.set("c", randomFloats([...cDims], r));
    const g = graphOf({
      nodes: [makeNode("Gemm", ["x", "b", ...(cDims ? ["c"] : [])], ["g"], { transB: int(transB), alpha: float(0.7), beta: float(1.3) }), bn("g", "y")],
      inputs: [floatInput("x", [3, 4])],
      outputs: [floatInput("y", [3, 5])],
      initializers: inits,
    });
    const { result } = await assertPassPreservesOutputs(modelOf(g), { x: randomFloats([3, 4], r) }, foldBatchNorms);
    assert.equal(result.folded, 1);
  });
}

test("a BN not after a conv, or after a conv whose output has other uses, is left and reported", async () => {
  const r = rng(30);
  const g = graphOf({
    nodes: [
      makeNode("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], ["n0"], {}, "bn_on_input"),
      makeNode("Conv", ["n0", "w"], ["c"], {}, "conv"),
      makeNode("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n1"], {}, "bn_shared"),
      makeNode("Add", ["n1", "c"], ["y"]),
    ],
    inputs: [floatInput("x", [1, 3, 4, 4])],
    outputs: [floatInput("y", [1, 3, 4, 4])],
    initializers: new Map([["w", randomFloats([3, 3, 1, 1], r)], ...bnParams(3, 31)]),
  });
  const { result } = await assertPassPreservesOutputs(modelOf(g), { x: randomFloats([1, 3, 4, 4], r) }, foldBatchNorms);
  assert.equal(result.folded, 0);
  assert.deepEqual(result.standalone.map((s) => s.node), ["bn_on_input", "bn_shared"]);
  assert.match(result.standalone[0]!.reason, /not produced by a node/);
  assert.match(result.standalone[1]!.reason, /other uses/);
});

test("a weight shared by two convs is copied, not changed under the other conv", async () => {
  const r = rng(40);
  const g = graphOf({
    nodes: [makeNode("Conv", ["x", "w"], ["c"], {}, "a"), bn("c", "y1"), makeNode("Conv", ["x", "w"], ["y2"], {}, "b")],
    inputs: [floatInput("x", [1, 3, 4, 4])],
    outputs: [floatInput("y1", [1, 3, 4, 4]), floatInput("y2", [1, 3, 4, 4])],
    initializers: new Map([["w", randomFloats([3, 3, 1, 1], r)], ...bnParams(3, 41)]),
  });
  const { model } = await assertPassPreservesOutputs(modelOf(g), { x: randomFloats([1, 3, 4, 4], r) }, foldBatchNorms);
  assert.notEqual(model.graph.nodes[0]!.inputs[1], "w");
  assert.equal(model.graph.nodes[1]!.inputs[1], "w");
});

test("per-channel Mul/Add/Sub/Div after a Conv fold into it (both operand orders), matching ORT", async () => {
  const r = rng(50);
  const g = graphOf({
    nodes: [
      makeNode("Conv", ["x", "w", "b"], ["c0"], { pads: ints([1, 1, 1, 1]) }),
      makeNode("Mul", ["s", "c0"], ["c1"]),
      makeNode("Add", ["c1", "t"], ["c2"]),
      makeNode("Sub", ["u", "c2"], ["c3"]),
      makeNode("Div", ["c3", "d"], ["c4"]),
      makeNode("Sub", ["c4", "scalar"], ["y"]),
    ],
    inputs: [floatInput("x", [2, 3, 5, 5])],
    outputs: [floatInput("y", [2, 4, 5, 5])],
    initializers: new Map([
      ["w", randomFloats([4, 3, 3, 3], r)], ["b", randomFloats([4], r)],
      ["s", randomFloats([4, 1, 1], r)], ["t", randomFloats([1, 4, 1, 1], r)], ["u", randomFloats([4, 1, 1], r)],
      ["d", float32Tensor([0.5, -2, 3, 1.5], [4, 1, 1])], ["scalar", float32Tensor([0.25], [1])],
    ]),
  });
  const { model, result } = await assertPassPreservesOutputs(modelOf(g), { x: randomFloats([2, 3, 5, 5], r) }, foldConvAffine);
  assert.equal(result.folded, 5);
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Conv"]);
  assert.equal(model.graph.nodes[0]!.outputs[0], "y");
});

test("a constant that varies along a non-channel axis is not folded", async () => {
  const r = rng(60);
  const g = graphOf({
    nodes: [makeNode("Conv", ["x", "w"], ["c"]), makeNode("Mul", ["c", "s"], ["y"])],
    inputs: [floatInput("x", [1, 2, 4, 4])],
    outputs: [floatInput("y", [1, 4, 4, 4])],
    // Shape [4] aligns with the last (width) axis, not the channels.
    initializers: new Map([["w", randomFloats([4, 2, 1, 1], r)], ["s", randomFloats([4], r)]]),
  });
  const { result } = await assertPassPreservesOutputs(modelOf(g), { x: randomFloats([1, 2, 4, 4], r) }, foldConvAffine);
  assert.equal(result.folded, 0);
});
