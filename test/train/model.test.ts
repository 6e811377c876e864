// Models, training loop, determinism and checkpoints, plus op values worked by hand.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { referenceKernels } from "../../src/kernels/float/kernels.js";
import { WasmFloatKernels } from "../../src/kernels/float/wasm.js";
import { hardSwish } from "../../src/train/activations.js";
import { add, mul } from "../../src/train/arith.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { loadCheckpointModel, readCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";
import { evaluateAccuracy, trainEpoch, type LabelledImages } from "../../src/train/classifier.js";
import { Rng } from "../../src/train/init.js";
import { lenetSpecs, Sequential, type LayerSpec } from "../../src/train/layers.js";
import { softmaxCrossEntropy } from "../../src/train/loss.js";
import { batchNorm, batchNormState } from "../../src/train/norm.js";
import { Adam, Sgd } from "../../src/train/optimizers.js";
import { constantLr } from "../../src/train/schedule.js";
import { backward, constant, parameter } from "../../src/train/tape.js";

const wasm1 = new WasmFloatKernels({ threads: 1 });
const wasm2 = new WasmFloatKernels({ threads: 2 });
after(() => { wasm1.dispose(); wasm2.dispose(); useFloatKernels(referenceKernels); });

test("LeNet has the published 431,080 parameters and maps [B,1,28,28] to [B,10]", () => {
  useFloatKernels(wasm1);
  const model = new Sequential(lenetSpecs(), new Rng(1));
  let count = 0;
  for (const p of model.params.values()) count += p.size;
  assert.equal(count, 431080);
  const y = model.forward(constant(new Float32Array(3 * 784), [3, 1, 28, 28]), { training: false });
  assert.deepEqual(y.dims, [3, 10]);
});

test("softmax cross-entropy and HardSwish values by hand", () => {
  const loss = softmaxCrossEntropy(parameter(Float32Array.of(0, Math.log(3), 5, 5), [2, 2]), [1, 0]);
  // Row 1: p(1) = 3/4. Row 2: equal logits, p = 1/2.
  assert.ok(Math.abs(loss.data[0]! - (-Math.log(0.75) + Math.log(2)) / 2) < 1e-6);
  const h = hardSwish(constant(Float32Array.of(-4, -3, 0, 1, 3, 5), [6]));
  assert.deepEqual([...h.data], [0, 0, 0, Math.fround(4 / 6), 3, 5]);
  assert.throws(() => softmaxCrossEntropy(constant(new Float32Array(4), [2, 2]), [0, 2]), /label 2 at row 1 is not a class/);
});

test("BatchNormalization: batch statistics, the ONNX running update, inference form", () => {
  // One channel holding 1, 2, 3, 4 across a batch of 2 × 2 positions: mean 2.5, variance 1.25.
  const state = batchNormState(1, 0.9, 0);
  const x = constant(Float32Array.of(1, 2, 3, 4), [2, 1, 2, 1]);
  const y = batchNorm(x, constant(Float32Array.of(2), [1]), constant(Float32Array.of(1), [1]), state, true);
  const s = Math.sqrt(1.25);
  [1, 2, 3, 4].forEach((v, i) => assert.ok(Math.abs(y.data[i]! - (2 * (v - 2.5) / s + 1)) < 1e-6));
  assert.ok(Math.abs(state.runningMean[0]! - 0.25) < 1e-7);
  assert.ok(Math.abs(state.runningVar[0]! - (0.9 + 0.1 * 1.25)) < 1e-7);
  const z = batchNorm(x, constant(Float32Array.of(1), [1]), constant(Float32Array.of(0), [1]), state, false);
  assert.ok(Math.abs(z.data[0]! - (1 - 0.25) / Math.sqrt(1.025)) < 1e-6);
});

/** Bars: class 0 a horizontal bright bar, class 1 a vertical one, at random places, with noise. */
function bars(count: number, seed: number): LabelledImages {
  const rng = new Rng(seed);
  const images = new Float32Array(count * 64);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = rng.below(2);
    const at = rng.below(8);
    labels[i] = label;
    for (let p = 0; p < 64; p++) {
      const [r, c] = [Math.floor(p / 8), p % 8];
      images[i * 64 + p] = 0.3 * rng.uniform() + ((label === 0 ? r : c) === at ? 1 : 0);
    }
  }
  return { images, labels, count, sampleDims: [1, 8, 8] };
}

const smallNet: LayerSpec[] = [
  { type: "conv2d", inChannels: 1, outChannels: 4, kernel: [3, 3], pads: [1, 1, 1, 1] },
  { type: "batchnorm", channels: 4 },
  { type: "relu" },
  { type: "maxpool2d", kernel: [2, 2] },
  { type: "flatten" },
  { type: "dropout", ratio: 0.1 },
  { type: "linear", inFeatures: 64, outFeatures: 2 },
];

function trainSmall(seed: number, epochs: number, optimizer: "sgd" | "adam"): { model: Sequential; losses: number[] } {
  const set = bars(256, 99);
  const rng = new Rng(seed);
  const model = new Sequential(smallNet, rng);
  const params = [...model.params.values()];
  const opt = optimizer === "sgd" ? new Sgd(params, { momentum: 0.9, weightDecay: 1e-4 }) : new Adam(params);
  const losses: number[] = [];
  let step = 0;
  for (let e = 0; e < epochs; e++) {
    const r = trainEpoch(model, set, { batchSize: 32, optimizer: opt, schedule: constantLr(optimizer === "sgd" ? 0.05 : 0.01), step, rng });
    step += r.batches;
    losses.push(r.meanLoss);
  }
  return { model, losses };
}

test("a small CNN learns the bars task with SGD and with Adam", () => {
  useFloatKernels(wasm1);
  for (const opt of ["sgd", "adam"] as const) {
    const { model, losses } = trainSmall(4, 6, opt);
    assert.ok(losses[losses.length - 1]! < 0.5 * losses[0]!, `${opt}: losses ${losses}`);
    assert.ok(evaluateAccuracy(model, bars(200, 7)) >= 0.95, `${opt}: accuracy`);
  }
});

test("training is deterministic: same seed, same weights, on one thread or two", () => {
  const runs = [wasm1, wasm1, wasm2].map((k) => {
    useFloatKernels(k);
    return trainSmall(11, 2, "sgd").model.state();
  });
  assert.deepEqual(runs[1], runs[0]);
  assert.deepEqual(runs[2], runs[0]);
  useFloatKernels(wasm1);
  const other = trainSmall(12, 2, "sgd").model.state();
  assert.notDeepEqual(other, runs[0]);
});

test("checkpoints round-trip, are written atomically and reject foreign files", () => {
  useFloatKernels(wasm1);
  const dir = mkdtempSync(join(tmpdir(), "octet-ckpt-"));
  try {
    const { model } = trainSmall(5, 1, "sgd");
    const path = join(dir, "m.ckpt");
    saveCheckpoint(path, model, { note: "test" });
    assert.deepEqual(readdirSync(dir), ["m.ckpt"]); // no temporary file left behind
    const { model: loaded, meta } = loadCheckpointModel(path);
    assert.equal(meta.note, "test");
    assert.deepEqual(loaded.state(), model.state());
    const x = constant(bars(4, 1).images, [4, 1, 8, 8]);
    assert.deepEqual(loaded.forward(x, { training: false }).data, model.forward(x, { training: false }).data);
    assert.deepEqual(readCheckpoint(path).specs, smallNet);
    const bad = join(dir, "bad.ckpt");
    writeFileSync(bad, "not a checkpoint at all");
    assert.throws(() => readCheckpoint(bad), /not an octet checkpoint/);
    assert.ok(!existsSync(join(dir, "missing.ckpt")));
    assert.throws(() => loaded.loadState([]), /state has no tensor 0.weight/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("backward accumulates through shared Vars and rejects misuse", () => {
  useFloatKernels(referenceKernels);
  const w = parameter(Float32Array.of(3), [1]);
  // L = w·w + w: dL/dw = 2w + 1 = 7 (w read three times).
  backward(add(mul(w, w), w));
  assert.deepEqual([...w.grad!], [7]);
  // Gradients add up across backward calls until cleared.
  backward(add(mul(w, w), w));
  assert.deepEqual([...w.grad!], [14]);
  assert.throws(() => backward(constant(Float32Array.of(1), [1])), /does not depend on any parameter/);
  assert.throws(() => new Sequential([{ type: "conv2d", inChannels: 3, outChannels: 4, kernel: [3, 3], group: 2 }], new Rng(0)), /group 2 must divide/);
  assert.throws(() => new Sequential([{ type: "nope" } as unknown as LayerSpec], new Rng(0)), /unknown layer type nope/);
});
