/**
 * Trains one model of the MNIST story with octet's own training engine (src/train), seeded and
 * deterministic (results do not depend on the thread count: the kernels split work so that every
 * value is computed by the same operations), then saves a checkpoint and exports ONNX.
 *
 *   node --import tsx examples/mnist/train.ts [--arch lenet|mobilenet] [--epochs 4] [--threads 2] [--out /tmp/lenet]
 *
 * Prints per epoch: mean training loss, test accuracy and seconds. Writes <out>.ckpt (octet
 * checkpoint, written atomically) and <out>.onnx (opset 13), and checks the ONNX file in ONNX
 * Runtime against octet's own forward pass. The whole story (training, PTQ tables, QAT) is
 * examples/mnist/story.ts.
 *
 * By default the GEMMs use relaxed SIMD (fused multiply-add), turning on V8's flag for it on
 * Node 20; --no-relaxed-simd keeps to plain SIMD. The two give slightly different (each
 * deterministic) results.
 */
import v8 from "node:v8";
import { Command, Option } from "commander";
import { relaxedSimdSupported, WasmFloatKernels } from "../../src/kernels/float/wasm.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { defaultTrainOptions, trainMnistModel, type Architecture } from "./train_model.js";

const d = defaultTrainOptions;
const program = new Command()
  .addOption(new Option("--arch <name>", "architecture").choices(["lenet", "mobilenet"]).default("lenet"))
  .option("--epochs <n>", "epochs", String(d.epochs))
  .option("--batch-size <n>", "mini-batch size", String(d.batchSize))
  .option("--lr <x>", "peak learning rate (SGD, cosine decay to 0)", String(d.lr))
  .option("--momentum <x>", "SGD momentum", String(d.momentum))
  .option("--weight-decay <x>", "L2 weight decay", String(d.weightDecay))
  .option("--warmup <steps>", "linear warm-up steps", String(d.warmup))
  .option("--seed <n>", "seed of initial weights and shuffling", String(d.seed))
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
console.log(`kernels ${kernels.name}`);
try {
  await trainMnistModel({
    arch: o.arch as Architecture, epochs: num("epochs"), batchSize: num("batchSize"), lr: num("lr"), momentum: num("momentum"),
    weightDecay: num("weightDecay"), warmup: num("warmup"), seed: num("seed"), out: o.out!,
    ...(o.trainLimit ? { trainLimit: num("trainLimit") } : {}),
  });
} finally {
  kernels.dispose();
}
