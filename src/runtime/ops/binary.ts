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
  let table: Uint8Array;
  try {
    if (op.opType === "Mul") {
      const plan = prepareMul(quant);
      table = binaryByteTable(plan.aDType, plan.bDType, (qa, qb) => mulValue(plan, qa, qb));
    } else {
      const plan = op.opType === "Add" ? prepareAdd(quant) : prepareSub(quant);
      table = binaryByteTable(plan.aDType, plan.bDType, (qa, qb) => addValue(plan, qa, qb));
    }
  } catch (e) {
    throw new NotInteger((e as Error).message);
  }
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
  if (a.constant) {
    const ca = a.constant;
    return integerStep(ctx, op, op.opType, [b.value], ([tb]) => [compute(ca, tb!)]);
  }
  if (b.constant) {
    const cb = b.constant;
    return integerStep(ctx, op, op.opType, [a.value], ([ta]) => [compute(ta!, cb)]);
  }
  const step = integerStep(ctx, op, op.opType, [a.value, b.value], ([ta, tb]) => [compute(ta!, tb!)]);
  step.table = { kind: "binary", a: a.value, b: b.value, table, outDType };
  return step;
}
