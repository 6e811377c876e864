// QAT exports the same QDQ ONNX as PTQ, and onnxruntime-node running it agrees with the fake-quant
// simulation: accuracy within 0.1 point on 1000 MNIST test images, and logits within a few output
// quantization steps (the simulation rounds once per tensor in float; ONNX Runtime's integer
// kernels requantize with fixed-point multipliers). Tiny models, a few dozen steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { loadMnist } from "../../src/data/mnist.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { trainEpoch, type LabelledImages } from "../../src/train/classifier.js";
import { Sgd } from "../../src/train/optimizers.js";
import { constantLr } from "../../src/train/schedule.js";
import { Rng } from "../../src/train/init.js";
import { Sequential, type LayerSpec } from "../../src/train/layers.js";
import { argmaxRows } from "../../src/train/loss.js";
import { constant } from "../../src/train/tape.js";
import { qat, type QatOptions } from "../../src/train/qat/qat.js";

const train = (() => {
  const raw = loadMnist("train");
  return { images: raw.images, labels: raw.labels, count: 3000, sampleDims: [1, 28, 28] } satisfies LabelledImages;
})();
const test1000 = (() => {
  const raw = loadMnist("test");
  return { images: raw.images, labels: raw.labels, count: 1000, sampleDims: [1, 28, 28] } satisfies LabelledImages;
})();

const convBn: LayerSpec[] = [
  { type: "conv2d", inChannels: 1, outChannels: 8, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], bias: false },
  { type: "batchnorm", channels: 8 },
  { type: "relu6" },
  { type: "conv2d", inChannels: 8, outChannels: 8, kernel: [3, 3], group: 8, pads: [1, 1, 1, 1], bias: false },
  { type: "batchnorm", channels: 8 },
  { type: "relu6" },
  { type: "conv2d", inChannels: 8, outChannels: 16, kernel: [1, 1], bias: false },
  { type: "batchnorm", channels: 16 },
  { type: "relu" },
  { type: "maxpool2d", kernel: [2, 2] },
  { type: "flatten" },
  { type: "linear", inFeatures: 16 * 7 * 7, outFeatures: 10 },
];

async function ortLogits(bytes: Uint8Array, level: "all" | "basic"): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, intraOpNumThreads: 1 });
  const x = test1000.images.subarray(0, 1000 * 784);
  return (await session.run({ input: new ort.Tensor("float32", x, [1000, 1, 28, 28]) })).logits!.data as Float32Array;
}

function accuracy(logits: Float32Array): number {
  const pred = argmaxRows(logits, 1000, 10);
  let correct = 0;
  for (let i = 0; i < 1000; i++) if (pred[i] === test1000.labels[i]) correct++;
  return correct / 1000;
}

async function checkExport(name: string, options: QatOptions, level: "all" | "basic"): Promise<void> {
  // One float epoch over 3000 images first: QAT fine-tunes a trained model.
  const rng = new Rng(11);
  const seq = new Sequential(convBn, rng);
  trainEpoch(seq, train, { batchSize: 32, optimizer: new Sgd([...seq.params.values()], { momentum: 0.9 }), schedule: constantLr(0.05), step: 0, rng });
  const result = await qat(seq, { train, test: test1000 }, { maxSteps: 40, batchSize: 32, lr: 0.01, calibrationBatches: 4, ...options });
  const simulated = result.qat.forward(constant(test1000.images.slice(0, 1000 * 784), [1000, 1, 28, 28]), false).data;
  const theirs = await ortLogits(encodeModel(result.model), level);
  const [accSim, accOrt] = [accuracy(simulated), accuracy(theirs)];
  assert.equal(accSim, result.simulatedAccuracy, `${name}: evaluateQat and the direct forward agree`);
  assert.ok(accSim > 0.85, `${name}: the tiny model learned something (${accSim})`);
  assert.ok(Math.abs(accSim - accOrt) <= 0.001 + 1e-12, `${name}: simulation ${accSim} vs onnxruntime ${accOrt}`);
  const outputScale = result.params.get("logits")!.scale[0]!;
  let maxSteps = 0;
  let sumSteps = 0;
  for (let i = 0; i < theirs.length; i++) {
    const d = Math.abs(theirs[i]! - simulated[i]!) / outputScale;
    maxSteps = Math.max(maxSteps, d);
    sumSteps += d;
  }
  assert.ok(sumSteps / theirs.length < 0.1, `${name}: mean |Δlogit| ${(sumSteps / theirs.length).toFixed(3)} output steps`);
  assert.ok(maxSteps <= 4, `${name}: max |Δlogit| ${maxSteps.toFixed(2)} output steps`);
  // The export is PTQ's QDQ layout: Q/DQ pairs, integer weights, int32 biases, BatchNorm folded away.
  const ops = result.model.graph.nodes.map((n) => n.opType);
  assert.ok(!ops.includes("BatchNormalization"));
  assert.ok(ops.includes("QuantizeLinear") && ops.includes("DequantizeLinear"));
  assert.ok([...result.model.graph.initializers.values()].some((t) => t.dtype === "int32"));
}

test("QAT W8A8 (EMA ranges, per-channel) export: onnxruntime = simulation", async () => {
  await checkExport("W8A8 EMA", {}, "all");
});

test("QAT W8A8 per-tensor with LSQ (learned weight and activation steps) export: onnxruntime = simulation", async () => {
  await checkExport("W8A8 LSQ per-tensor", { lsq: true, perChannel: false, freezeBatchNorm: 0.3 }, "all");
});

test("QAT W4A4 with LSQ export: onnxruntime = simulation", async () => {
  // ONNX Runtime 1.30's extended optimizations move MaxPool onto 4-bit integers, which it has no
  // kernel for; the basic level runs the QDQ graph as written.
  await checkExport("W4A4 LSQ", { lsq: true, weightType: "int4", activationType: "uint4" }, "basic");
});
