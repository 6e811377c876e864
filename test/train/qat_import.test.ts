// ONNX models as trainable networks (src/train/graph-model.ts): a Sequential's export trains like
// the Sequential (outputs and gradients), a hand-built graph of the other supported ops computes
// what onnxruntime computes, trained values go back into the model, and bad models fail clearly.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { makeNode, type Model } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { referenceKernels } from "../../src/kernels/float/kernels.js";
import { tensor } from "../../src/tensor/tensor.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { sequentialToModel } from "../../src/train/export-graph.js";
import { GraphModel } from "../../src/train/graph-model.js";
import { Rng } from "../../src/train/init.js";
import { Sequential, type LayerSpec } from "../../src/train/layers.js";
import { softmaxCrossEntropy } from "../../src/train/loss.js";
import { backward, constant } from "../../src/train/tape.js";
import { QatModel } from "../../src/train/qat/qat_model.js";

useFloatKernels(referenceKernels);

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rtol = 1e-5): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= rtol * scale, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test("a Sequential's ONNX export trains like the Sequential: outputs, gradients, BatchNorm statistics", () => {
  const specs: LayerSpec[] = [
    { type: "conv2d", inChannels: 1, outChannels: 4, kernel: [3, 3], pads: [1, 1, 1, 1] },
    { type: "batchnorm", channels: 4 },
    { type: "hardswish" },
    { type: "avgpool2d", kernel: [2, 2] },
    { type: "conv2d", inChannels: 4, outChannels: 4, kernel: [3, 3], group: 4 },
    { type: "relu6" },
    { type: "globalavgpool" },
    { type: "flatten" },
    { type: "linear", inFeatures: 4, outFeatures: 3 },
    { type: "sigmoid" },
  ];
  const rng = new Rng(4);
  const seq = new Sequential(specs, rng);
  const net = new GraphModel(sequentialToModel(seq, { sampleDims: [1, 8, 8] }));
  const x = Float32Array.from({ length: 3 * 64 }, () => rng.uniform());
  const labels = [0, 2, 1];
  for (const training of [true, false]) {
    const a = seq.forward(constant(x, [3, 1, 8, 8]), { training });
    const b = net.forward(constant(x, [3, 1, 8, 8]), { training });
    close(b.data, a.data, `output (training ${training})`);
    if (!training) continue;
    backward(softmaxCrossEntropy(a, labels));
    backward(softmaxCrossEntropy(b, labels));
    for (const [name, p] of seq.params) close(net.param(name).grad!, p.grad!, `∂loss/∂${name}`, 1e-4);
    close(net.batchNorms.get("BatchNormalization_1.batchnorm")!.runningVar, seq.batchNorms.get(1)!.runningVar, "running var");
  }
});

/** input [2, 6] → Gemm(transB 0, alpha) → Add(const) → Mul(const) → Relu ∥ Reshape → MatMul → Reshape; → Concat → Identity → Dropout. */
function handBuilt(): Model {
  const rng = new Rng(8);
  const t = (dims: number[]) => tensor("float32", dims, Float32Array.from({ length: dims.reduce((s, d) => s * d, 1) }, () => rng.uniform() * 2 - 1));
  const initializers = new Map([
    ["B", t([6, 4])], ["C", t([4])], ["addend", t([4])], ["factor", t([1, 4])], ["M", t([3, 2])],
    ["shape", tensor("int64", [2], BigInt64Array.of(-1n, 3n))],
  ]);
  return {
    irVersion: 7, opsetImports: [{ domain: "", version: 13 }], producerName: "test", producerVersion: "", domain: "", modelVersion: 1, docString: "", metadata: new Map(),
    graph: {
      name: "g", initializers, valueInfo: new Map(),
      inputs: [{ name: "input", dtype: "float32", shape: ["n", 6] }],
      outputs: [{ name: "out", dtype: "float32" }],
      nodes: [
        makeNode("Gemm", ["input", "B", "C"], ["g"], { alpha: { kind: "float", value: 0.5 } }, "gemm"),
        makeNode("Add", ["g", "addend"], ["a"], {}, "add"),
        makeNode("Mul", ["a", "factor"], ["m"], {}, "mul"),
        makeNode("Relu", ["m"], ["r"], {}, "relu"),
        makeNode("Reshape", ["input", "shape"], ["rs"], {}, "reshape"),
        makeNode("MatMul", ["rs", "M"], ["mm"], {}, "matmul"),
        makeNode("Reshape", ["mm", "shape2"], ["mm2"], {}, "reshape2"),
        makeNode("Concat", ["r", "mm2"], ["c"], { axis: { kind: "int", value: 1 } }, "concat"),
        makeNode("Identity", ["c"], ["i"], {}, "identity"),
        makeNode("Dropout", ["i"], ["out"], {}, "dropout"),
      ],
    },
  };
}

test("a hand-built graph of the other supported ops computes what onnxruntime computes", async () => {
  const model = handBuilt();
  model.graph.initializers.set("shape2", tensor("int64", [2], BigInt64Array.of(2n, -1n)));
  const net = new GraphModel(model);
  const x = Float32Array.from({ length: 12 }, (_, i) => (i - 5) / 4);
  const ours = net.forward(constant(x, [2, 6]), { training: false }).data;
  const session = await ort.InferenceSession.create(encodeModel(model));
  const theirs = (await session.run({ input: new ort.Tensor("float32", x, [2, 6]) })).out!.data as Float32Array;
  close(ours, theirs, "hand-built graph vs onnxruntime");
  // Trained values go back into a copy of the model: scaling the factor doubles the Relu branch.
  net.param("factor").data.set(net.param("factor").data.map((v) => 2 * v));
  const updated = net.toModel();
  assert.notEqual(updated.graph.initializers.get("factor"), model.graph.initializers.get("factor"));
  const again = (await (await ort.InferenceSession.create(encodeModel(updated))).run({ input: new ort.Tensor("float32", x, [2, 6]) })).out!.data as Float32Array;
  for (let row = 0; row < 2; row++) for (let j = 0; j < 4; j++) close([again[row * 8 + j]!], [2 * theirs[row * 8 + j]!], `doubled Relu branch ${row},${j}`);
});

test("bad models fail clearly: unsupported ops, wrong input dims, attribute values not implemented", () => {
  const withSoftmax = handBuilt();
  withSoftmax.graph.initializers.set("shape2", tensor("int64", [2], BigInt64Array.of(2n, -1n)));
  withSoftmax.graph.nodes.push(makeNode("Softmax", ["out"], ["probs"], {}, "softmax"), makeNode("LSTM", ["probs"], ["h"], {}, "lstm"));
  withSoftmax.graph.outputs = [{ name: "h", dtype: "float32" }];
  assert.throws(() => new GraphModel(withSoftmax), /unsupported ops softmax \(Softmax\), lstm \(LSTM\); supported: Conv/);
  assert.throws(() => QatModel.create(withSoftmax), /unsupported ops/);

  const lenet = sequentialToModel(new Sequential([{ type: "conv2d", inChannels: 1, outChannels: 2, kernel: [3, 3] }, { type: "flatten" }], new Rng(1)), { sampleDims: [1, 5, 5] });
  const net = new GraphModel(lenet);
  assert.throws(() => net.forward(constant(new Float32Array(2 * 36), [2, 1, 6, 6]), { training: false }), /input input has dims \[2, 1, 6, 6\], the model expects \[batch, 1, 5, 5\]/);

  const ceil = sequentialToModel(new Sequential([{ type: "maxpool2d", kernel: [2, 2] }], new Rng(1)), { sampleDims: [1, 4, 4] });
  ceil.graph.nodes[0]!.attributes.set("ceil_mode", { kind: "int", value: 1 });
  assert.throws(() => new GraphModel(ceil), /cannot train node .* \(MaxPool\): ceil_mode 1/);

  const twoInputs = handBuilt();
  twoInputs.graph.inputs.push({ name: "other", dtype: "float32", shape: [1] });
  assert.throws(() => new GraphModel(twoInputs), /one input, this one has 2/);
});
