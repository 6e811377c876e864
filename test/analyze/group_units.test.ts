import { test } from "node:test";
import assert from "node:assert/strict";
import { calibrateAllTensors } from "../../src/analyze/calibrate_all.js";
import { outputSqnrEvaluator } from "../../src/analyze/evaluators.js";
import { groupUnits, layerwiseErrors, quantizationUnits, unitPlan, type QuantUnit } from "../../src/analyze/layer_errors.js";
import { mixedPrecision } from "../../src/analyze/mixed_precision.js";
import { buildQdq, buildWithExclusions, type QuantizationSetup } from "../../src/analyze/quantized_model.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Model } from "../../src/graph/ir.js";
import { planQuantization } from "../../src/plan/plan.js";
import { presetByName } from "../../src/plan/preset.js";
import { depthwiseNet, inputBatches, sourceOf } from "../optimize/nets.js";

const unit = (name: string, nodes: string[], opTypes: string[], weighted: boolean): QuantUnit => ({ name, nodes, opTypes, weighted });

test("units with the same group key merge in order at their first member's place; ungrouped units stay", () => {
  const units = [
    unit("conv", ["conv", "relu"], ["Conv", "Relu"], true),
    unit("add", ["add"], ["Add"], false),
    unit("mul", ["mul"], ["Mul"], false),
    unit("fc", ["fc"], ["Gemm"], true),
    unit("div", ["div"], ["Div"], false),
  ];
  const block: Record<string, string> = { conv: "block 1", add: "block 1", div: "block 1", mul: "block 2" };
  const grouped = groupUnits(units, (u) => block[u.name]);
  assert.deepEqual(grouped, [
    unit("block 1", ["conv", "relu", "add", "div"], ["Conv", "Relu", "Add", "Div"], true),
    unit("block 2", ["mul"], ["Mul"], false),
    unit("fc", ["fc"], ["Gemm"], true),
  ]);
  // The input units are not modified.
  assert.deepEqual(units[0]!.nodes, ["conv", "relu"]);
  assert.throws(() => groupUnits(units, (u) => (u.name === "add" ? "fc" : undefined)), /group fc has the name of a unit outside any group/);
});

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

test("a group is analysed and kept in float as one unit", async () => {
  const model = depthwiseNet();
  const preset = presetByName("ort");
  preset.weight.dtype = "int4";
  const data = sourceOf(inputBatches(2, 8, 61));
  const { ranges } = await calibrateAllTensors(model, data, { method: "minmax", format: preset.activation, createExecutor });
  const setup: QuantizationSetup = { model, plan: planQuantization(model.graph, { preset }), preset, ranges };
  const groupOf = (u: QuantUnit) => (u.name === "conv1" || u.name === "dwconv" ? "front" : undefined);

  // The group's plan quantizes the union of its members' tensors: x, a1 (both convs' input/output) and a2.
  const front = groupUnits(quantizationUnits(model, setup.plan), groupOf)[0]!;
  assert.deepEqual(front.nodes, ["conv1", "act1", "dwconv", "act2"]);
  const plan = unitPlan(model, setup.plan, front);
  assert.deepEqual([...plan.activations.keys()].sort(), ["a1", "a2", "x"]);
  assert.deepEqual([...plan.weights.keys()].sort(), ["w1", "w2"]);

  const layers = await layerwiseErrors(setup, data, { createExecutor, groupOf });
  assert.deepEqual(layers.map((l) => l.unit), ["front", "pwconv", "gap", "flatten", "fc"]);

  // Mixed precision over the grouped ranking, with the target set at what keeping "front" float gives:
  // the fully quantized model misses it, and "front" is kept as one unit, both convs with float weights.
  const evaluator = outputSqnrEvaluator(model, data, { createExecutor });
  const quantized = await evaluator.evaluate(buildQdq(setup).model);
  const withFrontFloat = await evaluator.evaluate(buildWithExclusions(setup, front.nodes).model);
  assert.ok(withFrontFloat > quantized + 1, `front float ${withFrontFloat} dB vs all int4 ${quantized} dB`);
  const mp = await mixedPrecision(setup, { ranking: layers, evaluator, target: { minMetric: withFrontFloat }, weightedOnly: false });
  assert.equal(mp.decision.met, true);
  assert.ok(mp.decision.float.includes("front"), `float: ${mp.decision.float.join(", ")}`);
  for (const name of ["conv1", "act1", "dwconv", "act2"]) assert.ok(mp.exclude.includes(name), name);
  for (const name of ["conv1", "dwconv"]) {
    const node = mp.built.model.graph.nodes.find((n) => n.name === name)!;
    assert.ok(mp.built.model.graph.initializers.has(node.inputs[1]!), `${name} reads its float weight`);
  }
});
