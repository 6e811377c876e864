// `octet qat` (src/train/cli.ts, registered on a fresh commander program): a short run from an
// ONNX model and from an octet checkpoint writes a QDQ model onnxruntime loads; bad input is a
// clear error that leaves no output and the input untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import * as ort from "onnxruntime-node";
import { writeNpy } from "../../src/data/npy.js";
import { loadMnist } from "../../src/data/mnist.js";
import { saveModel } from "../../src/onnx/files.js";
import { saveCheckpoint } from "../../src/train/checkpoint.js";
import { registerQat } from "../../src/train/cli.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { Rng } from "../../src/train/init.js";
import { Sequential, type LayerSpec } from "../../src/train/layers.js";

const specs: LayerSpec[] = [
  { type: "conv2d", inChannels: 1, outChannels: 4, kernel: [5, 5], strides: [2, 2], bias: false },
  { type: "batchnorm", channels: 4 },
  { type: "relu" },
  { type: "maxpool2d", kernel: [2, 2] },
  { type: "flatten" },
  { type: "linear", inFeatures: 4 * 6 * 6, outFeatures: 10 },
];

async function octetQat(...args: string[]): Promise<void> {
  const program = new Command("octet").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerQat(program);
  await program.parseAsync(["qat", ...args, "--quiet"], { from: "user" });
}

async function workdir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "octet-qat-cli-"));
  const seq = new Sequential(specs, new Rng(1));
  saveModel(sequentialToModel(seq, { sampleDims: [1, 28, 28] }), join(dir, "model.onnx"));
  saveCheckpoint(join(dir, "model.ckpt"), seq);
  const test = loadMnist("test");
  await writeNpy(join(dir, "eval.npy"), { dtype: "float32", dims: [100, 1, 28, 28], data: test.images.slice(0, 100 * 784) });
  await writeNpy(join(dir, "eval_labels.npy"), { dtype: "int64", dims: [100], data: BigInt64Array.from(test.labels.subarray(0, 100), (v) => BigInt(v)) });
  return dir;
}

const quick = (dir: string) => ["--data", "mnist", "--train-limit", "256", "--max-steps", "4", "--batch-size", "32", "--calibration-batches", "2",
  "--eval-data", join(dir, "eval.npy"), "--eval-labels", join(dir, "eval_labels.npy")];

test("octet qat from an ONNX model and from a checkpoint writes QDQ models onnxruntime runs", async () => {
  const dir = await workdir();
  try {
    await octetQat(join(dir, "model.onnx"), "-o", join(dir, "q.onnx"), ...quick(dir), "--checkpoint", join(dir, "state.onnx"), "--save-float", join(dir, "float.onnx"));
    await octetQat(join(dir, "model.ckpt"), "-o", join(dir, "q4.onnx"), ...quick(dir), "--lsq", "--weight-type", "int4", "--per-tensor");
    for (const [name, level] of [["q.onnx", "all"], ["q4.onnx", "all"], ["float.onnx", "all"], ["state.onnx", "all"]] as const) {
      const session = await ort.InferenceSession.create(join(dir, name), { graphOptimizationLevel: level });
      const out = await session.run({ input: new ort.Tensor("float32", new Float32Array(2 * 784), [2, 1, 28, 28]) });
      assert.deepEqual(out.logits!.dims, [2, 10], name);
    }
    assert.ok(readFileSync(join(dir, "q.onnx")).includes(Buffer.from("QuantizeLinear")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("octet qat: bad input is a clear error; no output is written and the input is untouched", async () => {
  const dir = await workdir();
  try {
    const model = join(dir, "model.onnx");
    const before = readFileSync(model);
    const out = join(dir, "out.onnx");
    const cases: Array<[string[], RegExp]> = [
      [[model, "-o", model, ...quick(dir)], /is the input model/],
      [[join(dir, "missing.onnx"), "-o", out, ...quick(dir)], /model .*missing\.onnx does not exist/],
      [[model, "-o", join(dir, "no", "out.onnx"), ...quick(dir)], /directory .* does not exist/],
      [[model, "-o", out, ...quick(dir), "--lr", "-1"], /learning rate must be a number in/],
      [[model, "-o", out, ...quick(dir), "--lr", "fast"], /--lr must be a number, got "fast"/],
      [[model, "-o", out, ...quick(dir), "--epochs", "0"], /epochs must be an integer in \[1, 1000\]/],
      [[model, "-o", out, ...quick(dir), "--per-channel", "--per-tensor"], /exclude each other/],
      [[model, "-o", out, ...quick(dir), "--threads", "0"], /--threads must be an integer/],
      [[model, "-o", out, "--data", "cifar"], /--data must be mnist, mnist:train, mnist:test or a \.npy file/],
      [[model, "-o", out, "--data", join(dir, "eval.npy")], /needs its labels/],
      [[model, "-o", out, ...quick(dir), "--weight-type", "int3"], /unknown quantization dtype|int3/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(octetQat(...args), message, args.join(" "));
      assert.equal(existsSync(out), false, `${args.join(" ")} left an output`);
    }
    writeFileSync(out, "existing");
    await assert.rejects(octetQat(model, "-o", out, ...quick(dir)), /already exists \(use --force to overwrite\)/);
    assert.equal(readFileSync(out, "utf8"), "existing");
    assert.deepEqual(readFileSync(model), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
