/**
 * `octet qat model.onnx|model.ckpt -o model.qat.onnx --data mnist [options]`: quantization-aware
 * fine-tuning (src/train/qat) of a float model, written as the same QDQ ONNX as `octet quantize`.
 */
import { existsSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { loadMnist } from "../data/mnist.js";
import { readNpy } from "../data/npy.js";
import type { Model } from "../graph/ir.js";
import { relaxedSimdSupported, WasmFloatKernels } from "../kernels/float/wasm.js";
import { loadModel, saveModel } from "../onnx/files.js";
import { parseQuantDType } from "../quant/dtype.js";
import { toFloat32, toNumbers } from "../tensor/tensor.js";
import { useFloatKernels } from "./backend.js";
import { loadCheckpointModel } from "./checkpoint.js";
import type { LabelledImages } from "./classifier.js";
import type { Sequential } from "./layers.js";
import { qat, type QatOptions } from "./qat/qat.js";

interface QatCliOptions {
  output: string;
  data: string;
  labels?: string;
  evalData?: string;
  evalLabels?: string;
  trainLimit?: number;
  epochs: number;
  batchSize: number;
  lr?: number;
  optimizer: "sgd" | "adam";
  momentum?: number;
  weightDecay?: number;
  lsq?: boolean;
  emaDecay?: number;
  calibrationBatches?: number;
  freezeBn?: number;
  freezeRanges?: number;
  maxSteps?: number;
  seed: number;
  preset: "ort" | "tensorrt" | "tflite";
  perChannel?: boolean;
  perTensor?: boolean;
  weightType?: string;
  activationType?: string;
  exclude?: string[];
  checkpoint?: string;
  saveFloat?: string;
  threads: number;
  force?: boolean;
  quiet?: boolean;
  json?: boolean;
}

const number = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return n;
};
const list = (v: string, previous: string[] = []) => [...previous, ...v.split(",").map((s) => s.trim()).filter(Boolean)];

export function registerQat(program: Command): void {
  program
    .command("qat")
    .description("quantization-aware training (fine-tuning with fake quantization), written as QDQ ONNX")
    .argument("<model>", "float model: ONNX (.onnx, also a QAT checkpoint to continue) or an octet checkpoint (.ckpt)")
    .requiredOption("-o, --output <path>", "where to write the quantized model")
    .option("--data <spec>", "training data: mnist, or images .npy [N, ...] with --labels", "mnist")
    .option("--labels <file>", ".npy of integer labels for --data")
    .option("--eval-data <spec>", "evaluation data (default mnist:test with --data mnist)")
    .option("--eval-labels <file>", ".npy of integer labels for --eval-data")
    .option("--train-limit <n>", "use only the first n training samples", number("--train-limit"))
    .option("--epochs <n>", "epochs", number("--epochs"), 1)
    .option("--batch-size <n>", "mini-batch size", number("--batch-size"), 64)
    .option("--lr <x>", "peak learning rate, cosine decay (default 1e-3 SGD, 1e-4 Adam)", number("--lr"))
    .addOption(new Option("--optimizer <name>", "optimizer").choices(["sgd", "adam"]).default("sgd"))
    .option("--momentum <x>", "SGD momentum (default 0.9)", number("--momentum"))
    .option("--weight-decay <x>", "L2 weight decay (default 0)", number("--weight-decay"))
    .option("--lsq", "learn the step sizes (LSQ, Esser et al. 2019) instead of EMA/min-max ranges")
    .option("--ema-decay <x>", "EMA decay of activation ranges (default 0.99)", number("--ema-decay"))
    .option("--calibration-batches <n>", "float batches that start the ranges (default 16)", number("--calibration-batches"))
    .option("--freeze-bn <fraction>", "freeze BatchNorm statistics after this fraction of the steps (default 0.5)", number("--freeze-bn"))
    .option("--freeze-ranges <fraction>", "freeze activation ranges after this fraction of the steps (default 0.75)", number("--freeze-ranges"))
    .option("--max-steps <n>", "stop after n steps", number("--max-steps"))
    .option("--seed <n>", "seed of shuffling", number("--seed"), 1)
    .addOption(new Option("--preset <name>", "target").choices(["ort", "tensorrt", "tflite"]).default("ort"))
    .option("--per-channel", "per-channel weights (default)")
    .option("--per-tensor", "per-tensor weights")
    .option("--weight-type <type>", "int8 | uint8 | int4 | uint4 | int16")
    .option("--activation-type <type>", "uint8 | int8 | int16 | uint16 | int4 | uint4")
    .option("--exclude <names>", "node names or op types to keep in float (comma-separated, repeatable)", list)
    .option("--checkpoint <path>", "write a QAT checkpoint (ONNX with the training state) after every epoch")
    .option("--save-float <path>", "also write the fine-tuned float model")
    .option("--threads <n>", "training kernel threads", number("--threads"), 1)
    .option("-f, --force", "overwrite existing outputs")
    .option("-q, --quiet", "print only errors")
    .option("--json", "print a JSON summary")
    .action(async (input: string, o: QatCliOptions) => {
      if (o.perChannel && o.perTensor) throw new Error("--per-channel and --per-tensor exclude each other");
      if (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > 64) throw new Error(`--threads must be an integer in [1, 64], got ${o.threads}`);
      if (!existsSync(input)) throw new Error(`model ${input} does not exist`);
      for (const [path, what] of [[o.output, "output model"], [o.saveFloat, "float model"]] as const) {
        if (path) checkOutput(input, path, o.force ?? false, what);
      }
      if (o.checkpoint) checkOutput(input, o.checkpoint, true, "checkpoint");
      const log = (s: string) => { if (!o.quiet && !o.json) process.stderr.write(s + "\n"); };
      const train = await labelledSet(o.data, o.labels, "--data", o.trainLimit);
      const evalSpec = o.evalData ?? (o.data.startsWith("mnist") ? "mnist:test" : undefined);
      const test = evalSpec ? await labelledSet(evalSpec, o.evalLabels, "--eval-data") : undefined;
      const model: Model | Sequential = input.endsWith(".ckpt") ? loadCheckpointModel(input).model : loadModel(input);

      const kernels = new WasmFloatKernels({ threads: o.threads, relaxedSimd: relaxedSimdSupported() });
      const previous = useFloatKernels(kernels);
      const options: QatOptions = {
        preset: o.preset, epochs: o.epochs, batchSize: o.batchSize, optimizer: o.optimizer, seed: o.seed,
        ...(o.perTensor ? { perChannel: false } : o.perChannel ? { perChannel: true } : {}),
        ...(o.weightType ? { weightType: parseQuantDType(o.weightType) } : {}),
        ...(o.activationType ? { activationType: parseQuantDType(o.activationType) } : {}),
        ...(o.exclude ? { exclude: o.exclude } : {}),
        ...(o.lr !== undefined ? { lr: o.lr } : {}),
        ...(o.momentum !== undefined ? { momentum: o.momentum } : {}),
        ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}),
        ...(o.lsq ? { lsq: true } : {}),
        ...(o.emaDecay !== undefined ? { emaDecay: o.emaDecay } : {}),
        ...(o.calibrationBatches !== undefined ? { calibrationBatches: o.calibrationBatches } : {}),
        ...(o.freezeBn !== undefined ? { freezeBatchNorm: o.freezeBn } : {}),
        ...(o.freezeRanges !== undefined ? { freezeRanges: o.freezeRanges } : {}),
        ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
        ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}),
        onStep: (step, loss) => { if (step % 100 === 0) log(`step ${step}: loss ${loss.toFixed(4)}`); },
        onEpoch: (e) => log(`epoch ${e.epoch}: mean loss ${e.meanLoss.toFixed(4)} over ${e.steps} steps` +
          (e.simulatedAccuracy !== undefined ? `, simulated accuracy ${(100 * e.simulatedAccuracy).toFixed(2)}%` : "")),
      };
      const started = performance.now();
      let result;
      try {
        result = await qat(model, { train, ...(test ? { test } : {}) }, options);
      } finally {
        if (previous) useFloatKernels(previous);
        kernels.dispose();
      }
      for (const w of result.warnings) process.stderr.write(`octet: warning: ${w}\n`);
      saveModel(result.model, o.output, { overwrite: o.force ?? false });
      if (o.saveFloat) saveModel(result.float, o.saveFloat, { overwrite: o.force ?? false });
      const seconds = (performance.now() - started) / 1000;
      if (o.json) {
        process.stdout.write(JSON.stringify({
          output: o.output, history: result.history, simulatedAccuracy: result.simulatedAccuracy ?? null,
          quantizedNodes: result.plan.quantizedNodes.length, weights: result.plan.weights.size, activations: result.plan.activations.size, seconds,
        }, null, 2) + "\n");
      }
      log(`wrote ${o.output}${o.saveFloat ? ` and ${o.saveFloat}` : ""} (${result.plan.weights.size} weights, ${result.plan.activations.size} activations quantized) in ${seconds.toFixed(1)} s`);
    });
}

/** Refuses a missing directory, and an existing file (the input included) unless `force`. */
function checkOutput(input: string, output: string, force: boolean, what: string): void {
  const dir = dirname(resolve(output));
  if (!existsSync(dir)) throw new Error(`${what}: directory ${dir} does not exist`);
  if (existsSync(output)) {
    const isInput = realpathSync(output) === realpathSync(input);
    if (isInput) throw new Error(`${what} ${output} is the input model`);
    if (!force) throw new Error(`${what} ${output} already exists (use --force to overwrite)`);
  }
}

/** mnist / mnist:train / mnist:test, or an images .npy with a labels .npy. */
async function labelledSet(spec: string, labelsPath: string | undefined, option: string, limit?: number): Promise<LabelledImages> {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error(`--train-limit must be a positive integer, got ${limit}`);
  let set: LabelledImages;
  if (spec === "mnist" || spec === "mnist:train" || spec === "mnist:test") {
    const raw = loadMnist(spec === "mnist:test" ? "test" : "train");
    set = { images: raw.images, labels: raw.labels, count: raw.count, sampleDims: [1, 28, 28] };
  } else if (spec.endsWith(".npy")) {
    if (!labelsPath) throw new Error(`${option} ${spec} needs its labels (.npy of integers)`);
    const images = await readNpy(spec);
    const labels = toNumbers(await readNpy(labelsPath));
    if (images.dims.length < 2) throw new Error(`${spec} has dims [${images.dims.join(", ")}]; expected [samples, ...sample dims]`);
    if (labels.length !== images.dims[0]) throw new Error(`${labelsPath} has ${labels.length} labels for ${images.dims[0]} samples in ${spec}`);
    set = { images: toFloat32(images), labels, count: images.dims[0]!, sampleDims: images.dims.slice(1) };
  } else {
    throw new Error(`${option} must be mnist, mnist:train, mnist:test or a .npy file, got "${spec}"`);
  }
  return limit ? { ...set, count: Math.min(limit, set.count) } : set;
}
