/**
 * The pieces of examples/ppocr/quantize_all.ts and the PP-OCR benchmarks that results depend on:
 * one float pass standing in for five calibrations, excluded nodes reading float tensors, the
 * composed-fold prototype's arithmetic, the memoised reference, and the width control of the
 * memory benchmark. Expectations are independent: observers fed directly, hand-built graphs,
 * hand-computed factors, the float function itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { float32Tensor } from "../../src/graph/constants.js";
import { makeNode, type Graph } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { createObserver, type Observer } from "../../src/observe/index.js";
import { planQuantization } from "../../src/plan/plan.js";
import { presetByName } from "../../src/plan/preset.js";
import { resolvePreset } from "../../src/api/quantize.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { calibrationFor, excludedNodesReadFloat, memoizedRunner, type MultiCalibration } from "../../examples/ppocr/quantize_all.js";
import { composeFolds, exportWithComposedFolds } from "../../bench/compose_folds.js";
import { toWidth } from "../../bench/calibration_rss.js";
import { modelOf, rng } from "../helpers/models.js";

const graphOf = (g: Partial<Graph> & Pick<Graph, "nodes" | "inputs" | "outputs">): Graph => ({
  name: "test", initializers: new Map(), valueInfo: new Map(), ...g,
});
const floatValue = (name: string) => ({ name, dtype: "float32" as const, shape: [1, 4] });

test("calibrationFor reproduces every method's own observer from one shared pass", () => {
  const random = rng(11);
  // Three batches with a ReLU-like zero spike, a tail and a growing range (forces histogram growth).
  const batches = [0.5, 3, 40].map((scale) => Float32Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? 0 : (random() - 0.2) * scale)));
  const multi: MultiCalibration = { samples: batches.length, seconds: 0, minmax: new Map(), movingAverage: new Map(), histogram: new Map() };
  const shared = { minmax: createObserver("minmax"), movingAverage: createObserver("moving-average"), histogram: createObserver("percentile") };
  for (const b of batches) for (const o of Object.values(shared)) o.update(b);
  multi.minmax.set("t", shared.minmax);
  multi.movingAverage.set("t", shared.movingAverage);
  multi.histogram.set("t", shared.histogram);
  for (const method of ["minmax", "moving-average", "percentile", "entropy", "mse"] as const) {
    const direct: Observer = createObserver(method);
    for (const b of batches) direct.update(b);
    const derived = calibrationFor(multi, method).observers.get("t")!;
    assert.equal(derived.method, method);
    assert.deepEqual(derived.range(), direct.range(), method);
  }
});

test("excludedNodesReadFloat rewires excluded readers to the float tensor, never folded pairs", () => {
  const scalar = (v: number): Tensor => ({ dtype: "float32", dims: [], data: Float32Array.of(v) });
  const zero: Tensor = { dtype: "uint8", dims: [], data: Uint8Array.of(128) };
  const graph = graphOf({
    inputs: [floatValue("x")],
    outputs: [floatValue("a"), floatValue("b"), floatValue("c")],
    initializers: new Map([["s", scalar(0.1)], ["z", zero], ["s_folded", scalar(0.05)]]),
    nodes: [
      makeNode("QuantizeLinear", ["x", "s", "z"], ["xq"]),
      makeNode("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
      makeNode("Relu", ["xd"], ["a"], {}, "kept_float"),
      makeNode("Sigmoid", ["xd"], ["b"], {}, "quantized_reader"),
      // A folded pair: its Q has its own scale, so its input is not the tensor the DQ stands for.
      makeNode("QuantizeLinear", ["x", "s_folded", "z"], ["fq"]),
      makeNode("DequantizeLinear", ["fq", "s", "z"], ["fd"]),
      makeNode("Neg", ["fd"], ["c"], {}, "kept_float_folded"),
    ],
  });
  const { model, rewired } = excludedNodesReadFloat(modelOf(graph), ["kept_float", "kept_float_folded"]);
  const inputsOf = (name: string) => model.graph.nodes.find((n) => n.name === name)!.inputs;
  assert.equal(rewired, 1);
  assert.deepEqual(inputsOf("kept_float"), ["x"]);
  assert.deepEqual(inputsOf("quantized_reader"), ["xd"]);
  assert.deepEqual(inputsOf("kept_float_folded"), ["fd"]);
  assert.deepEqual(graph.nodes.find((n) => n.name === "kept_float")!.inputs, ["xd"], "the input model is not modified");
});

test("memoizedRunner runs the model once per distinct input content", async () => {
  let calls = 0;
  const runner = memoizedRunner(async (t) => {
    calls++;
    return { dtype: "float32", dims: t.dims, data: Float32Array.from(t.data as Float32Array, (v) => 2 * v) };
  });
  const a = float32Tensor([1, 2, 3], [1, 3]);
  const sameContent = float32Tensor([1, 2, 3], [1, 3]);
  const otherShape = float32Tensor([1, 2, 3], [3, 1]);
  assert.deepEqual([...(await runner(a)).data as Float32Array], [2, 4, 6]);
  await runner(sameContent);
  assert.equal(calls, 1);
  await runner(otherShape);
  await runner(float32Tensor([1, 2, 4], [1, 3]));
  assert.equal(calls, 3);
});

test("toWidth crops and zero-pads the last axis (hand-computed)", () => {
  const t: Tensor = { dtype: "float32", dims: [1, 1, 2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual([...toWidth(t, 2).data as Float32Array], [1, 2, 4, 5]);
  assert.deepEqual(toWidth(t, 4).dims, [1, 1, 2, 4]);
  assert.deepEqual([...toWidth(t, 4).data as Float32Array], [1, 2, 3, 0, 4, 5, 6, 0]);
  assert.equal(toWidth(t, 3), t);
});

/**
 * x → Relu → Div 6 → Mul 2 → Add 3 → Sigmoid → y: a HardSwish-tail-like chain with a learnable
 * affine (a Sigmoid reads it, so the Add's output has a Q of its own: a Relu would absorb it).
 */
function affineChain(): Graph {
  const scalar = (v: number): Tensor => ({ dtype: "float32", dims: [], data: Float32Array.of(v) });
  return graphOf({
    inputs: [floatValue("x")],
    outputs: [floatValue("y")],
    initializers: new Map([["six", scalar(6)], ["w0", scalar(2)], ["w1", scalar(3)]]),
    nodes: [
      makeNode("Relu", ["x"], ["r"]),
      makeNode("Div", ["r", "six"], ["h"]),
      makeNode("Mul", ["w0", "h"], ["m"], {}, "mul_w0"),
      makeNode("Add", ["m", "w1"], ["a"], {}, "add_w1"),
      makeNode("Sigmoid", ["a"], ["y"]),
    ],
  });
}

test("composeFolds multiplies factors and carries offsets along a scalar chain (hand-computed)", () => {
  const graph = affineChain();
  const plan = planQuantization(graph, { preset: presetByName("ort") });
  assert.deepEqual(plan.scaleFolds.map((f) => [f.input, f.output, f.factor]), [["r", "h", 1 / 6]]);

  const withOffset = composeFolds(graph, plan, () => true);
  assert.equal(withOffset.composed, 1);
  assert.deepEqual(withOffset.absorbed, ["mul_w0", "add_w1"]);
  const f = withOffset.plan.scaleFolds[0]!;
  assert.deepEqual([f.input, f.output, f.offset], ["r", "a", 3]);
  assert.ok(Math.abs(f.factor - 2 / 6) < 1e-15);
  assert.ok(!withOffset.plan.activations.has("h") && !withOffset.plan.activations.has("m"));

  const noOffset = composeFolds(graph, plan, () => false);
  const g = noOffset.plan.scaleFolds[0]!;
  assert.deepEqual([g.input, g.output, g.offset], ["r", "m", 0]);
  assert.deepEqual(noOffset.absorbed, ["mul_w0"]);
});

test("a composed fold's QDQ model stays within its roundings' half steps of the float chain in ONNX Runtime", async () => {
  const graph = affineChain();
  const plan = planQuantization(graph, { preset: presetByName("ort") });
  // Ranges: r ∈ [0, 12] → a = r/3 + 3 ∈ [3, 7]. The offset 3 is many steps of a's scale.
  const ranges = new Map([["x", { min: -12, max: 12 }], ["r", { min: 0, max: 12 }], ["a", { min: 0, max: 7 }]]);
  const out = exportWithComposedFolds(modelOf(graph), plan, (t) => ranges.get(t)!, resolvePreset({ preset: "ort" }));
  assert.equal(out.composed, 1);
  assert.deepEqual(out.misaligned, []);
  assert.ok(!out.model.graph.nodes.some((n) => n.opType === "Mul" || n.opType === "Add" || n.opType === "Div"), "the chain is folded away");
  const step = out.params.get("a")!.scale[0]!;
  // The offset lands on an integer code of a's scale.
  assert.ok(Math.abs(3 / step - Math.round(3 / step)) < 1e-4);

  const xs = Float32Array.from({ length: 4 * 64 }, (_, i) => -10 + (22 * i) / 255);
  const session = await ort.InferenceSession.create(encodeModel(out.model), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    let worst = 0;
    for (let i = 0; i < xs.length; i += 4) {
      const x = xs.subarray(i, i + 4);
      const y = (await session.run({ x: new ort.Tensor("float32", x, [1, 4]) })).y!.data as Float32Array;
      for (let j = 0; j < 4; j++) {
        const expected = 1 / (1 + Math.exp(-((2 * Math.max(0, x[j]!)) / 6 + 3)));
        worst = Math.max(worst, Math.abs(y[j]! - expected));
      }
    }
    // Three roundings, each at most half a step: x's (scaled by the chain's factor 1/3), the fold's
    // straight onto a's grid (both then shrunk by the Sigmoid, whose slope is at most 1/4: the bound
    // ignores that), and y's own Q → DQ.
    const xStep = out.params.get("x")!.scale[0]!;
    const yStep = out.params.get("y")!.scale[0]!;
    const bound = xStep / 6 + step / 2 + yStep / 2;
    assert.ok(worst <= bound + 1e-5, `worst error ${worst}, bound ${bound}`);
    assert.ok(worst > 0, "the model does quantize");
  } finally {
    await session.release();
  }
});
