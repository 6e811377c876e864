import { test } from "node:test";
import assert from "node:assert/strict";
import { makeNode } from "../../src/graph/ir.js";
import { float32Tensor } from "../../src/graph/constants.js";
import { removeIdentities } from "../../src/graph/passes/remove_identity.js";
import { foldBatchNorms } from "../../src/graph/passes/fold_batchnorm.js";
import { prepareGraph } from "../../src/graph/passes/index.js";
import { assertPassPreservesOutputs, float, floatInput, graphOf, loadPpocr, modelOf, PPOCR, randomFloats, rng } from "./oracle.js";

test("Identity and inference Dropout are removed; an Identity to a graph output renames its producer", async () => {
  const g = graphOf({
    nodes: [
      makeNode("Identity", ["x"], ["i0"]),
      makeNode("Relu", ["i0"], ["r"]),
      makeNode("Dropout", ["r"], ["d"], {}, "drop"),
      makeNode("Neg", ["d"], ["n"]),
      makeNode("Identity", ["n"], ["y"]),
      makeNode("Identity", ["x"], ["z"]),
    ],
    inputs: [floatInput("x", [2, 3])],
    outputs: [floatInput("y", [2, 3]), floatInput("z", [2, 3])],
  });
  const { model, result } = await assertPassPreservesOutputs(modelOf(g, 13), { x: randomFloats([2, 3], rng(1)) }, removeIdentities);
  assert.equal(result.removed, 3);
  assert.deepEqual(result.byOp, { Identity: 2, Dropout: 1 });
  // x → z is a graph input straight to a graph output: that Identity has to stay.
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Relu", "Neg", "Identity"]);
  assert.deepEqual(model.graph.nodes[1]!.outputs, ["y"]);
});

test("a BatchNormalization-9 with training outputs is never folded", () => {
  const g = graphOf({
    nodes: [makeNode("Conv", ["x", "w"], ["c"]), makeNode("BatchNormalization", ["c", "s", "b", "m", "v"], ["y", "rm", "rv", "sm", "sv"], { epsilon: float(1e-5) })],
    inputs: [floatInput("x", [1, 1, 2, 2])], outputs: [floatInput("y", [1, 1, 2, 2])],
    initializers: new Map(["w", "s", "b", "m", "v"].map((k) => [k, float32Tensor([1], k === "w" ? [1, 1, 1, 1] : [1])])),
  });
  const r = foldBatchNorms(modelOf(g, 9));
  assert.equal(r.folded, 0);
  assert.match(r.standalone[0]!.reason, /training-mode/);
});

for (const which of ["rec", "cls", "det"] as const) {
  test(`prepareGraph on PP-OCR ${which}: opset 13, no Constant/BatchNormalization left, outputs unchanged`, async () => {
    const model = loadPpocr(which);
    const x = randomFloats(PPOCR[which].input, rng(11));
    const { model: prepared, result } = await assertPassPreservesOutputs(model, { x }, (m) => prepareGraph(m, { targetOpset: 13 }));
    const ops = new Set(prepared.graph.nodes.map((n) => n.opType));
    assert.equal(ops.has("Constant"), false);
    assert.equal(ops.has("BatchNormalization"), false);
    assert.equal(result.batchNormFolding!.standalone.length, 0);
    assert.ok(result.nodesAfter < result.nodesBefore / 2 + 50);
    assert.ok(result.shapesKnown > 0);
    // The learnable affine (Mul, Add by scalars) after each LCNet conv folds into the conv.
    if (which !== "cls") assert.ok(result.affineFolding!.folded >= 56);
  });
}

test("prepareGraph with a fixed input shape knows every intermediate shape of the recogniser", () => {
  const model = loadPpocr("rec");
  const report = prepareGraph(model, { targetOpset: 13, inputShapes: { x: [...PPOCR.rec.input] } });
  assert.equal(report.shapesPartial, 0);
  // The declared input stays dynamic: inputShapes only informs inference.
  assert.equal(typeof model.graph.inputs[0]!.shape![0], "string");
});
