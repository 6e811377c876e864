/**
 * Shape rules for ops whose output has the input's shape (activations, normalisations, Softmax,
 * Cast, Q/DQ) or the broadcast of the inputs' shapes (arithmetic, comparisons, Where). Small
 * integer contents are carried through Cast/Identity and through + − × ÷ so computed shapes stay known.
 */
import { attr } from "../ir.js";
import type { Dim } from "../ir.js";
import { dtypeOfCode } from "../dtype_codes.js";
import { broadcastShapes, isIntegerDType, isNumber, type RuleContext, type ShapeRule, type ValueFacts } from "./facts.js";

function where(ctx: RuleContext): string {
  return `node ${ctx.node.name} (${ctx.node.opType})`;
}

/** Output 0 has input 0's dtype and shape. */
const sameAsInput: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  return [{ dtype: x.dtype, shape: x.shape }];
};

function arithmetic(op: (a: number, b: number) => number, symbolic?: (a: Dim, b: Dim) => Dim): ShapeRule {
  return (ctx) => {
    const [a = {}, b = {}] = ctx.inputs;
    const out: ValueFacts = { dtype: a.dtype ?? b.dtype, shape: broadcastShapes([a.shape, b.shape], where(ctx)) };
    if (a.value && b.value && isIntegerDType(out.dtype) && (a.value.length === b.value.length || a.value.length === 1 || b.value.length === 1)) {
      const n = Math.max(a.value.length, b.value.length);
      out.value = Array.from({ length: n }, (_, i) => {
        const x = a.value![a.value!.length === 1 ? 0 : i];
        const y = b.value![b.value!.length === 1 ? 0 : i];
        if (isNumber(x) && isNumber(y)) return op(x, y);
        return symbolic ? symbolic(x, y) : undefined;
      });
    }
    return [out];
  };
}

const compare: ShapeRule = (ctx) => [{ dtype: "bool", shape: broadcastShapes([ctx.inputs[0]?.shape, ctx.inputs[1]?.shape], where(ctx)) }];

const variadic: ShapeRule = (ctx) => {
  const present = ctx.inputs.filter((_, i) => ctx.node.inputs[i]);
  return [{ dtype: present[0]?.dtype, shape: broadcastShapes(present.map((f) => f.shape), where(ctx)) }];
};

/** Identity-like ops keep small integer contents too. */
const passThrough: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  return [{ dtype: x.dtype, shape: x.shape, value: x.value }];
};

const SAME_SHAPE_OPS = [
  "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Softsign",
  "Mish", "Gelu", "ThresholdedRelu", "Clip", "Abs", "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Round",
  "Sign", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
  "Softmax", "LogSoftmax", "Hardmax", "LRN", "InstanceNormalization", "MeanVarianceNormalization", "CumSum", "Shrink",
];

export const elementwiseRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(SAME_SHAPE_OPS.map((op) => [op, sameAsInput])),
  Identity: passThrough,
  Add: arithmetic((a, b) => a + b, (a, b) => (a === 0 ? b : b === 0 ? a : undefined)),
  Sub: arithmetic((a, b) => a - b, (a, b) => (b === 0 ? a : undefined)),
  Mul: arithmetic((a, b) => a * b, (a, b) => (a === 1 ? b : b === 1 ? a : undefined)),
  Div: arithmetic((a, b) => Math.trunc(a / b), (a, b) => (b === 1 ? a : undefined)),
  Pow: (ctx) => [{ dtype: ctx.inputs[0]?.dtype, shape: broadcastShapes([ctx.inputs[0]?.shape, ctx.inputs[1]?.shape], where(ctx)) }],
  Mod: arithmetic((a, b) => a - b * Math.floor(a / b)),
  Equal: compare, Less: compare, Greater: compare, LessOrEqual: compare, GreaterOrEqual: compare,
  And: compare, Or: compare, Xor: compare,
  Not: (ctx) => [{ dtype: "bool", shape: ctx.inputs[0]?.shape }],
  IsNaN: (ctx) => [{ dtype: "bool", shape: ctx.inputs[0]?.shape }],
  IsInf: (ctx) => [{ dtype: "bool", shape: ctx.inputs[0]?.shape }],
  Where: (ctx) => [{ dtype: ctx.inputs[1]?.dtype ?? ctx.inputs[2]?.dtype, shape: broadcastShapes(ctx.inputs.slice(0, 3).map((f) => f.shape), where(ctx)) }],
  Max: variadic, Min: variadic, Sum: variadic, Mean: variadic,
  Cast: (ctx) => {
    const code = attr(ctx.node, "to", "int");
    if (code === undefined) throw new Error(`${where(ctx)}: attribute to is required`);
    const dtype = dtypeOfCode(code, where(ctx));
    const x = ctx.inputs[0] ?? {};
    // Integer-to-integer casts of shape values keep their contents (they are small).
    return [{ dtype, shape: x.shape, value: isIntegerDType(dtype) && isIntegerDType(x.dtype) ? x.value : undefined }];
  },
  BatchNormalization: (ctx) => {
    const x = ctx.inputs[0] ?? {};
    const c = x.shape?.[1];
    return [{ dtype: x.dtype, shape: x.shape }, ...ctx.node.outputs.slice(1).map(() => ({ dtype: x.dtype, shape: [c] }))];
  },
  LayerNormalization: (ctx) => [sameAsInput(ctx)[0]!],
  GroupNormalization: sameAsInput,
  Dropout: (ctx) => {
    const x = ctx.inputs[0] ?? {};
    return [{ dtype: x.dtype, shape: x.shape }, { dtype: "bool", shape: x.shape }];
  },
  QuantizeLinear: (ctx) => {
    const zp = ctx.inputs[2];
    const toAttr = attr(ctx.node, "output_dtype", "int");
    const dtype = ctx.node.inputs[2] && zp?.dtype ? zp.dtype : toAttr ? dtypeOfCode(toAttr, where(ctx)) : "uint8";
    return [{ dtype, shape: ctx.inputs[0]?.shape }];
  },
  DequantizeLinear: (ctx) => [{ dtype: ctx.inputs[1]?.dtype ?? "float32", shape: ctx.inputs[0]?.shape }],
};
