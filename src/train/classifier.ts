/**
 * Training and evaluating an image classifier held as a Sequential: one epoch of mini-batch
 * training over a seeded shuffle, and accuracy over a labelled set.
 */
import type { Rng } from "./init.js";
import type { Sequential } from "./layers.js";
import { argmaxRows, softmaxCrossEntropy } from "./loss.js";
import type { Optimizer } from "./optimizers.js";
import type { LrSchedule } from "./schedule.js";
import { backward, constant } from "./tape.js";

export interface LabelledImages {
  /** count × (product of sampleDims) values, sample-major. */
  images: Float32Array;
  labels: ArrayLike<number>;
  count: number;
  /** Dims of one sample, e.g. [1, 28, 28]. */
  sampleDims: number[];
}

function checkSet(set: LabelledImages): number {
  const per = set.sampleDims.reduce((s, d) => s * d, 1);
  if (set.images.length < set.count * per) throw new Error(`image data holds ${set.images.length} values, ${set.count} samples of [${set.sampleDims.join(", ")}] need ${set.count * per}`);
  if (set.labels.length < set.count) throw new Error(`${set.labels.length} labels for ${set.count} samples`);
  return per;
}

/** Copies the samples `indices[from, to)` into one batch. */
export function gatherBatch(set: LabelledImages, indices: ArrayLike<number>, from: number, to: number): { x: Float32Array; y: Int32Array } {
  const per = set.sampleDims.reduce((s, d) => s * d, 1);
  const x = new Float32Array((to - from) * per);
  const y = new Int32Array(to - from);
  for (let i = from; i < to; i++) {
    const k = indices[i]!;
    x.set(set.images.subarray(k * per, (k + 1) * per), (i - from) * per);
    y[i - from] = set.labels[k]!;
  }
  return { x, y };
}

export interface EpochOptions {
  batchSize: number;
  optimizer: Optimizer;
  schedule: LrSchedule;
  /** Global step at the start of the epoch (the schedule's argument). */
  step: number;
  rng: Rng;
  /** Stop after this many batches (for benchmarks). */
  maxBatches?: number;
  /** Called after every batch. */
  onBatch?: (batch: number, loss: number) => void;
}

export interface EpochResult {
  meanLoss: number;
  batches: number;
  samples: number;
}

/** One pass over a fresh random permutation of the set (the last partial batch is kept). */
export function trainEpoch(model: Sequential, set: LabelledImages, o: EpochOptions): EpochResult {
  checkSet(set);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${o.batchSize}`);
  const order = o.rng.permutation(set.count);
  let total = 0;
  let batches = 0;
  let samples = 0;
  for (let from = 0; from < set.count; from += o.batchSize) {
    if (o.maxBatches !== undefined && batches >= o.maxBatches) break;
    const to = Math.min(set.count, from + o.batchSize);
    const { x, y } = gatherBatch(set, order, from, to);
    o.optimizer.zeroGrad();
    const logits = model.forward(constant(x, [to - from, ...set.sampleDims]), { training: true, rng: o.rng });
    const loss = softmaxCrossEntropy(logits, y);
    backward(loss);
    o.optimizer.step(o.schedule(o.step + batches));
    const l = loss.data[0]!;
    total += l * (to - from);
    samples += to - from;
    batches++;
    o.onBatch?.(batches, l);
  }
  return { meanLoss: total / samples, batches, samples };
}

/** Fraction of samples whose arg-max logit is the label (inference mode). */
export function evaluateAccuracy(model: Sequential, set: LabelledImages, batchSize = 1000): number {
  checkSet(set);
  const identity = Int32Array.from({ length: set.count }, (_, i) => i);
  let correct = 0;
  for (let from = 0; from < set.count; from += batchSize) {
    const to = Math.min(set.count, from + batchSize);
    const { x, y } = gatherBatch(set, identity, from, to);
    const logits = model.forward(constant(x, [to - from, ...set.sampleDims]), { training: false });
    const classes = logits.dims[1]!;
    const pred = argmaxRows(logits.data, to - from, classes);
    for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) correct++;
  }
  return correct / set.count;
}
