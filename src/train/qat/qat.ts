/**
 * The QAT driver: `qat(model, data, options)` fine-tunes a float model (an ONNX Model or a
 * Sequential from an octet checkpoint) with quantization simulated, then exports the QDQ model.
 *
 * Schedule of one run (Jacob et al. 2018 §3 and Krishnamoorthi 2018 §3.2):
 *   1. calibration: a few training batches through the float network to start every activation
 *      range (and, with LSQ, the learned steps) where PTQ would put it;
 *   2. training with fake quantization: EMA ranges keep moving, BatchNorm uses batch statistics
 *      with the σ_run/σ_B correction;
 *   3. after `freezeBatchNorm` of the steps: BatchNorm statistics frozen, the layer computes
 *      exactly its folded inference form;
 *   4. after `freezeRanges` of the steps: activation ranges frozen, the weights adapt to the final grid;
 *   5. export with the learned ranges (export.ts).
 * The loss is checked every step: NaN or ∞ stops the run with an error naming the step.
 */
import type { Model } from "../../graph/ir.js";
import type { QuantPlan } from "../../plan/plan.js";
import type { QParams } from "../../quant/qparams.js";
import { gatherBatch, type LabelledImages } from "../classifier.js";
import { sequentialToModel } from "../export-graph.js";
import { Rng } from "../init.js";
import { Sequential } from "../layers.js";
import { argmaxRows, softmaxCrossEntropy } from "../loss.js";
import { Adam, Sgd, type Optimizer } from "../optimizers.js";
import { cosineLr } from "../schedule.js";
import { backward, constant } from "../tape.js";
import { readQatState, writeQatCheckpoint, type QatState } from "./checkpoint.js";
import { exportQat } from "./export.js";
import { QatModel, type QatModelOptions } from "./qat_model.js";

export interface QatData {
  train: LabelledImages;
  /** Evaluated (fake-quant simulation) after every epoch when given. */
  test?: LabelledImages;
}

export interface QatOptions extends QatModelOptions {
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate (cosine decay to 0 over the run). Default 1e-3 (SGD) or 1e-4 (Adam). */
  lr?: number;
  optimizer?: "sgd" | "adam";
  /** SGD momentum, default 0.9. */
  momentum?: number;
  weightDecay?: number;
  /** Training batches observed in float before training starts; default 16. */
  calibrationBatches?: number;
  /** Fraction of the run after which BatchNorm statistics freeze; default 0.5. */
  freezeBatchNorm?: number;
  /** Fraction of the run after which EMA activation ranges freeze; default 0.75. */
  freezeRanges?: number;
  seed?: number;
  /** Stop after this many steps in all (quick runs and tests). */
  maxSteps?: number;
  /** Write a checkpoint (ONNX with QAT state) here after every epoch, atomically. */
  checkpoint?: string;
  onStep?: (step: number, loss: number) => void;
  onEpoch?: (e: QatEpoch) => void;
}

export interface QatEpoch {
  epoch: number;
  meanLoss: number;
  steps: number;
  /** Test accuracy of the fake-quant simulation (when data.test is given). */
  simulatedAccuracy?: number;
}

export interface QatResult {
  /** QDQ ONNX model with the learned ranges. */
  model: Model;
  /** The fine-tuned float model (BatchNorm separate). */
  float: Model;
  plan: QuantPlan;
  params: Map<string, QParams>;
  history: QatEpoch[];
  /** Test accuracy of the simulation after training (when data.test is given). */
  simulatedAccuracy?: number;
  warnings: string[];
  qat: QatModel;
}

function checkRange(name: string, v: number, lo: number, hi: number, integer = false): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    throw new Error(`${name} must be ${integer ? "an integer" : "a number"} in [${lo}, ${hi}], got ${v}`);
  }
}

function checkSet(set: LabelledImages, what: string): void {
  const per = set.sampleDims.reduce((s, d) => s * d, 1);
  if (!(set.count > 0)) throw new Error(`${what} is empty`);
  if (set.images.length < set.count * per) throw new Error(`${what}: ${set.images.length} values cannot hold ${set.count} samples of [${set.sampleDims.join(", ")}]`);
  if (set.labels.length < set.count) throw new Error(`${what}: ${set.labels.length} labels for ${set.count} samples`);
}

/** Accuracy of the QAT network (simulation, inference mode) on a labelled set. */
export function evaluateQat(q: QatModel, set: LabelledImages, batchSize = 500): number {
  const identity = Int32Array.from({ length: set.count }, (_, i) => i);
  let correct = 0;
  for (let from = 0; from < set.count; from += batchSize) {
    const to = Math.min(set.count, from + batchSize);
    const { x, y } = gatherBatch(set, identity, from, to);
    const logits = q.forward(constant(x, [to - from, ...set.sampleDims]), false);
    if (logits.dims.length !== 2) throw new Error(`the model's output has dims [${logits.dims.join(", ")}]; accuracy needs [batch, classes]`);
    const pred = argmaxRows(logits.data, to - from, logits.dims[1]!);
    for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) correct++;
  }
  return correct / set.count;
}

export async function qat(model: Model | Sequential, data: QatData, options: QatOptions = {}): Promise<QatResult> {
  checkSet(data.train, "training data");
  if (data.test) checkSet(data.test, "test data");
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 64;
  const optimizerName = options.optimizer ?? "sgd";
  if (optimizerName !== "sgd" && optimizerName !== "adam") throw new Error(`optimizer must be sgd or adam, got ${String(optimizerName)}`);
  const lr = options.lr ?? (optimizerName === "sgd" ? 1e-3 : 1e-4);
  checkRange("epochs", epochs, 1, 1000, true);
  checkRange("batch size", batchSize, 1, 1e6, true);
  checkRange("learning rate", lr, 1e-8, 10);
  checkRange("momentum", options.momentum ?? 0.9, 0, 0.999);
  checkRange("weight decay", options.weightDecay ?? 0, 0, 1);
  checkRange("calibration batches", options.calibrationBatches ?? 16, 1, 100000, true);
  checkRange("freezeBatchNorm", options.freezeBatchNorm ?? 0.5, 0, 1);
  checkRange("freezeRanges", options.freezeRanges ?? 0.75, 0, 1);
  checkRange("EMA decay", options.emaDecay ?? 0.99, 0, 0.999999);
  if (options.maxSteps !== undefined) checkRange("maxSteps", options.maxSteps, 1, 1e9, true);

  const float = model instanceof Sequential ? sequentialToModel(model, { sampleDims: data.train.sampleDims }) : model;
  const q = QatModel.create(float, options);
  const resumed = readQatState(float);
  const rng = new Rng(options.seed ?? 1);
  const stepsPerEpoch = Math.ceil(data.train.count / batchSize);
  const totalSteps = Math.min(epochs * stepsPerEpoch, options.maxSteps ?? Infinity);
  const bnFreezeStep = Math.floor((options.freezeBatchNorm ?? 0.5) * totalSteps);
  const rangeFreezeStep = Math.floor((options.freezeRanges ?? 0.75) * totalSteps);

  if (resumed) restore(q, resumed);
  else calibrate(q, data.train, batchSize, options.calibrationBatches ?? 16, rng);
  if (options.lsq && q.activationSteps.size === 0 && q.weightSteps.size === 0) q.startLsq();
  q.mode = "quantize";

  const optimizers: Optimizer[] = [];
  const make = (params: ReturnType<QatModel["weights"]>, weightDecay: number) =>
    optimizerName === "sgd" ? new Sgd(params, { momentum: options.momentum ?? 0.9, weightDecay }) : new Adam(params, { weightDecay });
  optimizers.push(make(q.weights(), options.weightDecay ?? 0));
  if (q.steps().length) optimizers.push(make(q.steps(), 0)); // no decay on step sizes: it would shrink the ranges
  const schedule = cosineLr(lr, totalSteps);

  const history: QatEpoch[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= epochs && step < totalSteps; epoch++) {
    const order = rng.permutation(data.train.count);
    let lossSum = 0;
    let samples = 0;
    let steps = 0;
    for (let from = 0; from < data.train.count && step < totalSteps; from += batchSize) {
      if (step >= bnFreezeStep) q.batchNormFrozen = true;
      if (step >= rangeFreezeStep) q.freezeRanges();
      const to = Math.min(data.train.count, from + batchSize);
      const { x, y } = gatherBatch(data.train, order, from, to);
      const where = `step ${step + 1} (epoch ${epoch}, batch ${steps + 1})`;
      const rate = schedule(step);
      for (const o of optimizers) o.zeroGrad();
      let l: number;
      try {
        const logits = q.forward(constant(x, [to - from, ...data.train.sampleDims]), true);
        const loss = softmaxCrossEntropy(logits, y);
        l = loss.data[0]!;
        if (!Number.isFinite(l)) throw new Error(`the loss is ${l}`);
        backward(loss);
        for (const o of optimizers) o.step(rate);
        q.clampSteps();
      } catch (e) {
        throw new Error(`QAT stopped at ${where}: ${(e as Error).message} (learning rate ${rate.toPrecision(3)}; a lower one may help)`);
      }
      lossSum += l * (to - from);
      samples += to - from;
      steps++;
      step++;
      options.onStep?.(step, l);
    }
    const record: QatEpoch = { epoch, meanLoss: lossSum / samples, steps };
    if (data.test) record.simulatedAccuracy = evaluateQat(q, data.test);
    history.push(record);
    options.onEpoch?.(record);
    if (options.checkpoint) writeQatCheckpoint(options.checkpoint, q, { epoch, step });
  }
  q.batchNormFrozen = true;
  q.freezeRanges();
  const exported = exportQat(q);
  const last = history[history.length - 1];
  return {
    model: exported.model, float: exported.float, plan: exported.plan, params: exported.params, history,
    ...(last?.simulatedAccuracy !== undefined ? { simulatedAccuracy: last.simulatedAccuracy } : {}),
    warnings: exported.warnings, qat: q,
  };
}

/** Observes `batches` shuffled training batches in float (inference mode) to start the ranges. */
export function calibrate(q: QatModel, set: LabelledImages, batchSize: number, batches: number, rng: Rng): void {
  const order = rng.permutation(set.count);
  q.mode = "observe";
  for (let b = 0, from = 0; b < batches && from < set.count; b++, from += batchSize) {
    const to = Math.min(set.count, from + batchSize);
    const { x } = gatherBatch(set, order, from, to);
    try {
      q.forward(constant(x, [to - from, ...set.sampleDims]), false);
    } catch (e) {
      throw new Error(`QAT calibration batch ${b + 1}: ${(e as Error).message}`);
    }
  }
  q.mode = "quantize";
}

function restore(q: QatModel, s: QatState): void {
  if (JSON.stringify(s.formats) !== JSON.stringify(formatsOf(q))) {
    throw new Error(`the checkpoint was trained for ${JSON.stringify(s.formats)}, not ${JSON.stringify(formatsOf(q))}`);
  }
  for (const [name, r] of Object.entries(s.ranges)) {
    const t = q.trackers.get(name);
    if (!t) throw new Error(`checkpoint has a range for ${name}, which this plan does not calibrate`);
    t.load(r, name);
  }
  if (s.activationSteps || s.weightSteps) {
    q.startLsq();
    for (const [name, v] of Object.entries(s.activationSteps ?? {})) q.activationSteps.get(name)?.step.data.set(v);
    for (const [name, v] of Object.entries(s.weightSteps ?? {})) q.weightSteps.get(name)?.step.data.set(v);
  }
  q.batchNormFrozen = s.batchNormFrozen;
}

export function formatsOf(q: QatModel): QatState["formats"] {
  return { activation: q.preset.activation, weight: q.preset.weight };
}
