// The opset a quantized model is written at must be able to hold its formats: ONNX added
// INT4/UINT4 and INT16/UINT16 QuantizeLinear/DequantizeLinear in opset 21, per-channel
// DequantizeLinear (axis) in 13.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { quantizeModel } from "../../src/api/quantize.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Feeds } from "../../src/data/feeds.js";
import { onnxOpset, type Model } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { presetByName, requiredOpset } from "../../src/plan/preset.js";
import { randomTensor, rng, smallCnn } from "../helpers/models.js";

test("requiredOpset: 21 for 4- and 16-bit formats, 13 for per-channel weights, else 10", () => {
  const ort8 = presetByName("ort");
  assert.equal(requiredOpset(ort8), 13);
  assert.equal(requiredOpset({ ...ort8, weight: { ...ort8.weight, perChannel: false } }), 10);
  for (const dtype of ["int16", "uint16", "int4", "uint4"] as const) {
    assert.equal(requiredOpset({ ...ort8, activation: { ...ort8.activation, dtype } }), 21, `activations ${dtype}`);
    assert.equal(requiredOpset({ ...ort8, weight: { ...ort8.weight, dtype, perChannel: false } }), 21, `weights ${dtype}`);
  }
});

test("int16 activations: the model is written at opset 21 and onnxruntime runs it close to float", async () => {
  const model = smallCnn();
  const r = rng(4);
  const feeds: Feeds[] = Array.from({ length: 4 }, () => ({ x: randomTensor([4, 1, 8, 8], 1, r) }));
  const result = await quantizeModel(model, (async function* () { yield* feeds; })(), {
    createExecutor: (m: Model) => createOrtNodeExecutor(m), method: "minmax", activationType: "int16",
  });
  assert.equal(onnxOpset(result.model), 21);
  assert.ok(result.model.graph.nodes.some((n) => n.opType === "QuantizeLinear"));
  const run = async (m: Model) => {
    const s = await ort.InferenceSession.create(encodeModel(m));
    const x = feeds[0]!.x!;
    const out = await s.run({ x: new ort.Tensor("float32", x.data as Float32Array, x.dims) });
    await s.release();
    return Object.values(out)[0]!.data as Float32Array;
  };
  const [float, quantized] = [await run(model), await run(result.model)];
  let signal = 0, noise = 0;
  float.forEach((v, i) => { signal += v * v; noise += (v - quantized[i]!) ** 2; });
  // int8 weights bound the error; 16-bit activations add almost nothing: well above int8's ~30–40 dB.
  assert.ok(10 * Math.log10(signal / noise) > 30, `SQNR ${10 * Math.log10(signal / noise)} dB`);
});
