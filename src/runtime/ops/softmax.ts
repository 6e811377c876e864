/**
 * Softmax (QDQ, or com.microsoft QLinearSoftmax) on the reference integer Softmax, whose output
 * has the fixed params of the TFLite int8 spec (scale 1/256, zero point −128 / 0). When the model
 * quantizes the output with other params, the result is requantized through a 256-entry table
 * (two roundings instead of one: at most one more step of difference from the float pipeline).
 *
 * Before opset 13 Softmax normalised over the flattened dims from `axis` to the end; that is the
 * same as the one-axis form only when `axis` is the last axis, which is checked at run time.
 */
import { intAttr } from "../../graph/ir.js";
import { prepareSoftmax, softmaxOutputQParams } from "../../kernels/reference/index.js";
import { softmaxAxis } from "../../graph/op_arguments.js";
import { runtimeQuantizedInput, type QuantizedOp } from "../compile/quantized_op.js";
import { type BuildContext, applyTable, int8DType, integerStep, perTensorQParams, requantizeTable } from "./context.js";

export function buildSoftmax(op: QuantizedOp, ctx: BuildContext) {
  const x = runtimeQuantizedInput(op, 0, "Softmax input");
  const inQ = perTensorQParams(x.quant, "input");
  const outQ = perTensorQParams(op.outputs[0]!.quant, "output");
  const outDType = int8DType(op.outputs[0]!.quant);
  const modern = op.node.domain === "com.microsoft" ? intAttr(op.node, "opset", 13) >= 13 : ctx.view.opset >= 13;
  const axis = op.node.domain === "com.microsoft" ? intAttr(op.node, "axis", -1) : softmaxAxis(op.node, ctx.view.opset);
  const plan = prepareSoftmax(inQ, outDType, axis);
  const kernel = ctx.backend.softmax(plan);
  const table = requantizeTable(softmaxOutputQParams(outDType), outQ);
  // A kernel that takes output tables gets the requantization too: no pass of its own.
  const fused = table !== undefined && kernel.fuseOutputTable !== undefined;
  if (fused) kernel.fuseOutputTable!(table, outDType);
  const rank = ctx.view.rankOf(x.value);
  const lastAxis = axis === -1 || (rank !== undefined && axis === rank - 1);
  const step = integerStep(ctx, op, "Softmax", [x.value], ([t]) => {
    const rank = t!.dims.length;
    if (!modern && (axis < 0 ? axis + rank : axis) !== rank - 1) {
      throw new Error(`Softmax before opset 13 over axes ${axis}… of a rank-${rank} input is not supported (only the last axis)`);
    }
    const y = kernel(t!);
    return [fused ? y : applyTable(table, y, outDType, ctx.backend, true)];
  }, true, kernel);
  step.facts = { kind: "softmax", plan, outDType, lastAxis, ...(table ? { outputTable: table } : {}) };
  return step;
}
