// A Sequential exported through the Graph IR and src/onnx runs in ONNX Runtime with the same
// outputs as octet's own forward pass (inference mode), within 1e-5 relative to the logit scale.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { referenceKernels } from "../../src/kernels/float/kernels.js";
import { saveModel } from "../../src/onnx/files.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { Rng } from "../../src/train/init.js";
import { lenetSpecs, Sequential, type LayerSpec } from "../../src/train/layers.js";
import { constant } from "../../src/train/tape.js";
import { trainEpoch } from "../../src/train/classifier.js";
import { Sgd } from "../../src/train/optimizers.js";
import { constantLr } from "../../src/train/schedule.js";

async function compareWithOrt(specs: LayerSpec[], sampleDims: number[], batch: number, train: boolean): Promise<void> {
  useFloatKernels(referenceKernels);
  const rng = new Rng(3);
  const model = new Sequential(specs, rng);
  const per = sampleDims.reduce((s, d) => s * d, 1);
  const images = Float32Array.from({ length: 8 * per }, () => rng.uniform());
  if (train) {
    // A few steps so BatchNorm running statistics and weights move away from their initial values.
    const labels = Uint8Array.from({ length: 8 }, () => rng.below(4));
    trainEpoch(model, { images, labels, count: 8, sampleDims }, { batchSize: 4, optimizer: new Sgd([...model.params.values()], { momentum: 0.9 }), schedule: constantLr(0.05), step: 0, rng });
  }
  const x = images.slice(0, batch * per);
  const ours = model.forward(constant(x, [batch, ...sampleDims]), { training: false }).data;
  const dir = mkdtempSync(join(tmpdir(), "octet-export-"));
  try {
    const path = join(dir, "model.onnx");
    saveModel(sequentialToModel(model, { sampleDims }), path);
    const session = await ort.InferenceSession.create(path);
    const out = await session.run({ input: new ort.Tensor("float32", x, [batch, ...sampleDims]) });
    const theirs = out.logits!.data as Float32Array;
    assert.equal(theirs.length, ours.length);
    const scale = Math.max(1, ...Array.from(ours, Math.abs));
    for (let i = 0; i < ours.length; i++) {
      assert.ok(Math.abs(theirs[i]! - ours[i]!) <= 1e-5 * scale, `output ${i}: onnxruntime ${theirs[i]} vs octet ${ours[i]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("LeNet exports to Conv/Relu/MaxPool/Flatten/Gemm and matches onnxruntime", async () => {
  await compareWithOrt(lenetSpecs(), [1, 28, 28], 3, false);
});

test("every exportable layer kind matches onnxruntime after some training", async () => {
  await compareWithOrt([
    { type: "conv2d", inChannels: 2, outChannels: 4, kernel: [3, 3], pads: [1, 0, 2, 1], strides: [1, 2] },
    { type: "batchnorm", channels: 4 },
    { type: "hardswish" },
    { type: "conv2d", inChannels: 4, outChannels: 4, kernel: [3, 3], group: 4, pads: [1, 1, 1, 1], dilations: [1, 1] },
    { type: "relu6" },
    { type: "maxpool2d", kernel: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0] },
    { type: "avgpool2d", kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], countIncludePad: false },
    { type: "clip", min: -0.5, max: 0.8 },
    { type: "sigmoid" },
    { type: "conv2d", inChannels: 4, outChannels: 6, kernel: [1, 1], bias: false },
    { type: "relu" },
    { type: "globalavgpool" },
    { type: "flatten" },
    { type: "dropout", ratio: 0.2 },
    { type: "linear", inFeatures: 6, outFeatures: 4 },
  ], [2, 7, 8], 5, true);
});
