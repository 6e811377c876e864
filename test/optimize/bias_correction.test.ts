import { test } from "node:test";
import assert from "node:assert/strict";
import { quantizeModel } from "../../src/api/quantize.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Model } from "../../src/graph/ir.js";
import { correctBiases } from "../../src/optimize/bias_correction.js";
import { quantizePlannedWeights } from "../../src/optimize/planned_weights.js";
import { planQuantization } from "../../src/plan/plan.js";
import { presetByName } from "../../src/plan/preset.js";
import { qparamsFromRange } from "../../src/quant/qparams.js";
import { fakeQuantize } from "../../src/quant/quantize.js";
import { depthwiseNet, inputBatches, runOrt, sourceOf } from "./nets.js";

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

/** Per-channel mean of an NCHW tensor. */
function channelMeans(values: Float32Array, channels: number, plane: number): number[] {
  const n = values.length / (channels * plane);
  const means = new Array<number>(channels).fill(0);
  for (let i = 0; i < values.length; i++) means[Math.floor(i / plane) % channels]! += values[i]! / (n * plane);
  return means;
}

function withInitializers(model: Model, replace: Record<string, Float32Array>): Model {
  const initializers = new Map(model.graph.initializers);
  for (const [k, v] of Object.entries(replace)) initializers.set(k, { ...initializers.get(k)!, data: v });
  return { ...model, graph: { ...model.graph, initializers } };
}

/** W4 per-channel weights: large, channel-biased rounding errors. */
function w4Preset() {
  const preset = presetByName("ort");
  preset.weight.dtype = "int4";
  return preset;
}

test("after correction the first conv's mean output with quantized weights equals the float mean (checked in onnxruntime)", async () => {
  const model = depthwiseNet();
  const plan = planQuantization(model.graph, { preset: w4Preset() });
  const data = inputBatches(4, 8, 11);
  const { model: corrected, report } = await correctBiases(model, plan, sourceOf(data), { createExecutor });
  const conv1 = report.layers.find((l) => l.node === "conv1")!;
  assert.equal(conv1.added, false);
  assert.equal(report.samples, 32);

  const w1q = quantizePlannedWeights(model.graph, plan).get("w1")!.dequantized;
  const all = { x: { dtype: "float32" as const, dims: [32, 3, 8, 8], data: Float32Array.from(data.flatMap((f) => Array.from(f.x!.data as Float32Array))) } };
  const float = channelMeans((await runOrt(model, all, ["c1"])).c1!, 8, 64);
  const naive = channelMeans((await runOrt(withInitializers(model, { w1: w1q }), all, ["c1"])).c1!, 8, 64);
  const fixed = channelMeans((await runOrt(withInitializers(model, { w1: w1q, b1: corrected.graph.initializers.get("b1")!.data as Float32Array }), all, ["c1"])).c1!, 8, 64);
  const worst = (a: number[]) => Math.max(...a.map((v, c) => Math.abs(v - float[c]!)));
  assert.ok(worst(naive) > 1e-3, `4-bit weights shift the mean by ${worst(naive)}`);
  assert.ok(worst(fixed) < 1e-5, `corrected mean differs by ${worst(fixed)}`);
  // The reported shift is the measured one.
  naive.forEach((v, c) => assert.ok(Math.abs(conv1.shift[c]! - (v - float[c]!)) < 1e-5));
});

test("with the input's activation params the input quantization's mean shift is removed too", async () => {
  const model = depthwiseNet();
  const plan = planQuantization(model.graph, { preset: w4Preset() });
  const data = inputBatches(4, 8, 12);
  // A coarse 4-bit input grid clipped at 0.6: clipping shifts E[x̃] a lot.
  const qp = qparamsFromRange(-0.6, 0.6, { dtype: "uint4", symmetric: false });
  const { model: corrected, report } = await correctBiases(model, plan, sourceOf(data), { createExecutor, activationParams: new Map([["x", qp]]), nodes: ["conv1"] });
  assert.deepEqual(report.layers.map((l) => l.node), ["conv1"]);
  assert.equal(report.layers[0]!.inputQuantized, true);
  const x = Float32Array.from(data.flatMap((f) => Array.from(f.x!.data as Float32Array)));
  const float = channelMeans((await runOrt(model, { x: { dtype: "float32", dims: [32, 3, 8, 8], data: x } }, ["c1"])).c1!, 8, 64);
  const w1q = quantizePlannedWeights(model.graph, plan).get("w1")!.dequantized;
  const quantizedInput = { x: { dtype: "float32" as const, dims: [32, 3, 8, 8], data: fakeQuantize(x, qp) } };
  const fixed = channelMeans((await runOrt(withInitializers(model, { w1: w1q, b1: corrected.graph.initializers.get("b1")!.data as Float32Array }), quantizedInput, ["c1"])).c1!, 8, 64);
  for (let c = 0; c < 8; c++) assert.ok(Math.abs(fixed[c]! - float[c]!) < 1e-5, `channel ${c}: ${fixed[c]} vs ${float[c]}`);
});

test("a layer without a bias gets one, planned as int32, and the corrected model quantizes and runs", async () => {
  const model = depthwiseNet({ noFirstBias: true });
  const plan = planQuantization(model.graph, { preset: w4Preset() });
  assert.equal([...plan.biases.values()].some((b) => b.node === "conv1"), false);
  const data = inputBatches(2, 8, 13);
  const { model: corrected, plan: newPlan, report } = await correctBiases(model, plan, sourceOf(data), { createExecutor });
  const conv1 = report.layers.find((l) => l.node === "conv1")!;
  assert.equal(conv1.added, true);
  assert.equal(corrected.graph.nodes.find((n) => n.name === "conv1")!.inputs[2], conv1.bias);
  assert.equal(newPlan.biases.get(conv1.bias)!.node, "conv1");
  // The normal pipeline plans the same bias and stores it as int32.
  const q = await quantizeModel(corrected, sourceOf(data), { createExecutor, weightType: "int4" });
  assert.equal(q.plan.biases.has(conv1.bias), true);
  assert.equal(q.model.graph.initializers.get(`${conv1.bias}_quantized`)!.dtype, "int32");
  const out = await runOrt(q.model, data[0]!);
  assert.equal(out.logits!.length, 80);
  assert.equal(model.graph.nodes.find((n) => n.name === "conv1")!.inputs.length, 2, "the input model is untouched");
});

test("bad requests are rejected with the reason", async () => {
  const model = depthwiseNet();
  const plan = planQuantization(model.graph, { preset: presetByName("ort") });
  await assert.rejects(correctBiases(model, plan, sourceOf([]), { createExecutor, nodes: ["nope"] }), /no node named nope/);
  await assert.rejects(correctBiases(model, plan, sourceOf([]), { createExecutor, nodes: ["act1"] }), /act1 has no quantized weight/);
  await assert.rejects(correctBiases(model, plan, sourceOf([]), { createExecutor }), /yielded no batch/);
  await assert.rejects(correctBiases(model, plan, sourceOf([]), {} as never), /needs options.createExecutor/);
});
