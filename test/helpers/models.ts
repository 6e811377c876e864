/** Small ONNX models built in code for tests, with seeded random weights. */
import { makeNode, type Graph, type Model, type Node } from "../../src/graph/ir.js";
import type { Tensor } from "../../src/tensor/tensor.js";

export function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTensor(dims: number[], scale: number, random: () => number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (random() * 2 - 1) * scale;
  return { dtype: "float32", dims, data };
}

export function modelOf(graph: Graph, opset = 13): Model {
  return {
    irVersion: 8, opsetImports: [{ domain: "", version: opset }], producerName: "octet-test", producerVersion: "",
    domain: "", modelVersion: 0, docString: "", metadata: new Map(), graph,
  };
}

/**
 * A LeNet-shaped CNN on [N, 1, 8, 8]: Conv(1→8, 3×3) → Relu → MaxPool 2 → Conv(8→16, 3×3) → Relu → MaxPool 2 →
 * Flatten → Gemm(64→32) → Relu → Gemm(32→10).
 */
export function smallCnn(seed = 1): Model {
  const r = rng(seed);
  const init = new Map<string, Tensor>([
    ["w1", randomTensor([8, 1, 3, 3], 0.5, r)], ["b1", randomTensor([8], 0.1, r)],
    ["w2", randomTensor([16, 8, 3, 3], 0.2, r)], ["b2", randomTensor([16], 0.1, r)],
    ["w3", randomTensor([32, 64], 0.15, r)], ["b3", randomTensor([32], 0.1, r)],
    ["w4", randomTensor([10, 32], 0.3, r)], ["b4", randomTensor([10], 0.1, r)],
  ]);
  const ints = (v: number[]) => ({ kind: "ints" as const, value: v });
  const nodes: Node[] = [
    makeNode("Conv", ["x", "w1", "b1"], ["c1"], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }, "conv1"),
    makeNode("Relu", ["c1"], ["r1"], {}, "relu1"),
    makeNode("MaxPool", ["r1"], ["p1"], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, "pool1"),
    makeNode("Conv", ["p1", "w2", "b2"], ["c2"], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }, "conv2"),
    makeNode("Relu", ["c2"], ["r2"], {}, "relu2"),
    makeNode("MaxPool", ["r2"], ["p2"], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, "pool2"),
    makeNode("Flatten", ["p2"], ["f"], { axis: { kind: "int", value: 1 } }, "flatten"),
    makeNode("Gemm", ["f", "w3", "b3"], ["g1"], { transB: { kind: "int", value: 1 } }, "fc1"),
    makeNode("Relu", ["g1"], ["r3"], {}, "relu3"),
    makeNode("Gemm", ["r3", "w4", "b4"], ["logits"], { transB: { kind: "int", value: 1 } }, "fc2"),
  ];
  return modelOf({
    name: "small_cnn",
    nodes,
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 1, 8, 8] }],
    outputs: [{ name: "logits", dtype: "float32", shape: ["N", 10] }],
    initializers: init,
    valueInfo: new Map(),
  });
}
