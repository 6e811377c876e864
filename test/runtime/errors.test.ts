/**
 * Malformed models fail when the session is created, with the node or layer named; risky int32
 * biases give warnings naming the layer; bad feeds fail at run time with the input named.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Attribute, type Model, type Node, makeNode } from "../../src/graph/ir.js";
import { createIntegerSession, formatReport } from "../../src/runtime/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { randomTensor, rng } from "../helpers/models.js";

const f32 = (...v: number[]): Tensor => ({ dtype: "float32", dims: v.length === 1 ? [] : [v.length], data: Float32Array.from(v) });
const u8 = (v: number): Tensor => ({ dtype: "uint8", dims: [], data: Uint8Array.of(v) });
const i8 = (dims: number[], fill = 1): Tensor => ({ dtype: "int8", dims, data: new Int8Array(dims.reduce((a, b) => a * b, 1)).fill(fill) });
const ints = (value: number[]): Attribute => ({ kind: "ints", value });

/** x → Q → DQ → Conv(DQ(w), bias) → Q → DQ → y, with parts replaceable. */
function convModel(over: { init?: Record<string, Tensor>; conv?: Partial<Node>; xShape?: (number | string)[] } = {}): Model {
  const init = new Map<string, Tensor>(Object.entries({
    x_s: f32(0.02), x_z: u8(128),
    w: i8([4, 3, 3, 3]), w_s: f32(0.01, 0.01, 0.02, 0.01), w_z: { dtype: "int8", dims: [4], data: new Int8Array(4) },
    b: { dtype: "int32", dims: [4], data: Int32Array.of(10, -20, 30, 0) }, b_s: f32(0.0002, 0.0002, 0.0004, 0.0002), b_z: { dtype: "int32", dims: [4], data: new Int32Array(4) },
    y_s: f32(0.05), y_z: u8(128),
    ...(over.init ?? {}),
  }));
  const conv = makeNode("Conv", ["xd", "wd", "bd"], ["c"], { pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) }, "conv_layer");
  Object.assign(conv, over.conv ?? {});
  const nodes: Node[] = [
    makeNode("QuantizeLinear", ["x", "x_s", "x_z"], ["xq"], {}, "quantize_x"),
    makeNode("DequantizeLinear", ["xq", "x_s", "x_z"], ["xd"], {}, "dequantize_x"),
    makeNode("DequantizeLinear", ["w", "w_s", "w_z"], ["wd"], { axis: { kind: "int", value: 0 } }, "dequantize_w"),
    makeNode("DequantizeLinear", ["b", "b_s", "b_z"], ["bd"], { axis: { kind: "int", value: 0 } }, "dequantize_b"),
    conv,
    makeNode("QuantizeLinear", ["c", "y_s", "y_z"], ["cq"], {}, "quantize_c"),
    makeNode("DequantizeLinear", ["cq", "y_s", "y_z"], ["y"], {}, "dequantize_y"),
  ];
  return {
    irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "t", producerVersion: "", domain: "", modelVersion: 0,
    docString: "", metadata: new Map(),
    graph: {
      name: "g", nodes, initializers: init, valueInfo: new Map(),
      inputs: [{ name: "x", dtype: "float32", shape: over.xShape ?? ["N", 3, 6, 6] }],
      outputs: [{ name: "y", dtype: "float32" }],
    },
  };
}

test("a well-formed QDQ convolution compiles to one integer step and runs", () => {
  const s = createIntegerSession(convModel(), { kernels: "reference" });
  assert.equal(s.report.counts.integer, 1);
  assert.deepEqual(s.report.warnings, []);
  const y = s.run({ x: randomTensor([2, 3, 6, 6], 1, rng(1)) }).y!;
  assert.deepEqual(y.dims, [2, 4, 6, 6]);
});

test("a zero or negative scale fails at compile time naming the node", () => {
  assert.throws(() => createIntegerSession(convModel({ init: { x_s: f32(0) } })), /quantize_x.*scale\[0\] = 0.*finite and > 0/);
  assert.throws(() => createIntegerSession(convModel({ init: { w_s: f32(0.01, -0.01, 0.02, 0.01) } })), /dequantize_w.*scale\[1\] = -0\.0099/);
  assert.throws(() => createIntegerSession(convModel({ init: { y_s: f32(Infinity) } })), /quantize_c.*scale\[0\] = Infinity/);
});

test("a zero point of the wrong type or shape fails at compile time naming the node", () => {
  // The activation is uint8 (x_z) but its DequantizeLinear says int8.
  const model = convModel();
  model.graph.nodes[1] = makeNode("DequantizeLinear", ["xq", "x_s", "bad_z"], ["xd"], {}, "dequantize_x");
  model.graph.initializers.set("bad_z", { dtype: "int8", dims: [], data: Int8Array.of(0) });
  assert.throws(() => createIntegerSession(model), /dequantize_x.*zero point is int8 but the quantized tensor is uint8/);
  // One zero point for four scales.
  assert.throws(() => createIntegerSession(convModel({ init: { w_z: { dtype: "int8", dims: [1], data: new Int8Array(1) } } })),
    /dequantize_w.*zero point dims \[1\] differ from scale dims \[4\]/);
});

test("per-channel parameters that do not match the weight fail at compile time", () => {
  assert.throws(() => createIntegerSession(convModel({ init: { w_s: f32(0.01, 0.01, 0.02), w_z: { dtype: "int8", dims: [3], data: new Int8Array(3) } } })),
    /dequantize_w.*3 scales but the tensor \[4, 3, 3, 3\] has 4 along axis 0/);
});

test("shape mismatches fail at compile time naming the layer", () => {
  // Input with 5 channels for a weight expecting 3.
  assert.throws(() => createIntegerSession(convModel({ xShape: [1, 5, 6, 6] })), /conv_layer.*input has 5 channels but the weight \[4, 3, 3, 3\].*expects 3/);
  // kernel_shape that contradicts the weight.
  assert.throws(() => createIntegerSession(convModel({ conv: { attributes: new Map([["kernel_shape", ints([5, 5])]]) } })), /kernel_shape \[5, 5\] differs from the weight dims/);
  // A bias with the wrong number of values.
  const badBias = convModel({ init: { b: { dtype: "int32", dims: [3], data: new Int32Array(3) }, b_s: f32(0.0002, 0.0002, 0.0004), b_z: { dtype: "int32", dims: [3], data: new Int32Array(3) } } });
  assert.throws(() => createIntegerSession(badBias), /conv_layer: bias has 3 values but the layer has 4 output channels/);
});

test("feeds with the wrong dtype, rank, dims or name fail at run time naming the input", () => {
  const s = createIntegerSession(convModel({ xShape: ["N", 3, 6, 6] }), { kernels: "reference" });
  assert.throws(() => s.run({ x: { dtype: "int8", dims: [1, 3, 6, 6], data: new Int8Array(108) } }), /input x: expected float32, got int8/);
  assert.throws(() => s.run({ x: randomTensor([3, 6, 6], 1, rng(2)) }), /input x: expected rank 4/);
  assert.throws(() => s.run({ x: randomTensor([1, 3, 7, 6], 1, rng(2)) }), /input x: dim 2 must be 6/);
  assert.throws(() => s.run({ y: randomTensor([1, 3, 6, 6], 1, rng(2)) }), /unknown input y/);
  assert.throws(() => s.run({}), /missing input: x/);
});

test("a float bias that does not fit int32 on the scale input × weight is saturated with a warning naming the layer", () => {
  // A float bias (not quantized by the model) of 1e6 on an accumulator scale of 0.02·0.01 = 2e-4 is 5e9 > 2^31.
  const model = convModel();
  model.graph.initializers.set("b_float", f32(1e6, 0.1, -0.2, 0.3));
  model.graph.nodes = model.graph.nodes.filter((n) => n.name !== "dequantize_b");
  model.graph.nodes.find((n) => n.name === "conv_layer")!.inputs[2] = "b_float";
  const s = createIntegerSession(model, { kernels: "reference" });
  assert.equal(s.report.counts.integer, 1);
  assert.ok(s.report.warnings.some((w) => /conv_layer.*int32 bias overflow.*1 of 4/.test(w)), s.report.warnings.join("\n"));
  assert.match(formatReport(s.report), /warning: layer conv_layer/);
});

test("an accumulator that can exceed int32 in the worst case gives a warning naming the layer", () => {
  // 3·3·40 000 taps of |w − z_w| = 127 against inputs up to 128 away from their zero point: ~4.6e9 > 2^31.
  const c = 40000;
  const model = convModel({
    xShape: [1, c, 6, 6],
    init: { w: i8([4, c, 3, 3], 127) },
  });
  const s = createIntegerSession(model, { kernels: "reference" });
  assert.ok(s.report.warnings.some((w) => /conv_layer: int32 bias overflow risk: 4 of 4 output channels/.test(w)), s.report.warnings.join("\n"));
});

test("an op with neither an integer kernel nor a float implementation fails at compile time, naming it", () => {
  const model = convModel();
  model.graph.nodes.push(makeNode("NonMaxSuppression", ["y"], ["z"], {}, "nms"));
  model.graph.outputs = [{ name: "z", dtype: "int64" }];
  assert.throws(() => createIntegerSession(model), /cannot run this model:\n.*nms \(NonMaxSuppression\)/);
});
