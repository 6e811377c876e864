import { test } from "node:test";
import assert from "node:assert/strict";
import { makeNode, onnxOpset, type Node } from "../../src/graph/ir.js";
import { float32Tensor } from "../../src/graph/constants.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { upgradeOpset } from "../../src/graph/passes/upgrade_opset.js";
import {
  assertPassPreservesOutputs, float, floatInput, graphOf, int, ints, loadPpocr, modelOf, PPOCR, randomFloats, rng, str,
} from "./oracle.js";

/** Builds a one-or-more-node float model at `opset`, upgrades it to `target`, and checks ORT agrees. */
async function checkUpgrade(nodes: Node[], inputs: [string, number[]][], outputs: string[], opset: number, target = 13, inits: [string, Tensor][] = []) {
  const g = graphOf({
    nodes, inputs: inputs.map(([n, s]) => floatInput(n, s)),
    // TopK's second output holds int64 indices.
    outputs: outputs.map((o) => (o === "indices" ? { name: o, dtype: "int64" as const } : { name: o, dtype: "float32" as const })),
    initializers: new Map(inits),
  });
  const r = rng(opset * 100 + target);
  const feeds = Object.fromEntries(inputs.map(([n, s]) => [n, randomFloats(s, r, 3)]));
  const { model, result } = await assertPassPreservesOutputs(modelOf(g, opset), feeds, (m) => upgradeOpset(m, target), 1e-6);
  assert.equal(onnxOpset(model), target);
  return { model, report: result };
}

for (const which of ["rec", "cls", "det"] as const) {
  test(`PP-OCR ${which} (opset ${which === "det" ? 11 : 9}) upgraded to 13 gives ONNX Runtime's outputs`, async () => {
    const model = loadPpocr(which);
    const x = randomFloats(PPOCR[which].input, rng(7));
    const { model: up, result, difference } = await assertPassPreservesOutputs(model, { x }, (m) => upgradeOpset(m, 13), 1e-6);
    assert.equal(onnxOpset(up), 13);
    assert.ok(up.irVersion >= 7);
    assert.ok(difference <= 1e-6);
    if (which !== "det") assert.ok(result.rewritten.some((c) => c.opType === "Clip" && c.step === 11));
    if (which === "rec") {
      // The attention Softmax runs over axis 3 of a rank-4 tensor: the last axis, so it is kept.
      const soft = result.rewritten.filter((c) => c.opType === "Softmax");
      assert.equal(soft.length, 3);
      assert.ok(soft.every((c) => /is the last axis/.test(c.change)));
    }
  });
}

test("PP-OCR rec upgrades to opset 21 too (ReduceMean axes become inputs at 18)", async () => {
  const model = loadPpocr("rec");
  const { result } = await assertPassPreservesOutputs(model, { x: randomFloats(PPOCR.rec.input, rng(8)) }, (m) => upgradeOpset(m, 21), 1e-5);
  assert.equal(result.rewritten.filter((c) => c.opType === "ReduceMean" && c.step === 18).length, 10);
});

test("pre-13 Softmax/LogSoftmax/Hardmax on a middle axis is wrapped with Flatten/Reshape, exactly", async () => {
  for (const op of ["Softmax", "LogSoftmax", "Hardmax"]) {
    const { report, model } = await checkUpgrade([makeNode(op, ["x"], ["y"], { axis: int(1) })], [["x", [2, 3, 4]]], ["y"], 11);
    assert.match(report.rewritten[0]!.change, /wrapped/);
    assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Flatten", "Shape", op, "Reshape"]);
  }
  // Default axis before 13 is 1; on a rank-2 input that is the last axis.
  const { model } = await checkUpgrade([makeNode("Softmax", ["x"], ["y"])], [["x", [3, 5]]], ["y"], 9);
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Softmax"]);
});

test("Softmax whose input rank is unknown is wrapped (exact for any rank)", async () => {
  const g = graphOf({ nodes: [makeNode("Softmax", ["x"], ["y"], { axis: int(1) })], inputs: [{ name: "x", dtype: "float32" }], outputs: [floatInput("y", undefined as never)] });
  const { model } = await assertPassPreservesOutputs(modelOf(g, 11), { x: randomFloats([2, 3, 4], rng(9)) }, (m) => upgradeOpset(m, 13), 1e-6);
  assert.equal(model.graph.nodes.length, 4);
});

test("Clip-6, Slice-1, Pad-2, Dropout-7, TopK-1 arguments move to inputs", async () => {
  await checkUpgrade([makeNode("Clip", ["x"], ["y"], { min: float(-0.5) })], [["x", [4, 5]]], ["y"], 9);
  await checkUpgrade([makeNode("Clip", ["x"], ["y"], { min: float(0), max: float(6) })], [["x", [4, 5]]], ["y"], 9);
  await checkUpgrade([makeNode("Slice", ["x"], ["y"], { starts: ints([1, -3]), ends: ints([100, -1]), axes: ints([0, 2]) })], [["x", [3, 4, 5]]], ["y"], 9);
  await checkUpgrade([makeNode("Pad", ["x"], ["y"], { pads: ints([0, 1, 2, 0, 2, 1]), value: float(1.5) })], [["x", [2, 3, 4]]], ["y"], 9);
  await checkUpgrade([makeNode("Pad", ["x"], ["y"], { pads: ints([0, 0, 1, 2, 0, 0, 2, 1]), mode: str("reflect") })], [["x", [1, 2, 4, 5]]], ["y"], 10);
  await checkUpgrade([makeNode("Dropout", ["x"], ["y"], { ratio: float(0.3) })], [["x", [4, 5]]], ["y"], 9);
  await checkUpgrade([makeNode("TopK", ["x"], ["v", "indices"], { k: int(2), axis: int(1) })], [["x", [3, 6]]], ["v", "indices"], 9);
});

test("Squeeze/Unsqueeze/ReduceSum axes and Split sizes move to inputs at 13", async () => {
  await checkUpgrade([makeNode("Unsqueeze", ["x"], ["u"], { axes: ints([0, 3]) }), makeNode("Squeeze", ["u"], ["y"], { axes: ints([0]) })], [["x", [2, 3]]], ["y"], 11);
  await checkUpgrade([makeNode("ReduceSum", ["x"], ["y"], { axes: ints([-1]), keepdims: int(0) })], [["x", [2, 3, 4]]], ["y"], 11);
  await checkUpgrade([makeNode("Split", ["x"], ["a", "b"], { axis: int(1), split: ints([1, 4]) })], [["x", [2, 5]]], ["a", "b"], 11);
  // Equal split without sizes needs num_outputs from 18.
  const { report } = await checkUpgrade([makeNode("Split", ["x"], ["a", "b"], { axis: int(1) })], [["x", [2, 6]]], ["a", "b"], 11, 18);
  assert.ok(report.rewritten.some((c) => c.change.includes("num_outputs")));
});

test("Resize-10 and Upsample-9 become Resize-11+ with asymmetric coordinates, exactly", async () => {
  const scales = (v: number[]): [string, Tensor] => ["scales", float32Tensor(v)];
  await checkUpgrade([makeNode("Upsample", ["x", "scales"], ["y"], { mode: str("nearest") })], [["x", [1, 2, 3, 4]]], ["y"], 9, 13, [scales([1, 1, 2, 3])]);
  await checkUpgrade([makeNode("Upsample", ["x", "scales"], ["y"], { mode: str("linear") })], [["x", [1, 2, 3, 4]]], ["y"], 9, 13, [scales([1, 1, 2, 2.5])]);
  await checkUpgrade([makeNode("Resize", ["x", "scales"], ["y"], { mode: str("nearest") })], [["x", [1, 2, 5, 7]]], ["y"], 10, 11, [scales([1, 1, 1.5, 2])]);
  await checkUpgrade([makeNode("Resize", ["x", "scales"], ["y"], { mode: str("nearest") })], [["x", [1, 2, 10, 9]]], ["y"], 10, 13, [scales([1, 1, 0.6, 0.5])]);
  await checkUpgrade([makeNode("Resize", ["x", "scales"], ["y"], { mode: str("linear") })], [["x", [1, 2, 5, 7]]], ["y"], 10, 13, [scales([1, 1, 0.7, 1.6])]);
});

test("a training-mode BatchNormalization-9 (extra outputs) becomes training_mode=1 at 14", async () => {
  const c: [string, Tensor][] = [["s", float32Tensor([1, 2])], ["b", float32Tensor([0.5, -1])], ["m", float32Tensor([0.1, 0.2])], ["v", float32Tensor([1, 3])]];
  const { report, model } = await checkUpgrade(
    [makeNode("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv", "sm", "sv"])], [["x", [2, 2, 3]]], ["y"], 9, 15, c,
  );
  assert.deepEqual(model.graph.nodes[0]!.outputs, ["y", "rm", "rv"]);
  assert.equal(model.graph.nodes[0]!.attributes.get("training_mode")?.value, 1);
  assert.ok(report.rewritten.some((r) => r.step === 14));
});

test("what cannot be upgraded exactly is an error naming the node", () => {
  const nearestMixed = graphOf({
    nodes: [makeNode("Resize", ["x", "scales"], ["y"], { mode: str("nearest") }, "mixed_resize")],
    inputs: [floatInput("x", [1, 1, 4, 4])], outputs: [floatInput("y", [1, 1, 8, 2])],
    initializers: new Map([["scales", float32Tensor([1, 1, 2, 0.5])]]),
  });
  assert.throws(() => upgradeOpset(modelOf(nearestMixed, 10), 13), /mixed_resize.*both enlarge and shrink/);
  const unknown = graphOf({ nodes: [makeNode("FancyNewOp", ["x"], ["y"], {}, "fancy")], inputs: [floatInput("x", [1])], outputs: [floatInput("y", [1])] });
  assert.throws(() => upgradeOpset(modelOf(unknown, 9), 13), /node fancy \(FancyNewOp\).*version history/);
  assert.throws(() => upgradeOpset(modelOf(unknown, 13), 11), /downgrading/);
  assert.throws(() => upgradeOpset(modelOf(unknown, 13), 30), /not supported/);
});
