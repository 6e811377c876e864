/**
 * LayerNorm as one step (compile/layer_norm.ts, ops/layer_norm.ts).
 *
 * The decomposed form, with QuantizeLinear → DequantizeLinear pairs on any set of its edges, must
 * give the same bytes fused as unfused (every node its own step: the fused step reproduces each
 * rounding, float op and integer table), on both kernel backends, and agree with onnxruntime-node
 * running the same QDQ graph (the independent expectation) within one step of the output.
 * The ONNX LayerNormalization op is compared with onnxruntime-node directly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Model } from "../../src/graph/ir.js";
import { createIntegerSession } from "../../src/runtime/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { runOrt } from "./graph_builder.js";
import { ALL_EDGES, type LayerNormCase, OCTET_EDGES, decomposedLayerNorm, layerNormalizationOp } from "./layer_norm_graphs.js";

function outputStep(model: Model): number {
  const out = model.graph.outputs[0]!.name;
  const dq = model.graph.nodes.find((n) => n.outputs[0] === out && n.opType === "DequantizeLinear");
  assert.ok(dq, "the output comes from a DequantizeLinear");
  return (model.graph.initializers.get(dq.inputs[1]!)!.data as Float32Array)[0]!;
}

function same(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.dims, b.dims, `${what}: dims`);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what}: element ${i} differs (${x[i]} vs ${y[i]})`);
}

async function assertWithinOneStep(model: Model, x: Tensor, ours: Float32Array, what: string): Promise<void> {
  const theirs = (await runOrt(model, { x }))[model.graph.outputs[0]!.name]!;
  const step = outputStep(model);
  let within = 0;
  let worst = 0;
  for (let i = 0; i < ours.length; i++) {
    const steps = Math.abs(ours[i]! - theirs[i]!) / step;
    if (steps <= 1 + 1e-3) within++;
    worst = Math.max(worst, steps);
  }
  // octet runs quantized Sub/Mul/Add as integer tables (TFLite's fixed-point scheme) where
  // onnxruntime computes them in float: a rounding tie can land one step apart.
  assert.ok(within / ours.length >= 0.99, `${what}: ${within}/${ours.length} within one step of onnxruntime (worst ${worst.toFixed(2)})`);
  assert.ok(worst <= 2 + 1e-3, `${what}: an output ${worst.toFixed(2)} steps from onnxruntime`);
}

const CASES: [string, LayerNormCase][] = [
  ["octet's Q/DQ placement (PP-OCRv4 neck)", { edges: OCTET_EDGES }],
  ["Q/DQ on every edge (Pow and Sqrt as tables)", { edges: ALL_EDGES }],
  ["no Q/DQ inside, float γ and β", { edges: [], gamma: "float", beta: "float" }],
  ["no Q/DQ inside, quantized γ and β read in float", { edges: [] }],
  ["Mul(d, d) as the square, quantized (an integer Mul table)", { edges: ALL_EDGES, square: "mul" }],
  ["per-axis quantized γ (a float Mul)", { edges: OCTET_EDGES, gamma: "per-axis" }],
  ["no γ, no β: Div → Q is the output", { edges: OCTET_EDGES, gamma: "none", beta: "none" }],
  ["γ without β", { edges: OCTET_EDGES, beta: "none" }],
  ["float input (no DequantizeLinear before it)", { edges: OCTET_EDGES, input: "float" }],
  ["ε as a quantized constant", { edges: OCTET_EDGES, epsilon: "int8" }],
  ["rows of 120 as in the recogniser", { edges: OCTET_EDGES, dims: [1, 40, 120], seed: 9 }],
  ["one row of one value", { edges: OCTET_EDGES, dims: [1, 1, 1], seed: 4 }],
];

for (const [name, c] of CASES) {
  test(`decomposed LayerNorm, ${name}: one step, the same bytes as unfused, within one step of onnxruntime`, async () => {
    const { model, x } = decomposedLayerNorm(c);
    const out = model.graph.outputs[0]!.name;
    const fused = createIntegerSession(model, { kernels: "wasm" });
    const unfused = createIntegerSession(model, { kernels: "wasm", fusions: { layerNorm: false } });
    const reference = createIntegerSession(model, { kernels: "reference" });
    try {
      const ops = fused.report.steps.map((s) => s.opType);
      assert.equal(ops.filter((o) => o === "LayerNorm").length, 1, `steps: ${ops.join(", ")}`);
      for (const piece of ["ReduceMean", "Sub", "Pow", "Sqrt", "Div"]) assert.ok(!ops.includes(piece), `${piece} left as a step: ${ops.join(", ")}`);
      assert.ok(unfused.report.steps.some((s) => s.opType === "ReduceMean"), "unfused compiles the pieces");
      const ours = fused.run({ x })[out]!;
      same(ours, unfused.run({ x })[out]!, "fused vs unfused");
      same(ours, reference.run({ x })[out]!, "wasm vs reference backend");
      await assertWithinOneStep(model, x, ours.data as Float32Array, name);
    } finally {
      fused.dispose();
      unfused.dispose();
      reference.dispose();
    }
  });
}

test("decomposed LayerNorm whose mean is also a graph output is not fused, and still agrees", async () => {
  const { model, x } = decomposedLayerNorm({ edges: OCTET_EDGES });
  const mean = model.graph.nodes.find((n) => n.opType === "ReduceMean")!.outputs[0]!;
  model.graph.outputs.push({ name: mean, dtype: "float32" });
  const session = createIntegerSession(model, { kernels: "wasm" });
  try {
    assert.ok(!session.report.steps.some((s) => s.opType === "LayerNorm"));
    const ours = session.run({ x });
    const theirs = await runOrt(model, { x });
    const m = ours[mean]!.data as Float32Array;
    for (let i = 0; i < m.length; i++) assert.ok(Math.abs(m[i]! - theirs[mean]![i]!) <= 1e-6, `mean ${i}`);
    await assertWithinOneStep(model, x, ours[model.graph.outputs[0]!.name]!.data as Float32Array, "unfused");
  } finally {
    session.dispose();
  }
});

test("a fused LayerNorm fed rows of another width fails naming LayerNorm and the widths", () => {
  const { model } = decomposedLayerNorm({ edges: OCTET_EDGES, dims: [2, 3, 8] });
  model.graph.inputs[0]!.shape = ["N", 3, "W"];
  const session = createIntegerSession(model, { kernels: "wasm" });
  try {
    const x: Tensor = { dtype: "float32", dims: [2, 3, 5], data: new Float32Array(30).fill(0.5) };
    assert.throws(() => session.run({ x }), /LayerNorm.*5 values.*8/);
  } finally {
    session.dispose();
  }
});

for (const axis of [-1, -2]) {
  test(`LayerNormalization (opset 17, axis ${axis}) in float: one step, equal to onnxruntime within float rounding`, async () => {
    const { model, x } = layerNormalizationOp({ quantized: false, axis });
    const session = createIntegerSession(model, { kernels: "wasm" });
    try {
      assert.deepEqual(session.report.steps.map((s) => s.opType), ["LayerNormalization"]);
      const ours = session.run({ x })[model.graph.outputs[0]!.name]!.data as Float32Array;
      const theirs = (await runOrt(model, { x }))[model.graph.outputs[0]!.name]!;
      for (let i = 0; i < ours.length; i++) {
        assert.ok(Math.abs(ours[i]! - theirs[i]!) <= 2e-6 * Math.max(1, Math.abs(theirs[i]!)), `element ${i}: ${ours[i]} vs ${theirs[i]}`);
      }
    } finally {
      session.dispose();
    }
  });

  test(`LayerNormalization (opset 17, axis ${axis}) between DequantizeLinear and QuantizeLinear reads and writes 8-bit, within one step of onnxruntime`, async () => {
    const { model, x } = layerNormalizationOp({ quantized: true, axis });
    const session = createIntegerSession(model, { kernels: "wasm" });
    try {
      assert.deepEqual(session.report.steps.map((s) => s.opType), ["QuantizeLinear", "LayerNormalization", "DequantizeLinear"]);
      const ours = session.run({ x })[model.graph.outputs[0]!.name]!.data as Float32Array;
      await assertWithinOneStep(model, x, ours, "LayerNormalization");
    } finally {
      session.dispose();
    }
  });
}
