/**
 * Add, Sub and Mul of two quantized tensors (QDQ, QLinearAdd, QLinearMul) as 65 536-entry table
 * kernels filled by the reference kernels' addValue / mulValue (TFLite's 20-bit Add scheme, Mul
 * with headroom; docs/integer-arithmetic.md §7), with numpy broadcasting. One operand may be a
 * constant tensor (a per-channel scale or a bias); a constant scalar operand never reaches here —
 * the op is then a function of one input and compiles to a 256-entry table (lookup.ts).
 */
import {
  type BinaryQuantization, addValue, mulValue, prepareAdd, prepareMul, prepareSub,
} from "../../kernels/reference/index.js";
import { type BinaryBroadcast, planBinaryBroadcast } from "../../kernels/int8/broadcast_binary.js";
import { binaryByteTable } from "../../kernels/int8/tables.js";
import type { Tensor } from "../../tensor/tensor.js";
import { NotInteger, quantizedInput, type QuantizedOp } from "../compile/quantized_op.js";
import { type BuildContext, int8DType, integerStep, perTensorQParams, singleOutput } from "./context.js";

/**
 * The 65 536-entry table of a quantized Add, Sub or Mul for these params (NotInteger when the
 * reference kernels refuse them). The LayerNorm fusion builds its tables here too, so that its
 * integer parts are the same bytes as these steps.
 */
export function binaryOpTable(opType: string, quant: BinaryQuantization): Uint8Array {
  try {
    if (opType === "Mul") {
      const plan = prepareMul(quant);
      return binaryByteTable(plan.aDType, plan.bDType, (qa, qb) => mulValue(plan, qa, qb));
    }
    if (opType !== "Add" && opType !== "Sub") throw new Error(`${opType} has no binary table`);
    const plan = opType === "Add" ? prepareAdd(quant) : prepareSub(quant);
    return binaryByteTable(plan.aDType, plan.bDType, (qa, qb) => addValue(plan, qa, qb));
  } catch (e) {
    if (e instanceof NotInteger) throw e;
    throw new NotInteger((e as Error).message);
  }
}

export function buildBinary(op: QuantizedOp, ctx: BuildContext) {
  const a = quantizedInput(op, 0, `${op.opType} A`);
  const b = quantizedInput(op, 1, `${op.opType} B`);
  if (a.constant && b.constant) throw new NotInteger("both inputs are constants");
  const out = singleOutput(op);
  const quant: BinaryQuantization = {
    a: perTensorQParams(a.quant, `${op.opType} A`),
    b: perTensorQParams(b.quant, `${op.opType} B`),
    output: perTensorQParams(out.quant, `${op.opType} output`),
    ...(op.activation ? { activation: op.activation } : {}),
  };
  const table = binaryOpTable(op.opType, quant);
  const outDType = int8DType(out.quant);
  const kernel = ctx.backend.binaryTable(table);
  const plans = new Map<string, BinaryBroadcast>();
  const compute = (ta: Tensor, tb: Tensor): Tensor => {
    if (ta.dtype !== a.quant.dtype || tb.dtype !== b.quant.dtype) {
      throw new Error(`inputs are ${ta.dtype} and ${tb.dtype}, expected ${a.quant.dtype} and ${b.quant.dtype}`);
    }
    const key = `${ta.dims.join(",")}|${tb.dims.join(",")}`;
    let plan = plans.get(key);
    if (!plan) {
      plan = planBinaryBroadcast(ta.dims, tb.dims, op.opType);
      plans.set(key, plan);
    }
    const y = ctx.backend.newTensor(outDType, plan.outDims);
    kernel(plan, ta.data as Int8Array, tb.data as Int8Array, y.data);
    return y;
  };
  if (a.constant || b.constant) {
    const c = (a.constant ?? b.constant)!;
    const runtime = a.constant ? b.value : a.value;
    const step = a.constant
      ? integerStep(ctx, op, op.opType, [b.value], ([tb]) => [compute(c, tb!)])
      : integerStep(ctx, op, op.opType, [a.value], ([ta]) => [compute(ta!, c)]);
    // A per-column constant ([W] or [1, …, W]) against a runtime [..., W]: a bias over the last axis.
    const width = c.dims.length > 0 ? c.dims[c.dims.length - 1]! : 1;
    const rank = ctx.view.rankOf(runtime);
    if (width > 1 && c.dims.slice(0, -1).every((d) => d === 1) && rank !== undefined && rank >= c.dims.length &&
        ctx.view.staticDim(runtime, -1) === width) {
      const bytes = Uint8Array.from(c.data as Int8Array | Uint8Array, (v) => v & 0xff);
      step.facts = { kind: "columnTable", input: runtime, table, column: bytes, columnIsB: !a.constant, outDType };
    }
    return step;
  }
  const step = integerStep(ctx, op, op.opType, [a.value, b.value], ([ta, tb]) => [compute(ta!, tb!)]);
  step.table = { kind: "binary", a: a.value, b: b.value, table, outDType };
  return step;
}
