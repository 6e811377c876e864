/**
 * Per-op quantization rules: for each op type, which inputs carry activations (quantized with
 * calibrated params), which carry weights (constant, quantized per channel along an axis), where
 * the bias is, and how the output's params are chosen. The planner reads only these tables.
 *
 * Sources: ONNX Runtime's QDQ quantizer op registry (onnxruntime/python/tools/quantization/
 * registry.py) for which ops ONNX Runtime runs in integer form, and TFLite's int8 quantization
 * spec for the fixed output ranges and for ops whose output shares its input's params.
 */
import { intAttr, type Graph, type Node } from "../graph/ir.js";

export type OutputRule =
  /** The output gets its own calibrated range. */
  | { kind: "calibrated" }
  /** The output reuses the params of input `input` (data movement: values are a subset of the input's). */
  | { kind: "shared"; input: number }
  /** The output's range is known from the op's math (Sigmoid → [0, 1]). */
  | { kind: "fixed"; min: number; max: number };

export interface OpRule {
  /** Input indices whose values are quantized activations. */
  activations: number[];
  /** Input index of a constant weight and its per-channel axis (as a function of the node). */
  weight?: { input: number; axis: (node: Node, graph: Graph) => number };
  /** Input index of a constant bias, quantized to int32 with scale input_scale × weight_scale. */
  bias?: number;
  output: OutputRule;
}

const calibrated: OutputRule = { kind: "calibrated" };
const sharedWithInput0: OutputRule = { kind: "shared", input: 0 };

function elementwise(): OpRule {
  return { activations: [0, 1], output: calibrated };
}

function dataMovement(): OpRule {
  return { activations: [0], output: sharedWithInput0 };
}

export const opRules: Record<string, OpRule> = {
  Conv: { activations: [0], weight: { input: 1, axis: () => 0 }, bias: 2, output: calibrated },
  // ConvTranspose weights are [C_in, C_out/group, kH, kW]: output channels lie on axis 1.
  ConvTranspose: { activations: [0], weight: { input: 1, axis: () => 1 }, bias: 2, output: calibrated },
  // Gemm computes A·B (+C); B is [K, N], or [N, K] when transB = 1: output channels are N.
  Gemm: { activations: [0], weight: { input: 1, axis: (n) => (intAttr(n, "transB", 0) ? 0 : 1) }, bias: 2, output: calibrated },
  // MatMul with a constant right-hand side [..., K, N]: output channels lie on the last axis.
  MatMul: { activations: [0, 1], weight: { input: 1, axis: (n, g) => (g.initializers.get(n.inputs[1]!)?.dims.length ?? 2) - 1 }, output: calibrated },
  Add: elementwise(),
  Sub: elementwise(),
  Mul: elementwise(),
  // Div only by a constant divisor (the scope), which stays float: ONNX Runtime has no
  // integer Div, so only the dividend is quantized.
  Div: { activations: [0], output: calibrated },
  Concat: { activations: [], output: calibrated }, // inputs filled in per node (variadic)
  Split: dataMovement(),
  Slice: dataMovement(),
  MaxPool: dataMovement(),
  AveragePool: { activations: [0], output: calibrated },
  GlobalAveragePool: { activations: [0], output: calibrated },
  Relu: { activations: [0], output: calibrated },
  Clip: { activations: [0], output: calibrated },
  LeakyRelu: { activations: [0], output: calibrated },
  Sigmoid: { activations: [0], output: { kind: "fixed", min: 0, max: 1 } },
  HardSigmoid: { activations: [0], output: { kind: "fixed", min: 0, max: 1 } },
  HardSwish: { activations: [0], output: calibrated },
  Softmax: { activations: [0], output: { kind: "fixed", min: 0, max: 1 } },
  Resize: dataMovement(),
  Reshape: dataMovement(),
  Transpose: dataMovement(),
  Flatten: dataMovement(),
  Squeeze: dataMovement(),
  Unsqueeze: dataMovement(),
  Pad: dataMovement(),
  Identity: dataMovement(),
};

/** The activation inputs of a node under its rule (variadic ops list all their inputs). */
export function activationInputs(node: Node, rule: OpRule): number[] {
  if (node.opType === "Concat") return node.inputs.map((_, i) => i);
  return rule.activations.filter((i) => i < node.inputs.length && node.inputs[i] !== "");
}

export function ruleFor(node: Node): OpRule | undefined {
  if (node.domain !== "") return undefined;
  return opRules[node.opType];
}
