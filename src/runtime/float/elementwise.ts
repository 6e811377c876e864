/**
 * Float32 element-wise ops for the engine's float steps (LayerNorm's Sub/Pow/Div between its
 * DequantizeLinear and QuantizeLinear, an unquantized residual Add, …), as tight loops over
 * Float32Arrays instead of the graph's constant evaluators (which build index maps and number
 * arrays for every element — fine for folding constants once, slow at run time).
 *
 * Arithmetic: each result is the double-precision result of the float32 inputs, rounded once to
 * float32 by the store into a Float32Array. For + − × ÷ that is the correctly rounded float32
 * result (53 ≥ 2·24 + 2 bits), i.e. exactly what ONNX Runtime's float32 kernels and the graph's
 * evaluators (graph/eval/elementwise.ts) compute. Pow is x·x for the exponent 2 (exact) and
 * x ** y otherwise, as the evaluator does. Max/Min are Math.max/Math.min, also as the evaluator.
 *
 * Broadcasting takes the layouts of kernels/int8/broadcast_binary.ts: equal shapes, a scalar
 * operand, an operand that is constant over trailing blocks (a [N, C, 1] row statistic against
 * [N, C, W], a per-column [W] against [N, C, W]), and index maps for anything else.
 */
import { type BinaryBroadcast, planBinaryBroadcast } from "../../kernels/int8/broadcast_binary.js";
import type { Tensor } from "../../tensor/tensor.js";

export const FLOAT_BINARY_OPS = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"] as const;
export type FloatBinaryOp = (typeof FLOAT_BINARY_OPS)[number];

const enum Op { Add, Sub, Mul, Div, Pow, Max, Min }

const OP_CODES: Record<FloatBinaryOp, Op> = { Add: Op.Add, Sub: Op.Sub, Mul: Op.Mul, Div: Op.Div, Pow: Op.Pow, Max: Op.Max, Min: Op.Min };

export function isFloatBinaryOp(op: string): op is FloatBinaryOp {
  return (FLOAT_BINARY_OPS as readonly string[]).includes(op);
}

function pow(a: number, b: number): number {
  return b === 2 ? a * a : a ** b;
}

/** out[o + k] = x[xo + k] ⊙ y[yo + k] for k < n. */
function pairs(op: Op, x: Float32Array, xo: number, y: Float32Array, yo: number, out: Float32Array, o: number, n: number): void {
  switch (op) {
    case Op.Add: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! + y[yo + k]!; return;
    case Op.Sub: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! - y[yo + k]!; return;
    case Op.Mul: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! * y[yo + k]!; return;
    case Op.Div: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! / y[yo + k]!; return;
    case Op.Pow: for (let k = 0; k < n; k++) out[o + k] = pow(x[xo + k]!, y[yo + k]!); return;
    case Op.Max: for (let k = 0; k < n; k++) out[o + k] = Math.max(x[xo + k]!, y[yo + k]!); return;
    case Op.Min: for (let k = 0; k < n; k++) out[o + k] = Math.min(x[xo + k]!, y[yo + k]!); return;
  }
}

/** out[o + k] = x[xo + k] ⊙ c (or c ⊙ x[xo + k] when cFirst) for k < n. */
function withScalar(op: Op, x: Float32Array, xo: number, c: number, cFirst: boolean, out: Float32Array, o: number, n: number): void {
  if (cFirst) {
    switch (op) {
      case Op.Sub: for (let k = 0; k < n; k++) out[o + k] = c - x[xo + k]!; return;
      case Op.Div: for (let k = 0; k < n; k++) out[o + k] = c / x[xo + k]!; return;
      case Op.Pow: for (let k = 0; k < n; k++) out[o + k] = c ** x[xo + k]!; return;
      default: break; // the others commute
    }
  }
  switch (op) {
    case Op.Add: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! + c; return;
    case Op.Sub: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! - c; return;
    case Op.Mul: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! * c; return;
    case Op.Div: for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! / c; return;
    case Op.Pow:
      if (c === 2) for (let k = 0; k < n; k++) { const v = x[xo + k]!; out[o + k] = v * v; }
      else for (let k = 0; k < n; k++) out[o + k] = x[xo + k]! ** c;
      return;
    case Op.Max: for (let k = 0; k < n; k++) out[o + k] = Math.max(x[xo + k]!, c); return;
    case Op.Min: for (let k = 0; k < n; k++) out[o + k] = Math.min(x[xo + k]!, c); return;
  }
}

/** out[i] = x[ia[i]] ⊙ y[ib[i]]. */
function mapped(op: Op, x: Float32Array, ia: Int32Array, y: Float32Array, ib: Int32Array, out: Float32Array): void {
  const n = out.length;
  switch (op) {
    case Op.Add: for (let i = 0; i < n; i++) out[i] = x[ia[i]!]! + y[ib[i]!]!; return;
    case Op.Sub: for (let i = 0; i < n; i++) out[i] = x[ia[i]!]! - y[ib[i]!]!; return;
    case Op.Mul: for (let i = 0; i < n; i++) out[i] = x[ia[i]!]! * y[ib[i]!]!; return;
    case Op.Div: for (let i = 0; i < n; i++) out[i] = x[ia[i]!]! / y[ib[i]!]!; return;
    case Op.Pow: for (let i = 0; i < n; i++) out[i] = pow(x[ia[i]!]!, y[ib[i]!]!); return;
    case Op.Max: for (let i = 0; i < n; i++) out[i] = Math.max(x[ia[i]!]!, y[ib[i]!]!); return;
    case Op.Min: for (let i = 0; i < n; i++) out[i] = Math.min(x[ia[i]!]!, y[ib[i]!]!); return;
  }
}

/** `a ⊙ b` under the plan's broadcasting, into `out` (length of the plan's output). */
export function applyFloatBinary(opType: FloatBinaryOp, plan: BinaryBroadcast, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const op = OP_CODES[opType];
  const n = out.length;
  if (n === 0) return;
  const layout = plan.layout;
  switch (layout.kind) {
    case "same":
      pairs(op, a, 0, b, 0, out, 0, n);
      return;
    case "scalar":
      if (layout.which === "a") withScalar(op, b, 0, a[0]!, true, out, 0, n);
      else withScalar(op, a, 0, b[0]!, false, out, 0, n);
      return;
    case "blocks": {
      // The small operand's element p covers `inner` consecutive outputs; the pattern repeats.
      const { period, inner } = layout;
      const small = layout.which === "a" ? a : b;
      const big = layout.which === "a" ? b : a;
      const smallFirst = layout.which === "a";
      if (inner === 1) {
        // A per-column operand: each repetition is an element-by-element op with the small one.
        for (let o = 0; o < n; o += period) {
          if (smallFirst) pairs(op, small, 0, big, o, out, o, period);
          else pairs(op, big, o, small, 0, out, o, period);
        }
        return;
      }
      for (let o = 0, p = 0; o < n; o += inner, p = p + 1 === period ? 0 : p + 1) {
        withScalar(op, big, o, small[p]!, smallFirst, out, o, inner);
      }
      return;
    }
    case "maps":
      mapped(op, a, layout.a, b, layout.b, out);
      return;
  }
}

/**
 * A float32 binary op with plans cached by input shapes (a step sees the same shapes every run).
 * Returns undefined for inputs it does not handle (not float32), so that the caller falls back.
 */
export function floatBinaryKernel(opType: FloatBinaryOp): (a: Tensor, b: Tensor) => Tensor | undefined {
  const plans = new Map<string, BinaryBroadcast>();
  return (a, b) => {
    if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
    const key = `${a.dims.join(",")}|${b.dims.join(",")}`;
    let plan = plans.get(key);
    if (!plan) {
      plan = planBinaryBroadcast(a.dims, b.dims, opType);
      if (plans.size > 64) plans.clear(); // shapes that change every run: do not grow without bound
      plans.set(key, plan);
    }
    let n = 1;
    for (const d of plan.outDims) n *= d;
    const out = new Float32Array(n);
    applyFloatBinary(opType, plan, a.data as Float32Array, b.data as Float32Array, out);
    return { dtype: "float32", dims: [...plan.outDims], data: out };
  };
}
