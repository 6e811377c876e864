import { test } from "node:test";
import assert from "node:assert/strict";
import { quantizeModel } from "../../src/api/quantize.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import { Mulberry32 } from "../../src/data/prng.js";
import { makeNode, type Model } from "../../src/graph/ir.js";
import { adaround, layerGrams, weightMatrix } from "../../src/optimize/adaround.js";
import {
  adaroundLayer, initialV, nearestIntegers, rectifiedSigmoid, reconstructionLoss, relaxedLoss, type AdaRoundProblem,
} from "../../src/optimize/adaround_core.js";
import { linearLayer } from "../../src/optimize/linear_layer.js";
import { applyWeightOverrides } from "../../src/optimize/weight_overrides.js";
import { quantizePlannedWeights } from "../../src/optimize/planned_weights.js";
import { planQuantization } from "../../src/plan/plan.js";
import { presetByName } from "../../src/plan/preset.js";
import { qparamsFromRanges } from "../../src/quant/qparams.js";
import { modelOf, randomTensor, rng } from "../helpers/models.js";
import { depthwiseNet, inputBatches, runOrt, smoothBatches, sourceOf, sqnrDb } from "./nets.js";

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

/** A grouped conv (2 groups, 4 → 6 channels, 3×3, pad 1, stride 2) as a one-node model. */
function groupedConv(seed = 3): Model {
  const r = rng(seed);
  const ints = (v: number[]) => ({ kind: "ints" as const, value: v });
  return modelOf({
    name: "grouped",
    nodes: [makeNode("Conv", ["x", "w", "b"], ["y"], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]), group: { kind: "int", value: 2 } }, "conv")],
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 4, 7, 7] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["N", 6, 4, 4] }],
    initializers: new Map([["w", randomTensor([6, 2, 3, 3], 0.5, r)], ["b", randomTensor([6], 0.1, r)]]),
    valueInfo: new Map(),
  });
}

/** A random problem on the grouped conv, 4-bit per-channel params from the weight's ranges. */
function problemOf(model: Model, grams: Float64Array[]): AdaRoundProblem {
  const layer = linearLayer(model.graph.nodes[0]!, model.graph);
  const w = layer.weight.data as Float32Array;
  const mins = new Float32Array(6), maxs = new Float32Array(6);
  for (let i = 0; i < w.length; i++) {
    const c = layer.outIndex[i]!;
    mins[c] = Math.min(mins[c]!, w[i]!);
    maxs[c] = Math.max(maxs[c]!, w[i]!);
  }
  return { weight: w, matrix: weightMatrix(layer), qparams: qparamsFromRanges(mins, maxs, { dtype: "int4", symmetric: true, narrow: true }, 0), grams };
}

test("reconstruction loss from the Gram matrices equals the mean squared conv output difference measured in onnxruntime", async () => {
  const model = groupedConv();
  const layer = linearLayer(model.graph.nodes[0]!, model.graph);
  const data = inputBatches(2, 3, 21, [4, 7, 7]);
  // maxRows above the row count (2·3·16 = 96): every row is used, so the loss is over exactly the data.
  const { grams, rows } = await layerGrams(model, layer, sourceOf(data), createExecutor, 1000, new Mulberry32(1));
  assert.equal(rows, 96);
  const p = problemOf(model, grams);
  const q = nearestIntegers(p);
  const approx = Float32Array.from(q, (v, i) => v * p.qparams.scale[layer.outIndex[i]!]!);
  const loss = reconstructionLoss(p, approx);
  let sum = 0;
  for (const feeds of data) {
    const ref = (await runOrt(model, feeds)).y!;
    const quantized = { ...model, graph: { ...model.graph, initializers: new Map([...model.graph.initializers, ["w", { dtype: "float32" as const, dims: [6, 2, 3, 3], data: approx }]]) } };
    const out = (await runOrt(quantized, feeds)).y!;
    for (let i = 0; i < ref.length; i++) sum += (out[i]! - ref[i]!) ** 2;
  }
  // Mean over output positions (rows) of the squared error summed over channels.
  const measured = sum / rows;
  assert.ok(Math.abs(loss - measured) <= 1e-4 * measured, `${loss} vs ${measured}`);
});

test("the hand-written gradient of the relaxed AdaRound loss matches central finite differences", () => {
  const model = groupedConv(4);
  const r = rng(9);
  // A random positive semi-definite Gram per group (Σ of outer products).
  const k = 18;
  const grams = [0, 1].map(() => {
    const G = new Float64Array(k * k);
    for (let s = 0; s < 30; s++) {
      const x = Array.from({ length: k }, () => r() * 2 - 1);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) G[a * k + b]! += (x[a]! * x[b]!) / 30;
    }
    return G;
  });
  const p = problemOf(model, grams);
  // V in the interior of the rectified sigmoid (|V| < 2.3), where the loss is smooth.
  const v = Float64Array.from({ length: p.weight.length }, () => (r() * 2 - 1) * 2);
  for (const [lambda, beta] of [[0, 20], [0.05, 3.5], [0.5, 2]] as const) {
    const { gradient } = relaxedLoss(p, v, lambda, beta);
    for (let i = 0; i < v.length; i += 7) {
      const eps = 1e-5;
      const plus = Float64Array.from(v), minus = Float64Array.from(v);
      plus[i]! += eps;
      minus[i]! -= eps;
      const numeric = (relaxedLoss(p, plus, lambda, beta).loss - relaxedLoss(p, minus, lambda, beta).loss) / (2 * eps);
      assert.ok(Math.abs(numeric - gradient[i]!) <= 1e-5 + 1e-4 * Math.abs(numeric), `λ ${lambda} β ${beta} V[${i}]: analytic ${gradient[i]} vs numeric ${numeric}`);
    }
  }
});

test("asymmetric reconstruction: with x̂ = x it equals the symmetric loss; its gradient matches finite differences", () => {
  const model = groupedConv(6);
  const r = rng(10);
  const k = 18;
  const sample = () => Array.from({ length: k }, () => r() * 2 - 1);
  const gramOf = (rows: number[][], other: number[][]) => {
    const G = new Float64Array(k * k);
    rows.forEach((x, i) => { for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) G[a * k + b]! += (x[a]! * other[i]![b]!) / rows.length; });
    return G;
  };
  const xs = [0, 1].map(() => Array.from({ length: 40 }, sample));
  const noisy = xs.map((rows) => rows.map((x) => x.map((v) => v + 0.1 * (r() * 2 - 1))));
  const same = problemOf(model, xs.map((rows) => gramOf(rows, rows)));
  const sameAsym = { ...same, cross: same.grams, floatGrams: same.grams };
  const approx = Float32Array.from(nearestIntegers(same), (v, i) => v * same.qparams.scale[Math.floor(i / 18)]!);
  const a = reconstructionLoss(same, approx), b = reconstructionLoss(sameAsym, approx);
  assert.ok(Math.abs(a - b) <= 1e-9 * a, `${a} vs ${b}`);
  // x̂ ≠ x: the loss is E‖wᵀx − w̃ᵀx̂‖² computed row by row.
  const asym = { ...same, grams: noisy.map((rows) => gramOf(rows, rows)), cross: noisy.map((rows, g) => gramOf(rows, xs[g]!)), floatGrams: same.grams };
  let direct = 0;
  for (let m = 0; m < 6; m++) {
    const g = Math.floor(m / 3);
    for (let row = 0; row < 40; row++) {
      let e = 0;
      for (let c = 0; c < k; c++) e += same.weight[m * k + c]! * xs[g]![row]![c]! - approx[m * k + c]! * noisy[g]![row]![c]!;
      direct += (e * e) / 40;
    }
  }
  assert.ok(Math.abs(reconstructionLoss(asym, approx) - direct) <= 1e-9 * direct);
  const v = Float64Array.from({ length: same.weight.length }, () => (r() * 2 - 1) * 2);
  const { gradient } = relaxedLoss(asym, v, 0.05, 3);
  for (let i = 0; i < v.length; i += 5) {
    const eps = 1e-5;
    const plus = Float64Array.from(v), minus = Float64Array.from(v);
    plus[i]! += eps;
    minus[i]! -= eps;
    const numeric = (relaxedLoss(asym, plus, 0.05, 3).loss - relaxedLoss(asym, minus, 0.05, 3).loss) / (2 * eps);
    assert.ok(Math.abs(numeric - gradient[i]!) <= 1e-5 + 1e-4 * Math.abs(numeric), `V[${i}]: ${gradient[i]} vs ${numeric}`);
  }
});

test("the rectified sigmoid: h(0) = 0.5, clipped to [0, 1], and V starts at the float weight", () => {
  assert.ok(Math.abs(rectifiedSigmoid(0) - 0.5) < 1e-15);
  assert.equal(rectifiedSigmoid(-10), 0);
  assert.equal(rectifiedSigmoid(10), 1);
  const p = problemOf(groupedConv(), [new Float64Array(18 * 18), new Float64Array(18 * 18)]);
  const v = initialV(p);
  for (let i = 0; i < v.length; i++) {
    const s = p.qparams.scale[Math.floor(i / 18)]!;
    const soft = (Math.floor(Math.fround(p.weight[i]! / s)) + rectifiedSigmoid(v[i]!)) * s;
    assert.ok(Math.abs(soft - p.weight[i]!) < 1e-6, `element ${i}`);
  }
});

test("with common-mode inputs AdaRound cancels the errors nearest rounding accumulates (checked against all 4096 roundings)", () => {
  // 12 weights w_k = (n_k + f_k)·s with fractional parts f_k ∈ [0.2, 0.4): nearest rounds all down,
  // so the errors add up, and the inputs share a common component (G ≈ a·11ᵀ + b·I with a ≫ b),
  // which makes the output error ≈ a·(Σ δ)². Rounding about 30% of the weights up cancels the sum.
  const r = rng(17);
  const k = 12;
  const scale = Math.fround(0.1);
  const weight = Float32Array.from({ length: k }, (_, i) => ((i % 5) - 2 + 0.2 + 0.2 * r()) * scale);
  const rows = Array.from({ length: 256 }, () => {
    const common = r() * 2 - 1;
    return Array.from({ length: k }, () => common + 0.05 * (r() * 2 - 1));
  });
  const G = new Float64Array(k * k);
  for (const x of rows) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) G[a * k + b]! += (x[a]! * x[b]!) / rows.length;
  const p: AdaRoundProblem = {
    weight, grams: [G], qparams: { dtype: "int4", scale: Float32Array.of(scale), zeroPoint: Int32Array.of(0) },
    matrix: { outChannels: 1, groups: 1, columns: k, flat: Int32Array.from({ length: k }, (_, i) => i), channelOf: () => 0 },
  };
  let best = Infinity;
  for (let mask = 0; mask < 1 << k; mask++) {
    const approx = Array.from(weight, (w, i) => (Math.floor(Math.fround(w / scale)) + ((mask >> i) & 1)) * scale);
    best = Math.min(best, reconstructionLoss(p, approx));
  }
  const outcome = adaroundLayer(p);
  assert.ok(outcome.lossNearest > 20 * best, `nearest ${outcome.lossNearest} vs best ${best}: the case must be non-trivial`);
  assert.ok(outcome.lossAdaRound <= best * 1.5, `AdaRound ${outcome.lossAdaRound} vs best ${best}`);
  assert.equal(outcome.undecided, 0);
});

test("W4A8 depthwise net on smooth images: AdaRound weights in the QDQ model beat nearest rounding on held-out data", async () => {
  const model = depthwiseNet({ seed: 5 });
  const calib = smoothBatches(16, 8, 31);
  const held = smoothBatches(1, 64, 32)[0]!;
  const q = await quantizeModel(model, sourceOf(calib), { createExecutor, weightType: "int4" });
  const { weights, report } = await adaround(q.prepared, q.plan, sourceOf(calib), { createExecutor, seed: 1 });
  assert.deepEqual(report.layers.map((l) => l.node), ["conv1", "dwconv", "pwconv", "fc"]);
  for (const l of report.layers) assert.ok(l.lossAdaRound <= l.lossNearest, `${l.node}: ${l.lossAdaRound} > ${l.lossNearest}`);
  assert.ok(report.layers.some((l) => l.changed > 0));
  const improved = applyWeightOverrides(q.model, q.plan, weights);
  const nearest = quantizePlannedWeights(q.prepared.graph, q.plan);
  // Only integer values changed, each by at most one step from nearest.
  for (const [name, w] of weights) {
    const a = w.q.data as Int8Array, b = nearest.get(name)!.q.data as Int8Array;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1);
  }
  const ref = (await runOrt(model, held)).logits!;
  const sqnrNearest = sqnrDb(ref, (await runOrt(q.model, held)).logits!);
  const sqnrAdaRound = sqnrDb(ref, (await runOrt(improved, held)).logits!);
  assert.ok(sqnrAdaRound > sqnrNearest + 3, `AdaRound ${sqnrAdaRound.toFixed(2)} dB vs nearest ${sqnrNearest.toFixed(2)} dB`);
});

test("weight overrides with other params than the exporter's are refused", async () => {
  const model = depthwiseNet();
  const q = await quantizeModel(model, sourceOf(inputBatches(1, 4, 1)), { createExecutor });
  const w = quantizePlannedWeights(q.prepared.graph, q.plan).get("w1")!;
  const other = { ...w, qparams: { ...w.qparams, scale: w.qparams.scale.map((s) => s * 2) } };
  assert.throws(() => applyWeightOverrides(q.model, q.plan, new Map([["w1", other]])), /differ from the exported ones/);
  assert.throws(() => applyWeightOverrides(q.model, q.plan, new Map([["nope", w]])), /not a planned weight/);
  // The float model has no DequantizeLinear in front of the weight.
  assert.throws(() => applyWeightOverrides(model, q.plan, new Map([["w1", w]])), /does not read it through a DequantizeLinear/);
});

function presetPlan(model: Model) {
  return planQuantization(model.graph, { preset: presetByName("ort") });
}

test("bad AdaRound options are rejected", async () => {
  const model = depthwiseNet();
  const plan = presetPlan(model);
  await assert.rejects(adaround(model, plan, sourceOf([]), { createExecutor, iterations: -1 }), /iterations must be a non-negative integer/);
  await assert.rejects(adaround(model, plan, sourceOf([]), { createExecutor, maxRows: 0 }), /maxRows must be a positive integer/);
  await assert.rejects(adaround(model, plan, sourceOf([]), { createExecutor, nodes: ["act1"] }), /act1 has no quantized weight/);
  await assert.rejects(adaround(model, plan, sourceOf([]), { createExecutor }), /yielded no batch/);
});
