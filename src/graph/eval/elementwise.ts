/**
 * Elementwise ops on constants, with ONNX multidirectional broadcasting. Values are computed in
 * float64 and rounded once to the output dtype: for + − × ÷ and √ on float32 this equals the
 * correctly rounded float32 result (53 ≥ 2·24 + 2 bits), so folding matches ONNX Runtime exactly.
 * Integer division truncates toward zero, as C++ (and ONNX Runtime) does.
 */
import type { Node } from "../ir.js";
import { attr } from "../ir.js";
import { sizeOf, type DType, type Tensor } from "../../tensor/tensor.js";
import { numbersOf, tensorFromNumbers } from "../constants.js";
import { clipBounds } from "../op_arguments.js";
import { broadcastDims, broadcastIndexMap } from "./indexing.js";
import { CannotEvaluate, requireInput, type Evaluator } from "./types.js";

const INTEGER: ReadonlySet<DType> = new Set(["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "int4", "uint4"]);

function checkNumeric(node: Node, ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype === "string" || t.dtype === "float16") throw new CannotEvaluate(node, `${t.dtype} inputs are not evaluated`);
  }
}

/** Applies `f` across broadcast inputs; the output dtype is `outDtype`. */
function mapBroadcast(node: Node, ts: Tensor[], outDtype: DType, f: (xs: number[]) => number): Tensor {
  checkNumeric(node, ts);
  const dims = broadcastDims(ts.map((t) => t.dims), `node ${node.name} (${node.opType})`);
  const n = sizeOf(dims);
  const values = ts.map(numbersOf);
  const maps = ts.map((t) => (sizeOf(t.dims) === n && t.dims.length === dims.length ? undefined : broadcastIndexMap(t.dims, dims)));
  const out = new Float64Array(n);
  const xs = new Array<number>(ts.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ts.length; k++) xs[k] = values[k]![maps[k] ? maps[k]![i]! : i]!;
    out[i] = f(xs);
  }
  return tensorFromNumbers(outDtype, dims, out);
}

function sameDtype(node: Node, ts: Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== d) throw new Error(`node ${node.name} (${node.opType}): inputs have different dtypes (${d}, ${t.dtype})`);
  }
  return d;
}

function binary(f: (a: number, b: number, integer: boolean, node: Node) => number): Evaluator {
  return (node, inputs) => {
    const a = requireInput(node, inputs, 0);
    const b = requireInput(node, inputs, 1);
    // Pow's exponent may have its own type; the result has the base's type.
    const dtype = node.opType === "Pow" ? a.dtype : sameDtype(node, [a, b]);
    const integer = INTEGER.has(dtype);
    return [mapBroadcast(node, [a, b], dtype, (xs) => f(xs[0]!, xs[1]!, integer, node))];
  };
}

function compare(f: (a: number, b: number) => boolean): Evaluator {
  return (node, inputs) => {
    const a = requireInput(node, inputs, 0);
    const b = requireInput(node, inputs, 1);
    return [mapBroadcast(node, [a, b], "bool", (xs) => (f(xs[0]!, xs[1]!) ? 1 : 0))];
  };
}

function unary(f: (x: number, integer: boolean) => number): Evaluator {
  return (node, inputs) => {
    const x = requireInput(node, inputs, 0);
    return [mapBroadcast(node, [x], x.dtype, (xs) => f(xs[0]!, INTEGER.has(x.dtype)))];
  };
}

function variadic(f: (xs: number[]) => number): Evaluator {
  return (node, inputs) => {
    const ts = inputs.filter((t): t is Tensor => t !== undefined);
    if (ts.length === 0) throw new Error(`node ${node.name} (${node.opType}): needs at least one input`);
    return [mapBroadcast(node, ts, sameDtype(node, ts), f)];
  };
}

function divide(a: number, b: number, integer: boolean, node: Node): number {
  if (!integer) return a / b;
  if (b === 0) throw new CannotEvaluate(node, "integer division by zero");
  return Math.trunc(a / b);
}

/** Round half to even, as ONNX Round specifies. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const elementwiseEvaluators: Record<string, Evaluator> = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary(divide),
  Pow: binary((a, b) => a ** b),
  Mod: (node, inputs) => {
    const fmod = attr(node, "fmod", "int") ?? 0;
    return binary((a, b, integer) => {
      if (integer && b === 0) throw new CannotEvaluate(node, "integer modulo by zero");
      if (fmod === 1) return a % b; // C fmod: the sign of the dividend
      if (!integer) throw new Error(`node ${node.name} (Mod): fmod must be 1 for floating-point inputs`);
      return a - b * Math.floor(a / b); // Python-style: the sign of the divisor
    })(node, inputs, { opset: 0 });
  },
  Equal: compare((a, b) => a === b),
  Less: compare((a, b) => a < b),
  Greater: compare((a, b) => a > b),
  LessOrEqual: compare((a, b) => a <= b),
  GreaterOrEqual: compare((a, b) => a >= b),
  And: compare((a, b) => a !== 0 && b !== 0),
  Or: compare((a, b) => a !== 0 || b !== 0),
  Xor: compare((a, b) => (a !== 0) !== (b !== 0)),
  Not: (node, inputs) => [mapBroadcast(node, [requireInput(node, inputs, 0)], "bool", (xs) => (xs[0] === 0 ? 1 : 0))],
  Where: (node, inputs) => {
    const c = requireInput(node, inputs, 0);
    const x = requireInput(node, inputs, 1);
    const y = requireInput(node, inputs, 2);
    return [mapBroadcast(node, [c, x, y], sameDtype(node, [x, y]), (xs) => (xs[0] !== 0 ? xs[1]! : xs[2]!))];
  },
  Max: variadic((xs) => Math.max(...xs)),
  Min: variadic((xs) => Math.min(...xs)),
  Sum: variadic((xs) => xs.reduce((s, v) => s + v, 0)),
  Mean: variadic((xs) => xs.reduce((s, v) => s + v, 0) / xs.length),
  Neg: unary((x) => -x),
  Abs: unary((x) => Math.abs(x)),
  Sqrt: unary((x) => Math.sqrt(x)),
  Floor: unary((x) => Math.floor(x)),
  Ceil: unary((x) => Math.ceil(x)),
  Round: unary((x) => roundHalfEven(x)),
  Sign: unary((x) => Math.sign(x)),
  Reciprocal: unary((x) => 1 / x),
  Exp: unary((x) => Math.exp(x)),
  Log: unary((x) => Math.log(x)),
  Relu: unary((x) => Math.max(x, 0)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Tanh: unary((x) => Math.tanh(x)),
  Clip: (node, inputs, ctx) => {
    const x = requireInput(node, inputs, 0);
    const byName = new Map(node.inputs.map((n, i) => [n, inputs[i]]));
    const bounds = clipBounds(node, ctx.opset, (name) => {
      const t = byName.get(name);
      return t ? numbersOf(t) : undefined;
    });
    if (!bounds) throw new CannotEvaluate(node, "bounds are not constant");
    return [mapBroadcast(node, [x], x.dtype, (xs) => Math.min(Math.max(xs[0]!, bounds.min), bounds.max))];
  },
};
