// The pieces of the MNIST story (examples/mnist) on tiny inputs: accuracy in onnxruntime-node,
// including 4-bit activation models that onnxruntime only runs at its basic optimization level,
// the PTQ table's markdown and the command lines the story prints. The full runs are the example.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { quantizeFile } from "../../src/api/node.js";
import { loadMnist } from "../../src/data/mnist.js";
import { saveModel } from "../../src/onnx/files.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { Rng } from "../../src/train/init.js";
import { Sequential } from "../../src/train/layers.js";
import { argmaxRows } from "../../src/train/loss.js";
import { engineAccuracy, ortAccuracy } from "../../examples/mnist/evaluate.js";
import { ptqMarkdown, quantizeCommand, FORMATS, METHODS, type PtqCell } from "../../examples/mnist/ptq_table.js";
import { qatCommand } from "../../examples/mnist/qat_runs.js";

test("ortAccuracy: 100% against the model's own predictions, 0% against shifted labels; W4A4 falls back to the basic level", async () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-mnist-"));
  try {
    const seq = new Sequential([
      { type: "conv2d", inChannels: 1, outChannels: 4, kernel: [5, 5] }, { type: "relu" }, { type: "maxpool2d", kernel: [2, 2] },
      { type: "flatten" }, { type: "linear", inFeatures: 4 * 12 * 12, outFeatures: 10 },
    ], new Rng(5));
    const float = join(dir, "tiny.onnx");
    saveModel(sequentialToModel(seq, { sampleDims: [1, 28, 28] }), float);
    const w4a4 = join(dir, "tiny.w4a4.onnx");
    await quantizeFile(float, w4a4, { weightType: "int4", activationType: "uint4", calib: "mnist", data: { samples: 16, warn: () => {} } });
    const raw = loadMnist("test");
    const images = raw.images.slice(0, 50 * 784);
    for (const [path, level] of [[float, "all"], [w4a4, "basic"]] as const) {
      const session = await ort.InferenceSession.create(path, { graphOptimizationLevel: "basic" });
      const logits = (await session.run({ input: new ort.Tensor("float32", images, [50, 1, 28, 28]) })).logits!.data as Float32Array;
      const own = argmaxRows(logits, 50, 10);
      const set = { images, labels: own, count: 50, sampleDims: [1, 28, 28] };
      assert.deepEqual(await ortAccuracy(path, set, 16), { accuracy: 1, optimization: level });
      const shifted = { ...set, labels: Int32Array.from(own, (c) => (c + 1) % 10) };
      assert.equal((await ortAccuracy(path, shifted)).accuracy, 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("engineAccuracy: the integer engine scores an int8 model against onnxruntime's predictions and against shifted labels", async () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-mnist-"));
  try {
    const seq = new Sequential([
      { type: "conv2d", inChannels: 1, outChannels: 4, kernel: [5, 5] }, { type: "relu" }, { type: "maxpool2d", kernel: [2, 2] },
      { type: "flatten" }, { type: "linear", inFeatures: 4 * 12 * 12, outFeatures: 10 },
    ], new Rng(7));
    const float = join(dir, "tiny.onnx");
    saveModel(sequentialToModel(seq, { sampleDims: [1, 28, 28] }), float);
    const int8 = join(dir, "tiny.int8.onnx");
    await quantizeFile(float, int8, { calib: "mnist", data: { samples: 32, warn: () => {} } });
    const raw = loadMnist("test");
    const images = raw.images.slice(0, 200 * 784);
    const session = await ort.InferenceSession.create(int8);
    const logits = (await session.run({ input: new ort.Tensor("float32", images, [200, 1, 28, 28]) })).logits!.data as Float32Array;
    await session.release();
    const own = argmaxRows(logits, 200, 10);
    const set = { images, labels: own, count: 200, sampleDims: [1, 28, 28] };
    // The engine agrees with onnxruntime within one output step; a near-tie may flip a few argmaxes.
    assert.ok(engineAccuracy(int8, set, 64) >= 0.97);
    const shifted = { ...set, labels: Int32Array.from(own, (c) => (c + 1) % 10) };
    assert.ok(engineAccuracy(int8, shifted, 64) <= 0.03);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("PTQ table markdown: one row per method, columns format × granularity, missing cells as –", () => {
  const cells: PtqCell[] = [
    { method: "minmax", perChannel: false, format: "W8A8", accuracy: 0.9912, optimization: "all" },
    { method: "minmax", perChannel: true, format: "W8A8", accuracy: 0.99306, optimization: "all" },
    { method: "mse", perChannel: true, format: "W4A4", accuracy: 0.5, optimization: "basic" },
  ];
  const md = ptqMarkdown(cells, 0.9932).split("\n");
  assert.equal(md[0], "float: 99.32%");
  assert.equal(md[2], "| method | W8A8 per-tensor | W8A8 per-channel | W4A8 per-tensor | W4A8 per-channel | W4A4 per-tensor | W4A4 per-channel |");
  assert.equal(md[4], "| minmax | 99.12 | 99.31 | – | – | – | – |");
  assert.equal(md[8], "| mse | – | – | – | – | – | 50.00 |");
  assert.equal(md.length, 4 + METHODS.length);
});

test("the command lines the story prints", () => {
  assert.equal(quantizeCommand("m.onnx", "q.onnx", "entropy", false, FORMATS[2]!),
    "octet quantize m.onnx -o q.onnx --calib mnist --samples 512 --method entropy --per-tensor --weight-type int4 --activation-type uint4");
  assert.equal(qatCommand({ name: "x", model: "m.onnx", output: "q.onnx", weightType: "int4", activationType: "uint8", perChannel: true, lsq: true, epochs: 2, lr: 0.001 }),
    "octet qat m.onnx -o q.onnx --data mnist --epochs 2 --lr 0.001 --weight-type int4 --lsq");
});
