/**
 * Element-wise ops that are functions of a single tensor: unary activations, and binary ops whose
 * other operand is a constant scalar (x + 3, x / 6, x·0.5, max(x, 0), …). Between a
 * DequantizeLinear and a QuantizeLinear any chain of them is a function of one 8-bit value, which
 * the compiler turns into a 256-entry table (ops/lookup.ts).
 *
 * Each function computes what ONNX Runtime computes on float32 tensors: every intermediate result
 * is rounded to float32 (Math.fround), so a table entry equals the float pipeline's result except
 * where a transcendental (exp, tanh) differs in its last bit and that lands on a rounding boundary.
 */
import type { Node } from "../../graph/ir.js";
import { floatAttr } from "../../graph/ir.js";
import { clipBounds } from "../../graph/op_arguments.js";
import { roundHalfToEven } from "../../quant/rounding.js";
import { toFloat32, type Tensor } from "../../tensor/tensor.js";
import type { OpInput } from "./quantized_op.js";

export type FloatFunction = (x: number) => number;

const f = Math.fround;

const UNARY: Record<string, (node: Node) => FloatFunction> = {
  Identity: () => (x) => x,
  Relu: () => (x) => (x > 0 ? x : 0),
  Neg: () => (x) => -x,
  Abs: () => (x) => Math.abs(x),
  Sigmoid: () => (x) => f(1 / (1 + Math.exp(-x))),
  Tanh: () => (x) => f(Math.tanh(x)),
  Exp: () => (x) => f(Math.exp(x)),
  Log: () => (x) => f(Math.log(x)),
  Sqrt: () => (x) => f(Math.sqrt(x)),
  Reciprocal: () => (x) => f(1 / x),
  Floor: () => (x) => Math.floor(x),
  Ceil: () => (x) => Math.ceil(x),
  Round: () => (x) => roundHalfToEven(x),
  Sign: () => (x) => Math.sign(x),
  Sin: () => (x) => f(Math.sin(x)),
  Cos: () => (x) => f(Math.cos(x)),
  Softsign: () => (x) => f(x / f(1 + Math.abs(x))),
  Softplus: () => (x) => f(Math.log1p(Math.exp(x))),
  HardSigmoid: (node) => {
    const alpha = f(floatAttr(node, "alpha", 0.2));
    const beta = f(floatAttr(node, "beta", 0.5));
    return (x) => Math.max(0, Math.min(1, f(f(alpha * x) + beta)));
  },
  HardSwish: () => {
    const alpha = f(1 / 6);
    return (x) => f(x * Math.max(0, Math.min(1, f(f(alpha * x) + 0.5))));
  },
  LeakyRelu: (node) => {
    const alpha = f(floatAttr(node, "alpha", 0.01));
    return (x) => (x >= 0 ? x : f(alpha * x));
  },
  Elu: (node) => {
    const alpha = f(floatAttr(node, "alpha", 1));
    return (x) => (x >= 0 ? x : f(alpha * f(Math.exp(x) - 1)));
  },
  Selu: (node) => {
    const alpha = f(floatAttr(node, "alpha", 1.67326319217681884765625));
    const gamma = f(floatAttr(node, "gamma", 1.05070102214813232421875));
    return (x) => (x > 0 ? f(gamma * x) : f(gamma * f(f(alpha * f(Math.exp(x))) - alpha)));
  },
  Celu: (node) => {
    const alpha = f(floatAttr(node, "alpha", 1));
    return (x) => f(Math.max(0, x) + Math.min(0, f(alpha * f(Math.exp(x / alpha) - 1))));
  },
};

const WITH_CONSTANT: Record<string, (c: number, constantFirst: boolean) => FloatFunction> = {
  Add: (c) => (x) => f(x + c),
  Sub: (c, first) => (first ? (x) => f(c - x) : (x) => f(x - c)),
  Mul: (c) => (x) => f(x * c),
  Div: (c, first) => (first ? (x) => f(c / x) : (x) => f(x / c)),
  Pow: (c, first) => (first ? (x) => f(c ** x) : (x) => f(x ** c)),
  Max: (c) => (x) => Math.max(x, c),
  Min: (c) => (x) => Math.min(x, c),
  PRelu: (c, first) => (first ? (() => { throw new Error("PRelu slope first"); }) : (x) => (x < 0 ? f(c * x) : x)),
};

/** The float value of a scalar constant input (a plain constant, or a dequantized one). */
function scalarValue(input: OpInput | undefined): number | undefined {
  if (!input) return undefined;
  let t: Tensor | undefined;
  if (input.kind === "constant") t = input.tensor;
  else if (input.kind === "quantized" && input.constant) t = input.constant;
  if (!t || t.data.length !== 1 || t.dtype === "string" || t.dtype === "bool") return undefined;
  if (input.kind === "quantized") {
    const q = input.quant;
    return f((Number((t.data as ArrayLike<number>)[0]) - q.zeroPoint[0]!) * q.scale[0]!);
  }
  return toFloat32(t)[0]!;
}

export interface UnaryView {
  fn: FloatFunction;
  /** Which input slot carries the tensor. */
  dataInput: number;
  /** Constant inputs that broadcast (size 1) but may raise the rank; their dims. */
  constantDims: number[][];
}

/**
 * The op as a function of one input, when it is one: a unary op, Clip with constant bounds, or a
 * binary op with a constant scalar on one side. `inputs` are the compiler's classified inputs.
 */
export function unaryView(node: Node, inputs: (OpInput | undefined)[], opset: number): UnaryView | undefined {
  if (node.domain !== "") return undefined;
  const op = node.opType;
  const unary = UNARY[op];
  if (unary && node.inputs.filter((i) => i).length === 1) return { fn: unary(node), dataInput: 0, constantDims: [] };
  if (op === "Clip") {
    const bounds = clipBounds(node, opset, (name) => {
      const i = inputs[node.inputs.indexOf(name)];
      const v = scalarValue(i);
      return v === undefined ? undefined : [v];
    });
    if (!bounds) return undefined;
    const lo = f(bounds.min);
    const hi = f(bounds.max);
    return { fn: (x) => Math.min(Math.max(x, lo), hi), dataInput: 0, constantDims: [] };
  }
  const binary = WITH_CONSTANT[op];
  if (binary && inputs.length === 2) {
    const c1 = scalarValue(inputs[1]);
    const c0 = scalarValue(inputs[0]);
    const dims = (i: OpInput | undefined) => (i?.kind === "constant" ? i.tensor.dims : i?.kind === "quantized" && i.constant ? i.constant.dims : []);
    if (c1 !== undefined && c0 === undefined) return { fn: binary(c1, false), dataInput: 0, constantDims: [dims(inputs[1])] };
    if (c0 !== undefined && c1 === undefined && op !== "PRelu") return { fn: binary(c0, true), dataInput: 1, constantDims: [dims(inputs[0])] };
  }
  return undefined;
}
