// BatchNorm folding during training: with quantization off, the folded layer (w·γ/σ_run, output
// divided back and normalised with batch statistics) computes what Conv → BatchNorm computes, in
// training mode (outputs, every gradient, running statistics) and in inference mode; the folding
// ops' gradients match finite differences; the folded ONNX model matches the unfolded one in
// onnxruntime.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { encodeModel } from "../../src/onnx/encode.js";
import { referenceKernels } from "../../src/kernels/float/kernels.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { GraphModel } from "../../src/train/graph-model.js";
import { Rng } from "../../src/train/init.js";
import { Sequential, type LayerSpec } from "../../src/train/layers.js";
import { softmaxCrossEntropy } from "../../src/train/loss.js";
import { backward, constant } from "../../src/train/tape.js";
import { foldedModel, foldedParts } from "../../src/train/qat/bn_fold.js";
import { scaleChannels } from "../../src/train/qat/channel_scale.js";
import { QatModel } from "../../src/train/qat/qat_model.js";
import { gradCheck, randomInput } from "./gradcheck.js";

useFloatKernels(referenceKernels);

const specs: LayerSpec[] = [
  { type: "conv2d", inChannels: 2, outChannels: 3, kernel: [3, 3], pads: [1, 1, 1, 1] },
  { type: "batchnorm", channels: 3 },
  { type: "relu6" },
  { type: "conv2d", inChannels: 3, outChannels: 3, kernel: [3, 3], group: 3, strides: [2, 2], bias: false },
  { type: "batchnorm", channels: 3 },
  { type: "flatten" },
  { type: "linear", inFeatures: 3 * 2 * 2, outFeatures: 4 },
];

/** A small model whose BatchNorms have non-trivial γ, β and running statistics. */
function model(seed = 5) {
  const rng = new Rng(seed);
  const seq = new Sequential(specs, rng);
  for (const [name, p] of seq.params) if (/^\d+\.(scale|bias)$/.test(name) && seq.batchNorms.has(Number(name.split(".")[0]))) p.data.set(p.data.map(() => 0.5 + rng.uniform()));
  for (const bn of seq.batchNorms.values()) {
    bn.runningMean.set(bn.runningMean.map(() => rng.uniform() - 0.5));
    bn.runningVar.set(bn.runningVar.map(() => 0.3 + rng.uniform()));
  }
  return sequentialToModel(seq, { sampleDims: [2, 5, 5] });
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rtol = 1e-4): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= rtol * scale, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

const rng = new Rng(9);
const x = Float32Array.from({ length: 4 * 2 * 5 * 5 }, () => rng.uniform() * 2 - 1);
const labels = Int32Array.of(0, 1, 2, 3);

test("folded BatchNorm in training mode = Conv → BatchNorm with batch statistics (outputs, gradients, running statistics)", () => {
  const m = model();
  const qat = QatModel.create(m, {});
  qat.mode = "float";
  assert.equal(qat.pairs.length, 2);
  const plain = new GraphModel(m);
  const yFolded = qat.forward(constant(x, [4, 2, 5, 5]), true);
  const yPlain = plain.forward(constant(x, [4, 2, 5, 5]), { training: true });
  close(yFolded.data, yPlain.data, "output");
  backward(softmaxCrossEntropy(yFolded, labels));
  backward(softmaxCrossEntropy(yPlain, labels));
  for (const [name, p] of plain.params) close(qat.net.param(name).grad!, p.grad!, `∂loss/∂${name}`, 2e-4);
  for (const [node, bn] of plain.batchNorms) {
    close(qat.net.batchNorms.get(node)!.runningMean, bn.runningMean, `${node} running mean`);
    close(qat.net.batchNorms.get(node)!.runningVar, bn.runningVar, `${node} running var`);
  }
});

test("folded BatchNorm in inference mode (and once frozen) = Conv → BatchNorm with running statistics", () => {
  const m = model(6);
  const qat = QatModel.create(m, {});
  qat.mode = "float";
  const plain = new GraphModel(m);
  const want = plain.forward(constant(x, [4, 2, 5, 5]), { training: false }).data;
  close(qat.forward(constant(x, [4, 2, 5, 5]), false).data, want, "inference");
  qat.batchNormFrozen = true;
  close(qat.forward(constant(x, [4, 2, 5, 5]), true).data, want, "frozen, training");
});

test("the folded ONNX model (BatchNorm gone) matches the unfolded one in onnxruntime", async () => {
  const m = model(7);
  const qat = QatModel.create(m, {});
  const folded = foldedModel(qat.net.toModel(), qat.net, qat.pairs);
  assert.ok(!folded.graph.nodes.some((n) => n.opType === "BatchNormalization"));
  const run = async (mm: typeof m) => {
    const s = await ort.InferenceSession.create(encodeModel(mm));
    return (await s.run({ input: new ort.Tensor("float32", x, [4, 2, 5, 5]) })).logits!.data as Float32Array;
  };
  close(await run(folded), await run(m), "onnxruntime folded vs unfolded", 1e-5);
});

test("gradients of per-channel scaling (multiply, divide) and of the fold itself by finite differences", () => {
  const r = new Rng(2);
  gradCheck("scaleChannels multiply", ([a, s]) => scaleChannels(a!, s!, 1), [randomInput(r, [2, 3, 2]), randomInput(r, [3], 0.5, 1.5)]);
  gradCheck("scaleChannels divide", ([a, s]) => scaleChannels(a!, s!, 0, "divide"), [randomInput(r, [3, 4]), randomInput(r, [3], 0.5, 1.5)]);
  const state = { runningMean: Float32Array.of(0.2, -0.1), runningVar: Float32Array.of(0.5, 2), momentum: 0.9, epsilon: 1e-5 };
  gradCheck("folded weight", ([w, b, g, beta]) => foldedParts(w!, b!, g!, beta!, state, 0).weight,
    [randomInput(r, [2, 3]), randomInput(r, [2]), randomInput(r, [2], 0.5, 1.5), randomInput(r, [2])]);
  gradCheck("folded bias", ([w, b, g, beta]) => foldedParts(w!, b!, g!, beta!, state, 0).bias,
    [randomInput(r, [2, 3]), randomInput(r, [2]), randomInput(r, [2], 0.5, 1.5), randomInput(r, [2])], { skip: [0] });
});
