import { test } from "node:test";
import assert from "node:assert/strict";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Model } from "../../src/graph/ir.js";
import { analyzeQuantization } from "../../src/analyze/analysis.js";
import { calibrateAllTensors, floatTensors } from "../../src/analyze/calibrate_all.js";
import { outputSqnrEvaluator } from "../../src/analyze/evaluators.js";
import { dequantizedTwins, graphwiseErrors } from "../../src/analyze/graph_errors.js";
import { layerwiseErrors, quantizationUnits, sensitivityRanking, unitPlan } from "../../src/analyze/layer_errors.js";
import { quantizeWithOptimizations } from "../../src/api/optimized_quantize.js";
import { buildQdq, type QuantizationSetup } from "../../src/analyze/quantized_model.js";
import { planQuantization } from "../../src/plan/plan.js";
import { presetByName } from "../../src/plan/preset.js";
import { fakeQuantize } from "../../src/quant/quantize.js";
import { depthwiseNet, inputBatches, runOrt, sourceOf, sqnrDb } from "../optimize/nets.js";

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

async function setupOf(model: Model, weightType: "int8" | "int4" = "int8"): Promise<QuantizationSetup> {
  const preset = presetByName("ort");
  preset.weight.dtype = weightType;
  const { ranges } = await calibrateAllTensors(model, sourceOf(inputBatches(4, 8, 41)), { method: "minmax", format: preset.activation, createExecutor });
  return { model, plan: planQuantization(model.graph, { preset }), preset, ranges };
}

test("every float tensor is calibrated once; each quantized activation maps to its DequantizeLinear output", async () => {
  const model = depthwiseNet();
  assert.deepEqual(floatTensors(model), ["x", "c1", "a1", "c2", "a2", "c3", "a3", "gap", "flat", "logits"]);
  const setup = await setupOf(model);
  assert.deepEqual([...setup.ranges.keys()].sort(), floatTensors(model).sort());
  const built = buildQdq(setup);
  const twins = dequantizedTwins(model, built.model);
  assert.deepEqual([...twins.keys()].sort(), [...setup.plan.activations.keys()].sort());
  // The graph output keeps its name on the DQ output.
  assert.equal(twins.get("logits"), "logits");
  const dq = built.model.graph.nodes.find((n) => n.outputs[0] === twins.get("a1"))!;
  assert.equal(dq.opType, "DequantizeLinear");
});

test("graph-wise: the input's accumulated error is its own quantization error, and the output error is the model's", async () => {
  const model = depthwiseNet();
  const setup = await setupOf(model);
  const built = buildQdq(setup);
  const data = inputBatches(2, 8, 42);
  const g = await graphwiseErrors(model, built.model, built.params, sourceOf(data), { createExecutor });
  assert.equal(g.samples, 16);
  assert.deepEqual(g.tensors.map((t) => t.tensor), ["x", "a1", "a2", "a3", "gap", "flat", "logits"]);
  // x: onnxruntime's Q→DQ of the input equals octet's fakeQuantize of it.
  const x = g.tensors[0]!;
  assert.equal(x.producer, undefined);
  const all = Float32Array.from(data.flatMap((f) => Array.from(f.x!.data as Float32Array)));
  assert.ok(Math.abs(x.sqnr - sqnrDb(all, fakeQuantize(all, built.params.get("x")!))) < 1e-6, `${x.sqnr}`);
  assert.ok(Math.abs(x.sqnr - x.ownSqnr) < 1e-6);
  // Later tensors carry upstream error too.
  const a3 = g.tensors.find((t) => t.tensor === "a3")!;
  assert.equal(a3.producer, "act3");
  assert.ok(a3.sqnr < a3.ownSqnr, `a3 accumulated ${a3.sqnr} vs own ${a3.ownSqnr}`);
  // The output metrics agree with running the plain QDQ model (fused kernels: requantization rounding only).
  let ref: number[] = [], got: number[] = [];
  for (const f of data) {
    ref = ref.concat(Array.from((await runOrt(model, f)).logits!));
    got = got.concat(Array.from((await runOrt(built.model, f)).logits!));
  }
  assert.ok(Math.abs(g.outputs[0]!.sqnr - sqnrDb(ref, got)) < 0.5, `${g.outputs[0]!.sqnr} vs ${sqnrDb(ref, got)}`);
});

test("layer-wise: each unit's model quantizes exactly that unit's tensors; the ranking sorts by output SQNR", async () => {
  const model = depthwiseNet();
  const setup = await setupOf(model, "int4");
  const units = quantizationUnits(model, setup.plan);
  assert.deepEqual(units.map((u) => u.name), ["conv1", "dwconv", "pwconv", "gap", "flatten", "fc"]);
  assert.deepEqual(units[0]!.nodes, ["conv1", "act1"]);
  const sub = unitPlan(model, setup.plan, units[1]!);
  assert.deepEqual([...sub.activations.keys()].sort(), ["a1", "a2"]);
  assert.deepEqual([...sub.weights.keys()], ["w2"]);
  assert.deepEqual([...sub.biases.keys()], ["b2"]);
  const built = buildQdq(setup, sub);
  assert.equal(built.model.graph.nodes.filter((n) => n.opType === "QuantizeLinear").length, 2);
  assert.equal(built.model.graph.nodes.filter((n) => n.opType === "DequantizeLinear").length, 4);

  const data = sourceOf(inputBatches(2, 8, 43));
  const layers = await layerwiseErrors(setup, data, { createExecutor });
  assert.equal(layers.length, 6);
  // Each unit alone loses less than the whole quantized model.
  const full = await graphwiseErrors(model, buildQdq(setup).model, buildQdq(setup).params, data, { createExecutor });
  for (const l of layers) assert.ok(l.sqnr > full.outputs[0]!.sqnr, `${l.unit}: ${l.sqnr} vs full ${full.outputs[0]!.sqnr}`);
  const ranking = sensitivityRanking(layers);
  for (let i = 1; i < ranking.length; i++) assert.ok(ranking[i - 1]!.sqnr <= ranking[i]!.sqnr);
  await assert.rejects(layerwiseErrors(setup, data, { createExecutor, units: ["act1"] }), /act1 is not a quantized unit/);
});

test("analysis with a target keeps the fewest units float that reach it, and the chosen model meets it", async () => {
  const model = depthwiseNet();
  const setup = await setupOf(model, "int4");
  const data = sourceOf(inputBatches(2, 8, 44));
  const evaluator = outputSqnrEvaluator(model, data, { createExecutor });
  const quantized = await evaluator.evaluate(buildQdq(setup).model);
  const target = quantized + 6; // demand 6 dB more than full W4 quantization gives
  const result = await analyzeQuantization(setup, data, { createExecutor, graphwise: false, mixedPrecision: { evaluator, target: { minMetric: target } } });
  const mp = result.mixedPrecision!;
  assert.equal(mp.decision.met, true);
  assert.ok(mp.decision.float.length >= 1 && mp.decision.float.length < 4);
  assert.ok(mp.decision.metric >= target);
  assert.ok(await evaluator.evaluate(mp.built.model) >= target);
  // The excluded convs read float weights in the chosen model; the others read DequantizeLinear outputs.
  for (const unit of ["conv1", "dwconv", "pwconv", "fc"]) {
    const node = mp.built.model.graph.nodes.find((n) => n.name === unit)!;
    assert.equal(mp.built.model.graph.initializers.has(node.inputs[1]!), mp.decision.float.includes(unit), unit);
  }
  // Minimality: quantizing any single float unit again misses the target.
  for (const unit of mp.decision.float) {
    const step = mp.decision.steps.find((s) => s.phase === "prune" && s.unit === unit)!;
    assert.equal(step.meetsTarget, false);
    assert.match(mp.decision.reasons[unit]!, /below the threshold/);
  }
  assert.equal(result.scores!.metric, "output SQNR (dB)");
  assert.equal(result.scores!.float, Infinity);
});

test("the optimizing pipeline composes CLE, AdaRound and bias correction and reports each", async () => {
  const model = depthwiseNet({ spread: 1.5 });
  const data = sourceOf(inputBatches(4, 8, 45));
  const r = await quantizeWithOptimizations(model, data, { createExecutor, weightType: "int4", perChannel: false, cle: true, adaround: { iterations: 50 }, biasCorrection: true });
  assert.equal(r.optimizations.cle!.pairs.length, 3);
  assert.equal(r.optimizations.adaround!.layers.length, 4);
  assert.equal(r.optimizations.biasCorrection!.layers.length, 4);
  // The QDQ model holds AdaRound's integers.
  const conv1 = r.model.graph.nodes.find((n) => n.name === "conv1")!;
  const dq = r.model.graph.nodes.find((n) => n.outputs[0] === conv1.inputs[1])!;
  const stored = Array.from(r.model.graph.initializers.get(dq.inputs[0]!)!.data as Int8Array);
  const w = r.setup.weightOverrides!.get("w1")!;
  assert.deepEqual(stored, Array.from(w.q.data as Int8Array));
  const out = await runOrt(r.model, inputBatches(1, 4, 46)[0]!);
  assert.equal(out.logits!.length, 40);
});
