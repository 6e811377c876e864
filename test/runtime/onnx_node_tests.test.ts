/**
 * The ONNX backend node tests of the quantization ops (Debian package libonnx-testdata), run
 * through the engine end to end: load model.onnx, compile it, run it on input_*.pb and compare
 * with output_*.pb.
 *
 * ConvInteger, MatMulInteger, QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear are exact
 * by specification and must match exactly. QLinearConv and QLinearMatMul's goldens come from a
 * float requantization, round_half_to_even(acc·s_x·s_w/s_y), where octet uses the fixed-point
 * multiplier, so they may differ by one step (docs/integer-arithmetic.md §11); on these goldens
 * they happen to agree everywhere, and the test allows one step.
 *
 * These models take their scales and zero points as graph inputs. Run as they are, the engine
 * prepares the kernel at run time from the values fed; with those inputs frozen as constants
 * (the `constants` option) it compiles integer steps, on both kernel backends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fedInputNames, loadNodeTest } from "../helpers/onnx_node_tests.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { createIntegerSession, type KernelChoice } from "../../src/runtime/index.js";


function load(name: string) {
  const { model, inputs, outputs } = loadNodeTest(name);
  const feeds: Record<string, Tensor> = {};
  fedInputNames(model).forEach((n, i) => { feeds[n] = inputs[i]!; });
  return { model, feeds, outputs };
}

function numbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

function compare(name: string, got: Record<string, Tensor>, expected: Tensor[], outputNames: string[], allowOneStep: boolean): void {
  outputNames.forEach((o, i) => {
    const g = got[o]!;
    const e = expected[i]!;
    assert.deepEqual(g.dims, e.dims, `${name} ${o}: dims`);
    assert.equal(g.dtype, e.dtype, `${name} ${o}: dtype`);
    const a = numbers(g);
    const b = numbers(e);
    if (!allowOneStep) {
      assert.deepEqual(a, b, `${name} ${o}: values`);
      return;
    }
    a.forEach((v, k) => assert.ok(Math.abs(v - b[k]!) <= 1, `${name} ${o}[${k}]: ${v} vs golden ${b[k]} (more than one step)`));
  });
}

const EXACT = [
  "test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding", "test_matmulinteger",
  "test_quantizelinear", "test_quantizelinear_axis", "test_dequantizelinear", "test_dequantizelinear_axis",
  "test_dynamicquantizelinear", "test_dynamicquantizelinear_max_adjusted", "test_dynamicquantizelinear_min_adjusted",
];

for (const name of EXACT) {
  test(`ONNX node test ${name} through the engine: exact`, () => {
    const { model, feeds, outputs } = load(name);
    const session = createIntegerSession(model, { kernels: "reference" });
    compare(name, session.run(feeds), outputs, model.graph.outputs.map((v) => v.name), false);
  });
}

const REQUANTIZING = [
  { name: "test_qlinearconv", data: "x" },
  { name: "test_qlinearmatmul_2D", data: "a" },
  { name: "test_qlinearmatmul_3D", data: "a" },
];

for (const { name, data } of REQUANTIZING) {
  test(`ONNX node test ${name} through the engine, parameters fed at run time: within one step`, () => {
    const { model, feeds, outputs } = load(name);
    const session = createIntegerSession(model, { kernels: "reference" });
    assert.equal(session.report.counts.integer, 1);
    compare(name, session.run(feeds), outputs, model.graph.outputs.map((v) => v.name), true);
  });
  for (const kernels of ["reference", "wasm"] as KernelChoice[]) {
    test(`ONNX node test ${name} through the engine, parameters frozen as constants (${kernels} kernels): within one step`, () => {
      const { model, feeds, outputs } = load(name);
      // Everything but the data tensor is a constant in any real model: freeze it, compile integer steps.
      const constants = Object.fromEntries(Object.entries(feeds).filter(([k]) => k !== data && k !== "b" || (name.includes("matmul") && k === "b")));
      const session = createIntegerSession(model, { kernels, constants });
      try {
        assert.deepEqual(session.inputs.map((v) => v.name), [data]);
        assert.equal(session.report.counts.integer, 1);
        assert.equal(session.report.counts.float, 0);
        compare(name, session.run({ [data]: feeds[data]! }), outputs, model.graph.outputs.map((v) => v.name), true);
      } finally {
        session.dispose();
      }
    });
  }
}
