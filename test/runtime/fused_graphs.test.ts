/**
 * Small QDQ graphs through the whole engine, for the step-level fusions and fast paths that the
 * PP-OCR recogniser and the LeNet use: the classification head (a bias Add, the integer Softmax,
 * the output's DequantizeLinear: one step on the WebAssembly backend), attention-shaped Softmax
 * with requantized output params, Transpose/Slice of 8-bit values, and Conv → MaxPool as one step.
 * Each is compared with the reference backend (which fuses none of it), with the same backend
 * unfused, and with onnxruntime-node.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Model } from "../../src/graph/ir.js";
import { createIntegerSession } from "../../src/runtime/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { rng } from "../helpers/models.js";
import { GraphBuilder, int, ints, paramsForRange, runOrt } from "./graph_builder.js";

function randomInput(dims: number[], scale: number, seed: number): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: "float32", dims, data: Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale) };
}

function same(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.dims, b.dims, `${what}: dims`);
  for (let i = 0; i < b.data.length; i++) if (a.data[i] !== b.data[i]) assert.fail(`${what}: element ${i} is ${a.data[i]}, expected ${b.data[i]}`);
}

/** Runs the model on the WebAssembly backend fused and unfused and on the reference backend: all equal. */
function runAllWays(model: Model, x: Tensor): { output: Tensor; steps: string[] } {
  const out = model.graph.outputs[0]!.name;
  const fused = createIntegerSession(model, { kernels: "wasm" });
  const unfused = createIntegerSession(model, { kernels: "wasm", fusions: { softmax: false, layerNorm: false, maxPool: false } });
  const reference = createIntegerSession(model, { kernels: "reference" });
  try {
    const output = fused.run({ x })[out]!;
    same(output, unfused.run({ x })[out]!, "fused vs unfused");
    same(output, reference.run({ x })[out]!, "wasm vs reference backend");
    return { output, steps: fused.report.steps.map((s) => s.opType) };
  } finally {
    fused.dispose();
    unfused.dispose();
    reference.dispose();
  }
}

async function withinOneStepOfOrt(model: Model, x: Tensor, ours: Float32Array, step: number, what: string): Promise<void> {
  const theirs = (await runOrt(model, { x }))[model.graph.outputs[0]!.name]!;
  let within = 0;
  for (let i = 0; i < ours.length; i++) if (Math.abs(ours[i]! - theirs[i]!) <= step * (1 + 1e-3)) within++;
  // The integer Softmax's exp table and the integer Add differ from float by at most a step here and there.
  assert.ok(within / ours.length >= 0.99, `${what}: ${within}/${ours.length} within one step of onnxruntime`);
}

for (const [width, label] of [[700, "long rows (histogram)"], [23, "short rows"]] as const) {
  test(`classification head (bias Add → Softmax → DequantizeLinear), ${label}: one step, same values as unfused and reference, within one step of onnxruntime`, async () => {
    const b = new GraphBuilder(13);
    const x = b.qdq(b.input("x", ["N", 4, width]), paramsForRange(-4, 4));
    const r = rng(width);
    const bias = b.quantizedConstant(Float32Array.from({ length: width }, () => (r() - 0.5) * 3), [width], "uint8");
    const logits = b.qdq(b.op("Add", [x, bias.name]), paramsForRange(-6, 6));
    const outParams = { scale: 1 / 256, zeroPoint: 0, dtype: "uint8" as const };
    const y = b.qdq(b.op("Softmax", [logits], { axis: int(-1) }), outParams);
    b.output(y);
    const model = b.model();
    const input = randomInput([3, 4, width], 4, width + 1);
    const { output, steps } = runAllWays(model, input);
    assert.deepEqual(steps, ["QuantizeLinear", "Add+Softmax+DequantizeLinear"]);
    await withinOneStepOfOrt(model, input, output.data as Float32Array, outParams.scale, label);
  });
}

test("attention-shaped Softmax [2, 4, 10, 10] with requantized output params (1/255): same values fused, unfused and on the reference backend", async () => {
  const b = new GraphBuilder(13);
  const x = b.qdq(b.input("x", ["N", 4, 10, 10]), paramsForRange(-5, 5, "int8"));
  const outParams = { scale: 1 / 255, zeroPoint: -128, dtype: "int8" as const };
  const y = b.qdq(b.op("Softmax", [x], { axis: int(-1) }), outParams);
  b.output(y);
  const model = b.model();
  const input = randomInput([2, 4, 10, 10], 5, 77);
  const { output, steps } = runAllWays(model, input);
  assert.deepEqual(steps, ["QuantizeLinear", "Softmax+DequantizeLinear"]);
  // The fixed-params integer Softmax requantized to 1/255: two roundings, so up to a step more.
  const theirs = (await runOrt(model, { x: input }))[model.graph.outputs[0]!.name]!;
  const ours = output.data as Float32Array;
  for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i]! - theirs[i]!) <= 2 * outParams.scale + 1e-6, `element ${i}: ${ours[i]} vs ${theirs[i]}`);
});

test("Transpose and Slice of 8-bit values (the recogniser's attention split) move exactly what onnxruntime moves", async () => {
  const b = new GraphBuilder(13);
  const p = paramsForRange(-3, 3);
  const x = b.qdq(b.input("x", [1, 6, 3, 2, 5]), p);
  const t = b.qdq(b.op("Transpose", [x], { perm: ints([2, 0, 3, 1, 4]) }), p);
  const s1 = b.op("Slice", [t, b.ints64([1]), b.ints64([2]), b.ints64([0])]);
  const s2 = b.op("Slice", [b.qdq(s1, p), b.ints64([4, 3]), b.ints64([-100, 0]), b.ints64([-1, 3]), b.ints64([-2, -1])]);
  b.output(b.qdq(s2, p));
  const model = b.model();
  const input = randomInput([1, 6, 3, 2, 5], 3, 5);
  const { output, steps } = runAllWays(model, input);
  assert.ok(steps.includes("Transpose") && steps.filter((s) => s === "Slice").length === 2, steps.join(", "));
  const theirs = (await runOrt(model, { x: input }))[model.graph.outputs[0]!.name]!;
  assert.deepEqual(output.dims, [1, 1, 2, 3, 3]);
  assert.deepEqual(Array.from(output.data as Float32Array), Array.from(theirs));
});

test("Conv → Relu → MaxPool → Sigmoid is one step (pooled sums, then the output stage and the table); same values unfused, on the reference backend, within one step of onnxruntime", async () => {
  const b = new GraphBuilder(13);
  const x = b.qdq(b.input("x", ["N", 3, 13, 14]), paramsForRange(-2, 2));
  const r = rng(5);
  const w = b.quantizedConstant(Float32Array.from({ length: 6 * 3 * 9 }, () => (r() - 0.5) * 0.6), [6, 3, 3, 3]);
  const conv = b.qdq(b.op("Relu", [b.op("Conv", [x, w.name], { pads: ints([1, 1, 1, 1]) })]), paramsForRange(0, 3));
  const pooled = b.qdq(b.op("MaxPool", [conv], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }), paramsForRange(0, 3));
  const outParams = { scale: 1 / 256, zeroPoint: 0, dtype: "uint8" as const };
  b.output(b.qdq(b.op("Sigmoid", [pooled]), outParams));
  const model = b.model();
  const input = randomInput([2, 3, 13, 14], 2, 9);
  const { output, steps } = runAllWays(model, input);
  assert.equal(steps.length, 3, steps.join(", "));
  assert.match(steps[1]!, /^Conv\+MaxPool\+/, steps.join(", "));
  assert.deepEqual(output.dims, [2, 6, 6, 7]);
  await withinOneStepOfOrt(model, input, output.data as Float32Array, outParams.scale, "conv + max pool");
});

test("1-D Conv → MaxPool with padding is fused; a convolution whose output is also read elsewhere is not", async () => {
  const b = new GraphBuilder(13);
  const p = paramsForRange(-3, 3);
  const x = b.qdq(b.input("x", ["N", 4, 30]), p);
  const r = rng(6);
  const w = b.quantizedConstant(Float32Array.from({ length: 5 * 4 * 3 }, () => (r() - 0.5) * 0.8), [5, 4, 3]);
  const conv = b.qdq(b.op("Conv", [x, w.name]), p);
  b.output(b.qdq(b.op("MaxPool", [conv], { kernel_shape: ints([3]), strides: ints([2]), pads: ints([1, 1]) }), p));
  const model = b.model();
  const input = randomInput([1, 4, 30], 3, 10);
  const { output, steps } = runAllWays(model, input);
  assert.ok(steps.includes("Conv+MaxPool"), steps.join(", "));
  assert.deepEqual(output.dims, [1, 5, 14]);
  await withinOneStepOfOrt(model, input, output.data as Float32Array, p.scale, "1-D conv + max pool");

  const shared = new GraphBuilder(13);
  const xs = shared.qdq(shared.input("x", ["N", 4, 30]), p);
  const ws = shared.quantizedConstant(Float32Array.from({ length: 5 * 4 * 3 }, () => (r() - 0.5) * 0.8), [5, 4, 3]);
  const cs = shared.qdq(shared.op("Conv", [xs, ws.name]), p);
  shared.output(shared.qdq(shared.op("MaxPool", [cs], { kernel_shape: ints([2]), strides: ints([2]) }), p));
  shared.output(cs);
  const second = runAllWays(shared.model(), input);
  assert.ok(second.steps.includes("Conv") && second.steps.includes("MaxPool"), second.steps.join(", "));
});
