import { test } from "node:test";
import assert from "node:assert/strict";
import { prefixPercent, RECOGNISER_BLOCKS, RECOGNISER_LANDMARKS, regionLabels } from "../../examples/ppocr/mixed_precision.js";
import { packagedModelPaths } from "../../examples/ppocr/evaluate.js";
import { preparedPlan } from "../../examples/ppocr/quantize_all.js";
import { topologicalOrder } from "../../src/graph/ir.js";
import { loadModel } from "../../src/onnx/files.js";

test("a node belongs to the last region that starts at or before it", () => {
  const order = ["in", "c0", "a", "c1", "b", "c", "head"];
  const labels = regionLabels(order, [["c1", "stage 2"], ["c0", "stage 1"], ["head", "head"]]);
  assert.deepEqual([...labels], [
    ["in", "input"], ["c0", "stage 1"], ["a", "stage 1"], ["c1", "stage 2"], ["b", "stage 2"], ["c", "stage 2"], ["head", "head"],
  ]);
  assert.throws(() => regionLabels(order, [["zz", "x"]]), /landmark zz is not a node/);
  assert.throws(() => regionLabels(order, [["a", "x"], ["a", "y"]]), /two regions start at node a/);
});

test("prefix accuracy counts the first lines only", () => {
  const correct = Uint8Array.from([1, 1, 0, 1, 0, 0, 1, 1]);
  assert.equal(prefixPercent(correct), 62.5); // 5 of 8
  assert.equal(prefixPercent(correct, 4), 75); // 3 of 4
  assert.equal(prefixPercent(correct, 1), 100);
  assert.throws(() => prefixPercent(correct, 9), /prefix of 9 lines asked from 8/);
  assert.throws(() => prefixPercent(correct, 0), /prefix of 0 lines/);
});

test("the recogniser's regions follow PPLCNetV3 + SVTR neck + CTC head", () => {
  // Labelled as the runner labels them: on the prepared model (constants folded into initializers).
  const model = preparedPlan(loadModel(packagedModelPaths().rec), "ort").prepared;
  const order = topologicalOrder(model.graph);
  const labels = regionLabels(order.map((n) => n.name), RECOGNISER_LANDMARKS);
  const input = model.graph.inputs[0]!.name;
  // The stem is the conv that reads the image.
  const stem = order.find((n) => n.inputs[0] === input)!;
  assert.equal(stem.opType, "Conv");
  assert.match(labels.get(stem.name)!, /^stem/);
  // Squeeze-excite (a Conv reading a GlobalAveragePool) exists only in blocks6 of NET_CONFIG_rec.
  const producer = new Map(order.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const seConvs = order.filter((n) => n.opType === "Conv" && producer.get(n.inputs[0]!)?.opType === "GlobalAveragePool");
  assert.equal(seConvs.length, 2);
  for (const n of seConvs) assert.match(labels.get(n.name)!, /blocks6/);
  // Attention's Softmax lies in the transformer blocks; the output's producer is the head's Softmax.
  const softmaxes = order.filter((n) => n.opType === "Softmax");
  const output = model.graph.outputs[0]!.name;
  for (const n of softmaxes) assert.match(labels.get(n.name)!, n.outputs[0] === output ? /^head/ : /transformer/);
  // Depthwise convs with 5×5 kernels start in blocks5; none is in blocks2–4.
  for (const n of order.filter((x) => x.opType === "Conv")) {
    const dims = model.graph.initializers.get(n.inputs[1]!)!.dims;
    if (dims[2] === 5) assert.match(labels.get(n.name)!, /blocks[56]/, n.name);
  }
});

test("each backbone block of the recogniser starts at its depthwise conv and holds one", () => {
  const model = preparedPlan(loadModel(packagedModelPaths().rec), "ort").prepared;
  const order = topologicalOrder(model.graph);
  const blocks = regionLabels(order.map((n) => n.name), RECOGNISER_BLOCKS);
  const members = new Map<string, typeof order>();
  for (const n of order) members.set(blocks.get(n.name)!, [...(members.get(blocks.get(n.name)!) ?? []), n]);
  const backbone = [...members.keys()].filter((b) => b.startsWith("blocks"));
  // NET_CONFIG_rec: blocks2 1, blocks3 2, blocks4 2, blocks5 5, blocks6 4 LCNetV3 blocks.
  assert.equal(backbone.length, 14);
  const isDepthwise = (n: (typeof order)[number]) => n.opType === "Conv" && model.graph.initializers.get(n.inputs[1]!)!.dims[1] === 1;
  for (const b of backbone) {
    const nodes = members.get(b)!;
    assert.ok(isDepthwise(nodes[0]!), `${b} starts at a depthwise conv`);
    assert.equal(nodes.filter(isDepthwise).length, 1, b);
    // Squeeze-excite (GlobalAveragePool) only where the label says so.
    assert.equal(nodes.some((n) => n.opType === "GlobalAveragePool"), b.includes("SE"), b);
  }
  assert.deepEqual(members.get("head MatMul.24 + Softmax")!.map((n) => n.opType), ["MatMul", "Add", "Softmax"]);
});
