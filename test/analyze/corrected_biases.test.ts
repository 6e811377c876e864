import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeQuantization } from "../../src/analyze/analysis.js";
import { calibrateAllTensors } from "../../src/analyze/calibrate_all.js";
import { correctedBiasesFrom, withOriginalBiases } from "../../src/analyze/corrected_biases.js";
import { outputSqnrEvaluator } from "../../src/analyze/evaluators.js";
import { quantizationUnits, unitPlan } from "../../src/analyze/layer_errors.js";
import { buildQdq, buildWithExclusions, floatReference, type QuantizationSetup } from "../../src/analyze/quantized_model.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import { makeNode, type Model } from "../../src/graph/ir.js";
import { correctBiases } from "../../src/optimize/bias_correction.js";
import { planQuantization } from "../../src/plan/plan.js";
import { presetByName } from "../../src/plan/preset.js";
import { resolveActivationParams } from "../../src/plan/resolve.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { modelOf } from "../helpers/models.js";
import { depthwiseNet, inputBatches, runOrt, sourceOf } from "../optimize/nets.js";

const f32 = (...v: number[]): Tensor => ({ dtype: "float32", dims: [v.length], data: Float32Array.from(v) });
const values = (t: Tensor | undefined): number[] => Array.from(t!.data as Float32Array);

/** Two 1×1 convs, "a" with bias ba and "b" with bias bb; only the initializers matter here. */
function twoConvs(ba: Tensor, bb: Tensor): Model {
  return modelOf({
    name: "two_convs",
    nodes: [makeNode("Conv", ["x", "wa", "ba"], ["y"], {}, "a"), makeNode("Conv", ["y", "wb", "bb"], ["z"], {}, "b")],
    inputs: [{ name: "x", dtype: "float32", shape: [1, 2, 1, 1] }],
    outputs: [{ name: "z", dtype: "float32", shape: [1, 2, 1, 1] }],
    initializers: new Map([
      ["wa", { dtype: "float32", dims: [2, 2, 1, 1], data: new Float32Array(4) }], ["ba", ba],
      ["wb", { dtype: "float32", dims: [2, 2, 1, 1], data: new Float32Array(4) }], ["bb", bb],
    ]),
    valueInfo: new Map(),
  });
}

test("original biases come back for the chosen layers only; an added bias comes back as zeros", () => {
  const before = twoConvs(f32(1, 2), f32(9, 9));
  const corrected = twoConvs(f32(0.5, 1.5), f32(0.1, -0.1));
  // "a" had its bias corrected, "b" had none before (the correction added bb).
  const biases = correctedBiasesFrom(before, [{ node: "a", bias: "ba", added: false }, { node: "b", bias: "bb", added: true }]);
  assert.deepEqual(values(biases[0]!.original), [1, 2]);
  assert.equal(biases[1]!.original, undefined);

  const onlyA = withOriginalBiases(corrected, biases, (n) => n === "a");
  assert.deepEqual(values(onlyA.graph.initializers.get("ba")), [1, 2]);
  assert.deepEqual(values(onlyA.graph.initializers.get("bb")), [0.1, -0.1].map(Math.fround));
  const all = withOriginalBiases(corrected, biases);
  assert.deepEqual(values(all.graph.initializers.get("bb")), [0, 0]);
  assert.deepEqual(all.graph.initializers.get("bb")!.dims, [2]);
  // The corrected model itself is untouched, and nothing to restore returns it as is.
  assert.deepEqual(values(corrected.graph.initializers.get("ba")), [0.5, 1.5]);
  assert.equal(withOriginalBiases(corrected, biases, () => false), corrected);
  assert.equal(withOriginalBiases(corrected, undefined), corrected);
});

test("bad inputs name the bias", () => {
  const before = twoConvs(f32(1, 2), f32(9, 9));
  assert.throws(() => correctedBiasesFrom(before, [{ node: "a", bias: "nope", added: false }]), /bias nope of a is not an initializer/);
  const model = twoConvs(f32(1, 2, 3), f32(9, 9));
  assert.throws(() => withOriginalBiases(model, [{ node: "a", bias: "ba", original: f32(1, 2) }]), /ba holds 3 values, its original 2/);
  assert.throws(() => withOriginalBiases(model, [{ node: "c", bias: "bc" }]), /no bias bc \(of c\)/);
});

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

/** A bias-corrected setup of the depthwise net (int4 weights so that corrections are large; conv1 has no bias of its own). */
async function correctedSetup(): Promise<{ model: Model; setup: QuantizationSetup }> {
  const model = depthwiseNet({ noFirstBias: true });
  const preset = presetByName("ort");
  preset.weight.dtype = "int4";
  const data = sourceOf(inputBatches(4, 8, 51));
  const plan = planQuantization(model.graph, { preset });
  const { ranges } = await calibrateAllTensors(model, data, { method: "minmax", format: preset.activation, createExecutor });
  const corrected = await correctBiases(model, plan, data, { createExecutor, activationParams: resolveActivationParams(model.graph, plan, ranges, preset) });
  return {
    model,
    setup: { model: corrected.model, plan: corrected.plan, preset, ranges, correctedBiases: correctedBiasesFrom(model, corrected.report.layers) },
  };
}

/** The float values a model's node reads as its bias: the initializer itself, or what a DequantizeLinear makes of an int32 one. */
function biasRead(m: Model, node: string): number[] {
  const n = m.graph.nodes.find((x) => x.name === node)!;
  const name = n.inputs[2]!;
  const init = m.graph.initializers.get(name);
  if (init) return Array.from(init.data as Float32Array);
  const dq = m.graph.nodes.find((x) => x.outputs[0] === name && x.opType === "DequantizeLinear")!;
  const q = m.graph.initializers.get(dq.inputs[0]!)!.data as Int32Array;
  const s = m.graph.initializers.get(dq.inputs[1]!)!.data as Float32Array;
  return Array.from(q, (v, i) => v * s[s.length === 1 ? 0 : i]!);
}

test("float layers of a bias-corrected setup read their biases from before the correction; quantized ones the corrected biases", async () => {
  const { model, setup } = await correctedSetup();
  const b2 = Array.from(model.graph.initializers.get("b2")!.data as Float32Array);
  const b3 = Array.from(model.graph.initializers.get("b3")!.data as Float32Array);
  const b2c = Array.from(setup.model.graph.initializers.get("b2")!.data as Float32Array);
  // The correction is not trivial on this net (else the test below proves nothing).
  assert.ok(b2.some((v, i) => Math.abs(v - b2c[i]!) > 1e-3), "bias correction moved b2");

  // The float reference is the model before correction: the same outputs, exactly.
  const feeds = inputBatches(1, 8, 52)[0]!;
  assert.deepEqual((await runOrt(floatReference(setup), feeds)).logits, (await runOrt(model, feeds)).logits);

  // pwconv kept float: it reads b3 as it was; dwconv stays quantized with the corrected b2 (int32, so within one step).
  const mixed = buildWithExclusions(setup, ["pwconv"]).model;
  assert.deepEqual(biasRead(mixed, "pwconv"), b3.map(Math.fround));
  const step = Math.max(...biasRead(mixed, "dwconv").map((v, i) => Math.abs(v - b2c[i]!)));
  assert.ok(step < 0.01, `dwconv reads the corrected b2 (max error ${step})`);

  // Layer-wise model of dwconv alone: conv1 is float and reads the zeros it had before the correction added a bias.
  const dw = quantizationUnits(setup.model, setup.plan).find((u) => u.name === "dwconv")!;
  const alone = buildQdq(setup, unitPlan(setup.model, setup.plan, dw)).model;
  assert.deepEqual(biasRead(alone, "conv1"), new Array(8).fill(0));
  assert.deepEqual(biasRead(alone, "pwconv"), b3.map(Math.fround));
});

test("analysis of a bias-corrected setup scores the uncorrected model as float", async () => {
  const { model, setup } = await correctedSetup();
  const data = sourceOf(inputBatches(2, 8, 53));
  // Against the model before correction, the float reference is exact: infinite SQNR.
  const evaluator = outputSqnrEvaluator(model, data, { createExecutor });
  const result = await analyzeQuantization(setup, data, { createExecutor, graphwise: false, layerwise: false, evaluator });
  assert.equal(result.scores!.float, Infinity);
  assert.ok(Number.isFinite(result.scores!.quantized));
});
