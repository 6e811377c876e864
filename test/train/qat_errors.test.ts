// Bad input to quantization-aware training gives clear errors (out-of-range settings, data that does
// not fit the model, divergence naming the step); checkpoints are written atomically and resume.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../src/onnx/files.js";
import { referenceKernels } from "../../src/kernels/float/kernels.js";
import { useFloatKernels } from "../../src/train/backend.js";
import type { LabelledImages } from "../../src/train/classifier.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { Rng } from "../../src/train/init.js";
import { Sequential, type LayerSpec } from "../../src/train/layers.js";
import { qat } from "../../src/train/qat/qat.js";
import { readQatState } from "../../src/train/qat/checkpoint.js";

useFloatKernels(referenceKernels);

const specs: LayerSpec[] = [
  { type: "conv2d", inChannels: 1, outChannels: 4, kernel: [3, 3], bias: false },
  { type: "batchnorm", channels: 4 },
  { type: "relu" },
  { type: "flatten" },
  { type: "linear", inFeatures: 4 * 4 * 4, outFeatures: 3 },
];

function data(count: number, seed = 1, dims = [1, 6, 6]): LabelledImages {
  const rng = new Rng(seed);
  const per = dims.reduce((s, d) => s * d, 1);
  const labels = Int32Array.from({ length: count }, () => rng.below(3));
  // Class-dependent brightness, so the task is learnable.
  const images = Float32Array.from({ length: count * per }, (_, i) => rng.uniform() * 0.5 + labels[Math.floor(i / per)]! * 0.25);
  return { images, labels, count, sampleDims: dims };
}

const model = () => sequentialToModel(new Sequential(specs, new Rng(2)), { sampleDims: [1, 6, 6] });

test("settings out of range are errors naming the setting", async () => {
  const d = { train: data(32) };
  for (const [options, message] of [
    [{ lr: 0 }, /learning rate must be a number in \[1e-8, 10\], got 0/],
    [{ lr: -1 }, /learning rate/],
    [{ lr: NaN }, /learning rate/],
    [{ lr: 100 }, /learning rate/],
    [{ epochs: 0 }, /epochs must be an integer in \[1, 1000\], got 0/],
    [{ epochs: 2.5 }, /epochs must be an integer/],
    [{ batchSize: 0 }, /batch size must be an integer in \[1, 1000000\], got 0/],
    [{ freezeRanges: 1.5 }, /freezeRanges/],
    [{ emaDecay: 1 }, /EMA decay/],
    [{ optimizer: "rmsprop" as "sgd" }, /optimizer must be sgd or adam/],
  ] as const) {
    await assert.rejects(qat(model(), d, options), message, JSON.stringify(options));
  }
});

test("data that does not fit the model is an error: sample dims, labels, empty sets", async () => {
  await assert.rejects(qat(model(), { train: data(16, 1, [1, 7, 7]) }, { batchSize: 8 }), /input input has dims \[8, 1, 7, 7\], the model expects \[batch, 1, 6, 6\]/);
  const badLabels = data(16);
  badLabels.labels = Int32Array.from({ length: 16 }, () => 5);
  await assert.rejects(qat(model(), { train: badLabels }, { batchSize: 8, calibrationBatches: 1 }), /QAT stopped at step 1 \(epoch 1, batch 1\): label 5 at row 0 is not a class in \[0, 3\)/);
  await assert.rejects(qat(model(), { train: { ...data(16), count: 0 } }), /training data is empty/);
  await assert.rejects(qat(model(), { train: { ...data(16), labels: new Int32Array(3) } }), /3 labels for 16 samples/);
});

test("a diverging run stops with an error naming the step", async () => {
  // Inputs of 1e30 and neither BatchNorm nor ReLU: the first update makes the conv weights ~1e30,
  // the second forward pass overflows float32 (±∞, then ∞ − ∞ = NaN in the next layer).
  const d = data(64, 3);
  d.images = d.images.map((v) => v * 1e30);
  const plain = sequentialToModel(new Sequential([specs[0]!, specs[3]!, specs[4]!], new Rng(2)), { sampleDims: [1, 6, 6] });
  // Nothing quantized: the overflow reaches the loss.
  await assert.rejects(
    qat(plain, { train: d }, { lr: 10, batchSize: 8, calibrationBatches: 1, exclude: ["Conv", "Flatten", "Gemm"] }),
    /^Error: QAT stopped at step 2 \(epoch 1, batch 2\): the loss is NaN \(learning rate/,
  );
  // Quantized: whichever check meets the overflow first names the step too.
  await assert.rejects(qat(plain, { train: d }, { lr: 10, batchSize: 8, calibrationBatches: 1 }), /^Error: QAT stopped at step 2 \(epoch 1, batch 2\): /);
});

test("checkpoints are written atomically each epoch and a run continues from one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-qat-"));
  try {
    const path = join(dir, "qat.onnx");
    const d = { train: data(48, 4) };
    const first = await qat(model(), d, { epochs: 2, batchSize: 16, checkpoint: path, calibrationBatches: 2 });
    assert.deepEqual(readdirSync(dir), ["qat.onnx"], "no temporary files left");
    const saved = loadModel(path);
    const state = readQatState(saved)!;
    assert.equal(state.epoch, 2);
    assert.equal(state.step, 6);
    assert.ok(state.batchNormFrozen);
    assert.deepEqual(Object.keys(state.ranges).sort(), [...first.qat.trackers.keys()].sort());
    for (const [name, r] of Object.entries(state.ranges)) {
      assert.equal(r.min, first.qat.trackers.get(name)!.min);
      assert.equal(r.max, first.qat.trackers.get(name)!.max);
    }
    // Continuing with ranges frozen from the start keeps the saved ranges exactly.
    const second = await qat(saved, d, { maxSteps: 2, batchSize: 16, freezeRanges: 0 });
    for (const [name, r] of Object.entries(state.ranges)) assert.deepEqual([second.qat.trackers.get(name)!.min, second.qat.trackers.get(name)!.max], [r.min, r.max]);
    assert.equal(second.model.metadata.has("octet.qat"), false, "the exported model carries no training state");
    await assert.rejects(qat(saved, d, { maxSteps: 1, weightType: "int4" }), /checkpoint was trained for/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
