/**
 * The ONNX backend node tests (Debian package libonnx-testdata) of the float ops octet's engine
 * runs outside the integer part — float islands between DequantizeLinear and QuantizeLinear,
 * shape arithmetic, fused LayerNormalization — through the engine end to end, against the
 * package's goldens with ONNX's own backend-test tolerance (|a − b| ≤ 1e-7 + 1e-3·|b|).
 *
 * Every directory of each family below runs, except these, which octet does not support and says
 * so with a clear error: float16/bfloat16 tensors and string casts (octet has no such tensors);
 * GatherElements; Identity on optionals and sequences. HardSigmoid's and GlobalAveragePool's tests
 * use opsets 6 and 1, below the opset 9 octet reads. MaxPool, AveragePool, Pad and Resize are not
 * here: the engine runs them only on quantized tensors (integer kernels), never in float.
 * ConvInteger and the quantization ops have their own test (onnx_node_tests.test.ts). Inputs that are weights in real models (LayerNormalization's
 * scale and bias) are frozen as constants, as in a quantized model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fedInputNames, loadNodeTest, NODE_TESTS } from "../helpers/onnx_node_tests.js";
import { existsSync, readdirSync } from "node:fs";
import type { Tensor } from "../../src/tensor/tensor.js";
import { createIntegerSession } from "../../src/runtime/index.js";


const FAMILIES = [
  "add", "sub", "mul", "div", "pow", "sqrt", "exp", "neg", "abs", "reciprocal", "where",
  "max", "min", "mean", "reduce_mean", "softmax", "matmul", "gemm", "conv", "basic_conv",
  "relu", "sigmoid", "tanh", "leakyrelu", "hardswish", "clip", "layer_normalization",
  "transpose", "reshape", "flatten", "squeeze", "unsqueeze", "concat", "slice", "split", "gather",
  "identity", "shape", "cast",
];
const UNSUPPORTED = /float16|^test_cast_.*STRING|^test_identity_(opt|sequence)$|^test_gather_elements|^test_basic_convinteger$/i;
/** Weights in any real model: fed as inputs by these tests, frozen as constants here. */
const FROZEN_INPUTS: Record<string, number[]> = { layer_normalization: [1, 2] };

function cases(family: string): string[] {
  if (!existsSync(NODE_TESTS)) throw new Error(`${NODE_TESTS} is missing: install the Debian package libonnx-testdata`);
  return readdirSync(NODE_TESTS).filter((n) => (n === `test_${family}` || n.startsWith(`test_${family}_`)) && !UNSUPPORTED.test(n)).sort();
}

function runCase(name: string, frozen: number[]): string | undefined {
  const { model, inputs, outputs: expected } = loadNodeTest(name);
  const feeds: Record<string, Tensor> = {};
  const constants: Record<string, Tensor> = {};
  fedInputNames(model).forEach((n, i) => {
    (frozen.includes(i) ? constants : feeds)[n] = inputs[i]!;
  });
  const session = createIntegerSession(model, { kernels: "reference", constants });
  const got = session.run(feeds);
  for (const [i, info] of model.graph.outputs.entries()) {
    const g = got[info.name]!;
    const e = expected[i]!;
    if (g.dims.join() !== e.dims.join()) return `${info.name}: dims [${g.dims}] vs golden [${e.dims}]`;
    if (g.dtype !== e.dtype) return `${info.name}: ${g.dtype} vs golden ${e.dtype}`;
    const a = Array.from(g.data as ArrayLike<number | bigint>, Number);
    const b = Array.from(e.data as ArrayLike<number | bigint>, Number);
    for (let k = 0; k < a.length; k++) {
      if (Number.isNaN(a[k]) && Number.isNaN(b[k])) continue;
      if (!(Math.abs(a[k]! - b[k]!) <= 1e-7 + 1e-3 * Math.abs(b[k]!))) return `${info.name}[${k}]: ${a[k]} vs golden ${b[k]}`;
    }
  }
  return undefined;
}

for (const family of FAMILIES) {
  test(`ONNX node tests of ${family} through the engine's float steps`, () => {
    const names = cases(family);
    assert.ok(names.length > 0, `libonnx-testdata has tests for ${family}`);
    const failures = names.flatMap((name) => {
      try {
        const problem = runCase(name, FROZEN_INPUTS[family] ?? []);
        return problem ? [`${name}: ${problem}`] : [];
      } catch (e) {
        return [`${name}: ${(e as Error).message.split("\n").slice(0, 2).join(" ")}`];
      }
    });
    assert.deepEqual(failures, []);
  });
}

test("unsupported node tests fail with an error that names the problem", () => {
  assert.throws(() => runCase("test_cast_FLOAT_to_FLOAT16", []), /float16/);
  assert.throws(() => runCase("test_identity_sequence", []), /not a tensor/);
});
