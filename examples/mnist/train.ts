/**
 * Trains the LeNet of the MNIST story with octet's own training engine (src/train), seeded and
 * deterministic (results do not depend on the thread count: the kernels split work so that every
 * value is computed by the same operations), then saves a checkpoint and exports ONNX.
 *
 *   node --import tsx examples/mnist/train.ts [--epochs 4] [--threads 2] [--out /tmp/lenet]
 *
 * Prints per epoch: mean training loss, test accuracy and seconds. Writes <out>.ckpt (octet
 * checkpoint, written atomically) and <out>.onnx (Conv/Relu/MaxPool/Flatten/Gemm, opset 13), and
 * checks the ONNX file in ONNX Runtime against octet's own forward pass.
 *
 * By default the GEMMs use relaxed SIMD (fused multiply-add), turning on V8's flag for it on
 * Node 20; --no-relaxed-simd keeps to plain SIMD. The two give slightly different (each
 * deterministic) results.
 */
import v8 from "node:v8";
import { Command } from "commander";
import * as ort from "onnxruntime-node";
import { loadMnist } from "../../src/data/mnist.js";
import { relaxedSimdSupported, WasmFloatKernels } from "../../src/kernels/float/wasm.js";
import { saveModel } from "../../src/onnx/files.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { saveCheckpoint } from "../../src/train/checkpoint.js";
import { evaluateAccuracy, trainEpoch, type LabelledImages } from "../../src/train/classifier.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { Rng } from "../../src/train/init.js";
import { lenetSpecs, Sequential } from "../../src/train/layers.js";
import { Sgd } from "../../src/train/optimizers.js";
import { constant } from "../../src/train/tape.js";
import { cosineLr, withWarmup } from "../../src/train/schedule.js";

const program = new Command()
  .option("--epochs <n>", "epochs", "4")
  .option("--batch-size <n>", "mini-batch size", "64")
  .option("--lr <x>", "peak learning rate (SGD, cosine decay to 0)", "0.05")
  .option("--momentum <x>", "SGD momentum", "0.9")
  .option("--weight-decay <x>", "L2 weight decay", "5e-4")
  .option("--warmup <steps>", "linear warm-up steps", "200")
  .option("--seed <n>", "seed of initial weights and shuffling", "1")
  .option("--threads <n>", "kernel threads", "2")
  .option("--train-limit <n>", "use only the first n training images (quick runs)")
  .option("--no-relaxed-simd", "plain WebAssembly SIMD only (no fused multiply-add)")
  .option("--out <path>", "output path prefix for .ckpt and .onnx", "lenet-mnist")
  .parse();
const o = program.opts<Record<string, string>>();
const relaxed = (program.opts() as { relaxedSimd: boolean }).relaxedSimd;
// Node 20 keeps relaxed SIMD behind a V8 flag; set it before any WebAssembly is compiled.
if (relaxed && !relaxedSimdSupported()) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const num = (name: string) => {
  const v = Number(o[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got ${o[name]}`);
  return v;
};

const kernels = new WasmFloatKernels({ threads: num("threads"), relaxedSimd: relaxed && relaxedSimdSupported() });
useFloatKernels(kernels);

const trainRaw = loadMnist("train");
const testRaw = loadMnist("test");
const trainCount = o.trainLimit ? Math.min(trainRaw.count, num("trainLimit")) : trainRaw.count;
const train: LabelledImages = { images: trainRaw.images, labels: trainRaw.labels, count: trainCount, sampleDims: [1, 28, 28] };
const test: LabelledImages = { images: testRaw.images, labels: testRaw.labels, count: testRaw.count, sampleDims: [1, 28, 28] };

const seed = num("seed");
const epochs = num("epochs");
const batchSize = num("batchSize");
const rng = new Rng(seed);
const model = new Sequential(lenetSpecs(), rng);
const optimizer = new Sgd([...model.params.values()], { momentum: num("momentum"), weightDecay: num("weightDecay") });
const stepsPerEpoch = Math.ceil(train.count / batchSize);
const schedule = withWarmup(cosineLr(num("lr"), epochs * stepsPerEpoch), num("warmup"));

console.log(`LeNet on MNIST: ${train.count} training images, batch ${batchSize}, ${epochs} epochs, kernels ${kernels.name}, seed ${seed}`);
let step = 0;
let accuracy = 0;
const started = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  const r = trainEpoch(model, train, {
    batchSize, optimizer, schedule, step, rng,
    onBatch: (b, loss) => { if (b % 200 === 0) console.log(`  epoch ${epoch} batch ${b}/${stepsPerEpoch} loss ${loss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`); },
  });
  step += r.batches;
  const trainSeconds = (performance.now() - t0) / 1000;
  accuracy = evaluateAccuracy(model, test);
  const total = (performance.now() - t0) / 1000;
  console.log(`epoch ${epoch}: train loss ${r.meanLoss.toFixed(4)}  test accuracy ${(100 * accuracy).toFixed(2)}%  train ${trainSeconds.toFixed(1)} s  (with test ${total.toFixed(1)} s)`);
}
const meta = { epochs, batchSize, seed, testAccuracy: accuracy, trainImages: train.count, minutes: (performance.now() - started) / 60000 };
saveCheckpoint(`${o.out}.ckpt`, model, meta);
saveModel(sequentialToModel(model, { sampleDims: [1, 28, 28] }), `${o.out}.onnx`, { overwrite: true });
console.log(`saved ${o.out}.ckpt and ${o.out}.onnx; test accuracy ${(100 * accuracy).toFixed(2)}% in ${meta.minutes.toFixed(1)} min`);

// The exported model in ONNX Runtime against octet's forward pass on the first 100 test images.
const checkCount = 100;
const sample = test.images.slice(0, checkCount * 784);
const ours = model.forward(constant(sample, [checkCount, 1, 28, 28]), { training: false }).data;
const session = await ort.InferenceSession.create(`${o.out}.onnx`);
const theirs = (await session.run({ input: new ort.Tensor("float32", sample, [checkCount, 1, 28, 28]) })).logits!.data as Float32Array;
let maxDiff = 0;
let maxLogit = 0;
for (let i = 0; i < ours.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
  maxLogit = Math.max(maxLogit, Math.abs(ours[i]!));
}
console.log(`ONNX Runtime vs octet on ${checkCount} test images: max |Δlogit| ${maxDiff.toExponential(2)} (largest |logit| ${maxLogit.toFixed(1)})`);
kernels.dispose();
