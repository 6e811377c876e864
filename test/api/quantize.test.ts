import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { quantizeModel } from "../../src/api/quantize.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Feeds } from "../../src/data/feeds.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { decodeModel } from "../../src/onnx/decode.js";
import { randomTensor, rng, smallCnn } from "../helpers/models.js";
import { withExtraOutputs } from "../../src/calibrate/expose.js";
import type { Model } from "../../src/graph/ir.js";

function batches(count: number, batch: number, seed: number): Feeds[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => ({ x: randomTensor([batch, 1, 8, 8], 1, r) }));
}

async function* source(feeds: Feeds[]): AsyncGenerator<Feeds> {
  yield* feeds;
}

async function runOrt(model: Model | Uint8Array, feeds: Feeds, names?: string[]) {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const s = await ort.InferenceSession.create(bytes);
  const input = { x: new ort.Tensor("float32", feeds.x!.data as Float32Array, feeds.x!.dims) };
  const out = names ? await s.run(input, names) : await s.run(input);
  await s.release();
  return out;
}

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

test("minmax QDQ model of a small CNN runs in onnxruntime and tracks the float outputs", async () => {
  const model = smallCnn();
  const calib = batches(4, 8, 7);
  const result = await quantizeModel(model, source(calib), { createExecutor, method: "minmax" });
  const bytes = encodeModel(result.model);
  const test = batches(1, 32, 99)[0]!;
  const ref = (await runOrt(model, test)).logits!.data as Float32Array;
  const q = (await runOrt(bytes, test)).logits!.data as Float32Array;
  let signal = 0, noise = 0;
  for (let i = 0; i < ref.length; i++) {
    signal += ref[i]! ** 2;
    noise += (ref[i]! - q[i]!) ** 2;
  }
  const sqnr = 10 * Math.log10(signal / noise);
  assert.ok(sqnr > 25, `SQNR ${sqnr.toFixed(1)} dB`);
  assert.ok(noise > 0, "quantized outputs must differ from float (quantization happened)");
});

test("weights are stored as int8 initializers and biases as int32, with per-channel DequantizeLinear", async () => {
  const model = smallCnn();
  const result = await quantizeModel(model, source(batches(2, 4, 3)), { createExecutor });
  const g = result.model.graph;
  const w1 = g.initializers.get("w1_quantized")!;
  assert.equal(w1.dtype, "int8");
  assert.deepEqual(w1.dims, [8, 1, 3, 3]);
  assert.equal(g.initializers.get("b1_quantized")!.dtype, "int32");
  const floatBytes = [...g.initializers.values()].filter((t) => t.dtype === "float32").reduce((s, t) => s + (t.data as Float32Array).byteLength, 0);
  const weightElements = [...model.graph.initializers.values()].reduce((s, t) => s + (t.data as Float32Array).length, 0);
  // Only scales remain float: far fewer bytes than the float weights.
  assert.ok(floatBytes < weightElements * 4 * 0.25, `float bytes ${floatBytes}`);
  const dq = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0] === "w1_quantized")!;
  assert.equal(dq.attributes.get("axis")?.value, 0);
  const dq3 = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0] === "w3_quantized")!;
  assert.equal(dq3.attributes.get("axis")?.value, 0, "Gemm with transB=1 has output channels on axis 0");
  // Each weight channel's largest magnitude maps to ±127 (symmetric narrow range).
  const w = model.graph.initializers.get("w1")!.data as Float32Array;
  const scale = g.initializers.get(dq.inputs[1]!)!.data as Float32Array;
  for (let c = 0; c < 8; c++) {
    const absmax = Math.max(...Array.from(w.subarray(c * 9, c * 9 + 9), Math.abs));
    assert.ok(Math.abs(scale[c]! - absmax / 127) < 1e-7 * absmax, `channel ${c}`);
  }
});

test("minmax activation params equal the observed ranges of the float model (uint8, zero point from min)", async () => {
  const model = smallCnn();
  const calib = batches(3, 8, 11);
  const result = await quantizeModel(model, source(calib), { createExecutor, method: "minmax" });
  // Independent ranges: run the float model exposing r1 (fused Conv+Relu output) and x.
  let max = -Infinity, min = Infinity;
  for (const feeds of calib) {
    const out = await runOrt(withExtraOutputs(model, ["r1"]), feeds, ["r1"]);
    for (const v of out.r1!.data as Float32Array) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
  }
  assert.equal(min, 0, "ReLU output");
  const p = result.params.get("r1")!;
  assert.equal(p.dtype, "uint8");
  assert.equal(p.zeroPoint[0], 0);
  assert.ok(Math.abs(p.scale[0]! - max / 255) < 1e-6 * max);
  // Conv output feeding the fused Relu is not quantized; the MaxPool output shares r1's params.
  assert.equal(result.params.has("c1"), false);
  assert.deepEqual(result.params.get("p1")!.scale, p.scale);
});

test("the same inputs give a byte-identical model", async () => {
  const a = await quantizeModel(smallCnn(), source(batches(2, 4, 5)), { createExecutor, method: "entropy" });
  const b = await quantizeModel(smallCnn(), source(batches(2, 4, 5)), { createExecutor, method: "entropy" });
  assert.deepEqual(encodeModel(a.model), encodeModel(b.model));
  // and the encoded model decodes to the same graph
  assert.equal(decodeModel(encodeModel(a.model)).graph.nodes.length, a.model.graph.nodes.length);
});

test("tensorrt preset: symmetric int8 activations with zero point 0", async () => {
  const result = await quantizeModel(smallCnn(), source(batches(2, 4, 5)), { createExecutor, preset: "tensorrt", method: "entropy" });
  for (const [name, p] of result.params) {
    if (result.plan.activations.has(name)) {
      assert.equal(p.dtype, "int8", name);
      assert.equal(p.zeroPoint[0], 0, name);
    }
  }
});

test("every calibration method produces a runnable model", async () => {
  for (const method of ["minmax", "moving-average", "percentile", "entropy", "mse"] as const) {
    const result = await quantizeModel(smallCnn(), source(batches(2, 8, 5)), { createExecutor, method });
    const out = await runOrt(result.model, batches(1, 4, 1)[0]!);
    assert.equal((out.logits!.data as Float32Array).length, 40, method);
  }
});

test("an empty calibration set is an error", async () => {
  await assert.rejects(quantizeModel(smallCnn(), source([]), { createExecutor }), /no samples/);
});

test("a bias too large for int32 at the weight's scale widens that channel's weight scale instead of saturating", async () => {
  const model = smallCnn();
  const w1 = model.graph.initializers.get("w1")!.data as Float32Array;
  for (let i = 9; i < 18; i++) w1[i] = 1e-9 * (i - 12); // channel 1: tiny weights
  (model.graph.initializers.get("b1")!.data as Float32Array)[1] = 0.5;
  const result = await quantizeModel(model, source(batches(2, 4, 5)), { createExecutor });
  assert.ok(result.warnings.some((w) => /w1: scale of channel\(s\) 1 widened/.test(w)), result.warnings.join("\n"));
  const g = result.model.graph;
  const bias = g.initializers.get("b1_quantized")!.data as Int32Array;
  assert.ok(Math.abs(bias[1]!) < 2 ** 31 - 1, "bias channel 1 fits int32 without saturating");
  // the dequantized bias still equals the float bias
  const dq = g.nodes.find((n) => n.inputs[0] === "b1_quantized")!;
  const scale = g.initializers.get(dq.inputs[1]!)!.data as Float32Array;
  assert.ok(Math.abs(bias[1]! * scale[1]! - 0.5) < 1e-6);
});

test("calibration through onnxruntime-web (the browser executor) finds the same ranges as onnxruntime-node", async () => {
  const { createOrtWebExecutor } = await import("../../src/calibrate/ort_web.js");
  const calib = batches(2, 4, 21);
  const web = await quantizeModel(smallCnn(), source(calib), { createExecutor: (m) => createOrtWebExecutor(m), method: "minmax" });
  const native = await quantizeModel(smallCnn(), source(calib), { createExecutor, method: "minmax" });
  for (const [name, p] of native.params) {
    const q = web.params.get(name)!;
    for (let i = 0; i < p.scale.length; i++) assert.ok(Math.abs(p.scale[i]! - q.scale[i]!) <= 1e-5 * p.scale[i]!, name);
  }
});

test("an excluded Conv reads the float activation, so onnxruntime keeps its weights float", async () => {
  const model = smallCnn();
  const result = await quantizeModel(model, source(batches(2, 4, 5)), { createExecutor, exclude: ["conv2"] });
  const g = result.model.graph;
  const conv2 = g.nodes.find((n) => n.name === "conv2")!;
  // p1 is quantized for its other readers (none here but the pool's Q), yet conv2 reads the float p1
  assert.equal(conv2.inputs[0], "p1");
  assert.equal(conv2.inputs[1], "w2", "float weights");
  assert.ok(g.initializers.get("w2")!.dtype === "float32");
  // The quantized model still matches float closely in onnxruntime (the excluded layer is exact).
  const test = batches(1, 16, 99)[0]!;
  const ref = (await runOrt(model, test)).logits!.data as Float32Array;
  const q = (await runOrt(result.model, test)).logits!.data as Float32Array;
  let signal = 0, noise = 0;
  for (let i = 0; i < ref.length; i++) { signal += ref[i]! ** 2; noise += (ref[i]! - q[i]!) ** 2; }
  // 8 calibration images: the all-int8 model measures 22.6 dB on these inputs.
  assert.ok(10 * Math.log10(signal / noise) > 20);
});

test("AdaRound composes with a bias-widened weight scale: widened channels keep nearest rounding", async () => {
  const { quantizeWithOptimizations } = await import("../../src/api/optimized_quantize.js");
  const model = smallCnn();
  const w1 = model.graph.initializers.get("w1")!.data as Float32Array;
  for (let i = 9; i < 18; i++) w1[i] = 1e-9 * (i - 12);
  (model.graph.initializers.get("b1")!.data as Float32Array)[1] = 0.5;
  const { reiterable } = await import("../../src/data/feeds.js");
  const calib = batches(2, 4, 5);
  const r = await quantizeWithOptimizations(model, reiterable(() => source(calib)), { createExecutor, adaround: { iterations: 20 } });
  assert.ok(r.warnings.some((w) => /w1: scale of channel\(s\) 1 widened/.test(w)), r.warnings.join("\n"));
  const out = (await runOrt(r.model, batches(1, 4, 1)[0]!)).logits!.data as Float32Array;
  assert.ok(out.every(Number.isFinite));
});

test("W4A4 models (opset 21, int4/uint4 tensors) run through octet's onnxruntime-node executor", async () => {
  const result = await quantizeModel(smallCnn(), source(batches(2, 4, 5)), { createExecutor, weightType: "int4", activationType: "uint4" });
  assert.ok([...result.model.graph.initializers.values()].some((t) => t.dtype === "int4"));
  const exec = await createOrtNodeExecutor(result.model);
  const out = await exec.run(batches(1, 4, 1)[0]!);
  await exec.dispose();
  assert.equal(out.get("logits")!.dims.join(), "4,10");
});
