import { test } from "node:test";
import assert from "node:assert/strict";
import { makeNode, type Node } from "../../src/graph/ir.js";
import { float32Tensor } from "../../src/graph/constants.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { findActivationFusions, findHardSwishPatterns } from "../../src/graph/fusion.js";
import { prepareGraph } from "../../src/graph/passes/index.js";
import { float, floatInput, graphOf, loadPpocr, maxRelativeDifference, modelOf, randomFloats, rng, runOrt } from "./oracle.js";

const scalar = (v: number): Tensor => float32Tensor([v], []);

function graphWith(nodes: Node[], inits: [string, Tensor][], outputs = ["y"]) {
  return graphOf({ nodes, inputs: [floatInput("x", [1, 2, 4, 4])], outputs: outputs.map((o) => floatInput(o, undefined as never)), initializers: new Map(inits) });
}

test("Conv → Relu, Conv → Clip(0, 6) in both opset forms, MatMul + bias → Relu are fusions", () => {
  const w: [string, Tensor] = ["w", float32Tensor(new Array(8).fill(0.1), [4, 2, 1, 1])];
  let g = graphWith([makeNode("Conv", ["x", "w"], ["c"]), makeNode("Relu", ["c"], ["y"])], [w]);
  let f = findActivationFusions(g);
  assert.equal(f.length, 1);
  assert.equal(f[0]!.kind, "Relu");
  assert.deepEqual([f[0]!.min, f[0]!.max, f[0]!.fusedValue, f[0]!.output], [0, Infinity, "c", "y"]);

  g = graphWith([makeNode("Conv", ["x", "w"], ["c"]), makeNode("Clip", ["c", "lo", "hi"], ["y"])], [w, ["lo", scalar(0)], ["hi", scalar(6)]]);
  assert.equal(findActivationFusions(g)[0]!.kind, "Relu6");
  g = graphWith([makeNode("Conv", ["x", "w"], ["c"]), makeNode("Clip", ["c"], ["y"], { min: float(-1), max: float(1) })], [w]);
  f = findActivationFusions(g);
  assert.deepEqual([f[0]!.kind, f[0]!.min, f[0]!.max], ["Clip", -1, 1]);

  g = graphWith([makeNode("MatMul", ["x", "m"], ["mm"]), makeNode("Add", ["bias", "mm"], ["a"]), makeNode("Relu", ["a"], ["y"])],
    [["m", float32Tensor(new Array(16).fill(1), [4, 4])], ["bias", float32Tensor([1, 2, 3, 4])]]);
  f = findActivationFusions(g);
  assert.equal(f[0]!.producer.opType, "MatMul");
  assert.equal(f[0]!.biasAdd?.opType, "Add");
  assert.equal(f[0]!.fusedValue, "a");
});

test("no fusion when the conv output has another reader, is a graph output, or the bound is computed", () => {
  const w: [string, Tensor] = ["w", float32Tensor(new Array(8).fill(0.1), [4, 2, 1, 1])];
  const shared = graphWith([makeNode("Conv", ["x", "w"], ["c"]), makeNode("Relu", ["c"], ["y"]), makeNode("Neg", ["c"], ["z"])], [w], ["y", "z"]);
  assert.equal(findActivationFusions(shared).length, 0);
  const exposed = graphWith([makeNode("Conv", ["x", "w"], ["c"]), makeNode("Relu", ["c"], ["y"])], [w], ["y", "c"]);
  assert.equal(findActivationFusions(exposed).length, 0);
  const computed = graphWith([makeNode("Conv", ["x", "w"], ["c"]), makeNode("ReduceMax", ["x"], ["m"]), makeNode("Clip", ["c", "", "m"], ["y"])], [w]);
  assert.equal(findActivationFusions(computed).length, 0);
});

/** The four ways exporters write x·Clip(x + 3, 0, 6)/6, and x·HardSigmoid(x). */
const hardSwishForms: [string, Node[]][] = [
  ["x·clip / 6", [makeNode("Add", ["x", "three"], ["a"]), makeNode("Clip", ["a", "zero", "six"], ["c"]), makeNode("Mul", ["x", "c"], ["m"]), makeNode("Div", ["m", "six"], ["y"])]],
  ["clip·x · (1/6)", [makeNode("Add", ["three", "x"], ["a"]), makeNode("Clip", ["a", "zero", "six"], ["c"]), makeNode("Mul", ["c", "x"], ["m"]), makeNode("Mul", ["m", "sixth"], ["y"])]],
  ["x · (clip / 6)", [makeNode("Add", ["x", "three"], ["a"]), makeNode("Clip", ["a", "zero", "six"], ["c"]), makeNode("Div", ["c", "six"], ["d"]), makeNode("Mul", ["x", "d"], ["y"])]],
  ["x·HardSigmoid(x)", [makeNode("HardSigmoid", ["x"], ["h"], { alpha: float(1 / 6), beta: float(0.5) }), makeNode("Mul", ["x", "h"], ["y"])]],
];
const constants: [string, Tensor][] = [["three", scalar(3)], ["zero", scalar(0)], ["six", scalar(6)], ["sixth", scalar(1 / 6)]];

for (const [name, nodes] of hardSwishForms) {
  test(`HardSwish written as ${name} is found, and really is HardSwish-14 in ORT`, async () => {
    const g = graphWith(nodes, constants);
    const found = findHardSwishPatterns(g);
    assert.equal(found.length, 1);
    assert.deepEqual([found[0]!.input, found[0]!.output], ["x", "y"]);
    assert.equal(found[0]!.nodes.length, nodes.length);
    const x = randomFloats([1, 2, 4, 4], rng(3), 5);
    const pattern = await runOrt(modelOf(g, 14), { x });
    const op = await runOrt(modelOf(graphWith([makeNode("HardSwish", ["x"], ["y"])], []), 14), { x });
    assert.ok(maxRelativeDifference(op, pattern) < 1e-6);
  });
}

test("HardSigmoid gating another value, or with alpha 0.2, is not HardSwish", () => {
  const gate = graphWith([makeNode("Relu", ["x"], ["r"]), makeNode("HardSigmoid", ["r"], ["h"], { alpha: float(1 / 6), beta: float(0.5) }), makeNode("Mul", ["x", "h"], ["y"])], []);
  assert.equal(findHardSwishPatterns(gate).length, 0);
  const paddle = graphWith([makeNode("HardSigmoid", ["x"], ["h"], { alpha: float(0.2), beta: float(0.5) }), makeNode("Mul", ["x", "h"], ["y"])], []);
  assert.equal(findHardSwishPatterns(paddle).length, 0);
});

test("after preparation every PP-OCRv4 detector HardSwish follows a Conv directly", () => {
  const model = loadPpocr("det");
  prepareGraph(model, { targetOpset: 13 });
  const found = findHardSwishPatterns(model.graph);
  const producerOps = new Set(found.map((h) => model.graph.nodes.find((n) => n.outputs.includes(h.input))?.opType));
  assert.equal(found.length, 24);
  assert.deepEqual([...producerOps], ["Conv"]);
  assert.ok(findActivationFusions(model.graph).length >= 10);
});
