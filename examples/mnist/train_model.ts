/**
 * Float training of the MNIST story's models with octet's training engine (src/train), seeded and
 * deterministic: LeNet, or the MobileNet-style depthwise-separable network (src/train/mobilenet.ts).
 * Writes <out>.ckpt (octet checkpoint, atomic) and <out>.onnx, and checks the ONNX file in ONNX
 * Runtime against octet's own forward pass.
 */
import * as ort from "onnxruntime-node";
import { loadMnist } from "../../src/data/mnist.js";
import { saveModel } from "../../src/onnx/files.js";
import { saveCheckpoint } from "../../src/train/checkpoint.js";
import { evaluateAccuracy, trainEpoch, type LabelledImages } from "../../src/train/classifier.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { Rng } from "../../src/train/init.js";
import { lenetSpecs, Sequential, type LayerSpec } from "../../src/train/layers.js";
import { mobileNetSpecs } from "../../src/train/mobilenet.js";
import { Sgd } from "../../src/train/optimizers.js";
import { cosineLr, withWarmup } from "../../src/train/schedule.js";
import { constant } from "../../src/train/tape.js";

export type Architecture = "lenet" | "mobilenet";

export interface TrainOptions {
  arch: Architecture;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  warmup: number;
  seed: number;
  trainLimit?: number;
  /** Output path prefix: <out>.ckpt and <out>.onnx. */
  out: string;
  log?: (line: string) => void;
}

export const defaultTrainOptions: Omit<TrainOptions, "arch" | "out"> = {
  epochs: 4, batchSize: 64, lr: 0.05, momentum: 0.9, weightDecay: 5e-4, warmup: 200, seed: 1,
};

export function specsFor(arch: Architecture): LayerSpec[] {
  if (arch === "lenet") return lenetSpecs();
  if (arch === "mobilenet") return mobileNetSpecs();
  throw new Error(`unknown architecture ${String(arch)} (lenet or mobilenet)`);
}

export function mnistSet(split: "train" | "test", limit?: number): LabelledImages {
  const raw = loadMnist(split);
  return { images: raw.images, labels: raw.labels, count: limit ? Math.min(limit, raw.count) : raw.count, sampleDims: [1, 28, 28] };
}

export interface TrainResult {
  testAccuracy: number;
  minutes: number;
  onnxPath: string;
  checkpointPath: string;
}

export async function trainMnistModel(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const train = mnistSet("train", o.trainLimit);
  const test = mnistSet("test");
  const rng = new Rng(o.seed);
  const model = new Sequential(specsFor(o.arch), rng);
  const optimizer = new Sgd([...model.params.values()], { momentum: o.momentum, weightDecay: o.weightDecay });
  const stepsPerEpoch = Math.ceil(train.count / o.batchSize);
  const schedule = withWarmup(cosineLr(o.lr, o.epochs * stepsPerEpoch), o.warmup);
  log(`${o.arch} on MNIST: ${train.count} training images, batch ${o.batchSize}, ${o.epochs} epochs, seed ${o.seed}`);
  let step = 0;
  let accuracy = 0;
  const started = performance.now();
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    const r = trainEpoch(model, train, {
      batchSize: o.batchSize, optimizer, schedule, step, rng,
      onBatch: (b, loss) => {
        if (!Number.isFinite(loss)) throw new Error(`training stopped: loss ${loss} at epoch ${epoch}, batch ${b}`);
        if (b % 200 === 0) log(`  epoch ${epoch} batch ${b}/${stepsPerEpoch} loss ${loss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      },
    });
    step += r.batches;
    accuracy = evaluateAccuracy(model, test);
    log(`epoch ${epoch}: train loss ${r.meanLoss.toFixed(4)}  test accuracy ${(100 * accuracy).toFixed(2)}%  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const minutes = (performance.now() - started) / 60000;
  const meta = { arch: o.arch, epochs: o.epochs, batchSize: o.batchSize, seed: o.seed, weightDecay: o.weightDecay, testAccuracy: accuracy, trainImages: train.count, minutes };
  saveCheckpoint(`${o.out}.ckpt`, model, meta);
  saveModel(sequentialToModel(model, { sampleDims: [1, 28, 28] }), `${o.out}.onnx`, { overwrite: true });
  log(`saved ${o.out}.ckpt and ${o.out}.onnx; test accuracy ${(100 * accuracy).toFixed(2)}% in ${minutes.toFixed(1)} min`);

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
  log(`ONNX Runtime vs octet on ${checkCount} test images: max |Δlogit| ${maxDiff.toExponential(2)} (largest |logit| ${maxLogit.toFixed(1)})`);
  return { testAccuracy: accuracy, minutes, onnxPath: `${o.out}.onnx`, checkpointPath: `${o.out}.ckpt` };
}
