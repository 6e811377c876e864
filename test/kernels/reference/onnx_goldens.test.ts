/**
 * The reference kernels against the ONNX backend test suite's node tests (Debian package
 * libonnx-testdata): model.onnx holds one node, test_data_set_0 its inputs and expected outputs as
 * TensorProto files. ConvInteger, MatMulInteger, QuantizeLinear and DequantizeLinear are exact by
 * specification, so they must match exactly. QLinearConv and QLinearMatMul are specified (and
 * their goldens produced) with a float requantization, round_half_to_even(acc·s_x·s_w/s_y), where
 * octet uses the fixed-point multiplier, so they may differ by one step (docs/integer-arithmetic.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadNodeTest } from "../../helpers/onnx_node_tests.js";
import { attr, type Node } from "../../../src/graph/ir.js";
import type { Tensor } from "../../../src/tensor/tensor.js";
import type { QParams } from "../../../src/quant/qparams.js";
import {
  conv2d, conv2dViaGemm, convInteger, dequantizeLinear, matMul, matMulInteger, prepareConv2d, prepareMatMul, quantizeLinear,
} from "../../../src/kernels/reference/index.js";


interface Golden {
  node: Node;
  inputs: Tensor[];
  outputs: Tensor[];
}

function loadGolden(name: string): Golden {
  const { model, inputs, outputs } = loadNodeTest(name);
  assert.equal(model.graph.nodes.length, 1, `${name}: expected a single-node model`);
  return { node: model.graph.nodes[0]!, inputs, outputs };
}

function numbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Per-tensor or per-axis QParams from ONNX scale and zero-point tensors. */
function qparams(scale: Tensor, zeroPoint: Tensor | undefined, axis?: number): QParams {
  const s = numbers(scale);
  const z = zeroPoint ? numbers(zeroPoint) : s.map(() => 0);
  const dtype = (zeroPoint?.dtype ?? "uint8") as "int8" | "uint8";
  return { dtype, scale: Float32Array.from(s), zeroPoint: Int32Array.from(z), ...(s.length > 1 ? { axis: axis ?? 0 } : {}) };
}

function assertWithinOneStep(got: Tensor, expected: Tensor, what: string): number {
  assert.deepEqual(got.dims, expected.dims, `${what}: dims`);
  const g = numbers(got);
  const e = numbers(expected);
  let off = 0;
  g.forEach((v, i) => {
    const d = Math.abs(v - e[i]!);
    assert.ok(d <= 1, `${what}: element ${i} is ${v}, ONNX expects ${e[i]}`);
    if (d === 1) off++;
  });
  return off;
}

test("ONNX golden: QLinearConv (uint8 weights with zero point 255) within one step", () => {
  const { node, inputs, outputs } = loadGolden("test_qlinearconv");
  const [x, xs, xz, w, ws, wz, ys, yz] = inputs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  const plan = prepareConv2d(
    { pads: attr(node, "pads", "ints"), strides: attr(node, "strides", "ints"), group: attr(node, "group", "int") },
    { input: qparams(xs, xz), weight: qparams(ws, wz, 0), output: qparams(ys, yz) },
  );
  const y = conv2d(plan, x, w, inputs[8]);
  const off = assertWithinOneStep(y, outputs[0]!, "QLinearConv");
  assert.deepEqual(numbers(conv2dViaGemm(plan, x, w, inputs[8])), numbers(y));
  // The golden rounds acc·M to even in float; the fixed-point path agrees on all but a few near-ties.
  assert.ok(off <= 2, `QLinearConv: ${off} of ${y.data.length} elements one step off`);
});

for (const name of ["test_qlinearmatmul_2D", "test_qlinearmatmul_3D"]) {
  test(`ONNX golden: ${name} within one step`, () => {
    const { inputs, outputs } = loadGolden(name);
    const [a, as, az, b, bs, bz, ys, yz] = inputs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const y = matMul(prepareMatMul({ a: qparams(as, az), b: qparams(bs, bz), output: qparams(ys, yz) }), a, b);
    const off = assertWithinOneStep(y, outputs[0]!, name);
    assert.ok(off <= 1, `${name}: ${off} elements one step off`);
  });
}

for (const name of ["test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding"]) {
  test(`ONNX golden: ${name} exactly`, () => {
    const { node, inputs, outputs } = loadGolden(name);
    const [x, w, xz, wz] = inputs as [Tensor, Tensor, Tensor?, Tensor?];
    const y = convInteger(x, w, xz ? numbers(xz)[0] : 0, wz ? numbers(wz) : [0], {
      pads: attr(node, "pads", "ints"), strides: attr(node, "strides", "ints"), dilations: attr(node, "dilations", "ints"), group: attr(node, "group", "int"),
    });
    assert.deepEqual(y.dims, outputs[0]!.dims);
    assert.deepEqual(numbers(y), numbers(outputs[0]!));
  });
}

test("ONNX golden: test_matmulinteger exactly", () => {
  const { inputs, outputs } = loadGolden("test_matmulinteger");
  const [a, b, az, bz] = inputs as [Tensor, Tensor, Tensor, Tensor];
  const y = matMulInteger(a, b, numbers(az), numbers(bz));
  assert.deepEqual(y.dims, outputs[0]!.dims);
  assert.deepEqual(numbers(y), numbers(outputs[0]!));
});

for (const name of ["test_quantizelinear", "test_quantizelinear_axis"]) {
  test(`ONNX golden: ${name} exactly`, () => {
    const { node, inputs, outputs } = loadGolden(name);
    const [x, s, z] = inputs as [Tensor, Tensor, Tensor];
    const y = quantizeLinear(x, qparams(s, z, attr(node, "axis", "int") ?? 1));
    assert.equal(y.dtype, outputs[0]!.dtype);
    assert.deepEqual(y.dims, outputs[0]!.dims);
    assert.deepEqual(numbers(y), numbers(outputs[0]!));
  });
}

for (const name of ["test_dequantizelinear", "test_dequantizelinear_axis"]) {
  test(`ONNX golden: ${name} exactly`, () => {
    const { node, inputs, outputs } = loadGolden(name);
    const [q, s, z] = inputs as [Tensor, Tensor, Tensor];
    const y = dequantizeLinear(q, { ...qparams(s, z, attr(node, "axis", "int") ?? 1), dtype: q.dtype as "int8" | "uint8" });
    assert.equal(y.dtype, "float32");
    assert.deepEqual(y.dims, outputs[0]!.dims);
    assert.deepEqual(numbers(y), numbers(outputs[0]!));
  });
}
