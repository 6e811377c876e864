/**
 * MatMul and Gemm as integer steps (QDQ, QLinearMatMul, QGemm).
 *
 * A constant B (weights) goes to the backend's `linear` kernel, which can pack it once; per-column
 * weight params (one scale per output feature, along B's last axis) are allowed. A runtime B
 * (attention's Q·Kᵀ and softmax·V) must be per-tensor. Gemm's alpha is folded into the output
 * multiplier and beta into the bias at compile time.
 */
import { floatAttr, intAttr } from "../../graph/ir.js";
import {
  type MatMulPlan, layerRealMultipliers, perTensor, prepareMatMul, prepareOutputStage,
} from "../../kernels/reference/index.js";
import { transpose } from "../../kernels/reference/data_movement.js";
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { NotInteger, quantizedInput, type QuantizedOp, type OpInput } from "../compile/quantized_op.js";
import { checkAccumulatorRange, resolveBias } from "./bias.js";
import { type BuildContext, eightBitQParams, integerStep, layerName, perTensorQParams, singleOutput } from "./context.js";

/** B's params with the per-column axis expressed for a [K, N] matrix (axis 1), or per-tensor. */
function weightParams(q: QParams, rank: number, columnAxis: number, what: string): QParams {
  if (q.axis === undefined || q.scale.length === 1) return { dtype: q.dtype, scale: q.scale.slice(0, 1), zeroPoint: q.zeroPoint.slice(0, 1) };
  const axis = q.axis < 0 ? q.axis + rank : q.axis;
  if (axis !== columnAxis) throw new NotInteger(`${what} params run along axis ${q.axis}, not the output-feature axis ${columnAxis}`);
  return { dtype: q.dtype, scale: q.scale, zeroPoint: q.zeroPoint, axis: 1 };
}

function planWithAlpha(a: QParams, b: QParams, output: QParams, alpha: number, op: QuantizedOp): MatMulPlan {
  if (alpha === 1) return prepareMatMul({ a, b, output, ...(op.activation ? { activation: op.activation } : {}) });
  const base = prepareMatMul({ a, b, output });
  const sa = perTensor(a, "A").scale;
  const so = perTensor(output, "output").scale;
  return {
    ...base,
    outputStage: prepareOutputStage(layerRealMultipliers(sa, b.scale, so, alpha), output, op.activation),
  };
}

function linearStep(
  op: QuantizedOp, ctx: BuildContext, opType: string, aInput: OpInput | undefined, bTensor: Tensor, bQ: QParams,
  biasInput: OpInput | undefined, alpha: number, transA: boolean,
) {
  const a = aInput;
  if (!a || a.kind !== "quantized" || a.constant) throw new NotInteger(`${opType} A is not a quantized runtime tensor`);
  const aQ = perTensorQParams(a.quant, `${opType} A`);
  const outQ = perTensorQParams(singleOutput(op).quant, `${opType} output`);
  const [k, n] = bTensor.dims as [number, number];
  const layer = layerName(op);
  const aK = ctx.view.staticDim(a.value, transA ? 0 : -1);
  if (aK !== undefined && aK !== k) {
    throw new Error(`layer ${layer}: A has ${aK} columns but the weight [${bTensor.dims.join(", ")}] has ${k} rows (inner dimensions differ)`);
  }
  const bias = resolveBias(biasInput, aQ.scale[0]! * alpha, bQ.scale, n, layer, ctx);
  const bData = bTensor.data as Int8Array | Uint8Array;
  checkAccumulatorRange(n, k, (c, i) => bData[i * n + c]!, (c) => bQ.zeroPoint[bQ.zeroPoint.length === 1 ? 0 : c]!,
    aQ.dtype as "int8" | "uint8", aQ.zeroPoint[0]!, bias, layer, ctx);
  const plan = planWithAlpha(aQ, bQ, outQ, alpha, op);
  const kernel = ctx.backend.linear(plan, bTensor, bias);
  return integerStep(ctx, op, opType, [a.value], ([t]) => [kernel(transA ? transpose(t!, [1, 0]) : t!)], true, kernel);
}

export function buildMatMul(op: QuantizedOp, ctx: BuildContext) {
  const b = quantizedInput(op, 1, "MatMul B");
  const bQ = eightBitQParams(b.quant, "MatMul B");
  if (b.constant && b.constant.dims.length === 2) {
    return linearStep(op, ctx, "MatMul", op.inputs[0], b.constant, weightParams(bQ, 2, 1, "MatMul B"), op.inputs[2], 1, false);
  }
  // Runtime (or batched constant) B: per-tensor params.
  const a = quantizedInput(op, 0, "MatMul A");
  if (a.constant) throw new NotInteger("MatMul A is a constant");
  const aQ = perTensorQParams(a.quant, "MatMul A");
  const outQ = perTensorQParams(singleOutput(op).quant, "MatMul output");
  const bPer = perTensorQParams(b.quant, "MatMul B (runtime)");
  const kernel = ctx.backend.matMul(prepareMatMul({ a: aQ, b: bPer, output: outQ, ...(op.activation ? { activation: op.activation } : {}) }));
  if (b.constant) {
    const constant = b.constant;
    return integerStep(ctx, op, "MatMul", [a.value], ([t]) => [kernel(t!, constant)], true, kernel);
  }
  return integerStep(ctx, op, "MatMul", [a.value, b.value], ([ta, tb]) => [kernel(ta!, tb!)], true, kernel);
}

export function buildGemm(op: QuantizedOp, ctx: BuildContext) {
  const node = op.node;
  const transA = intAttr(node, "transA", 0) === 1;
  const transB = intAttr(node, "transB", 0) === 1;
  const alpha = floatAttr(node, "alpha", 1);
  const beta = floatAttr(node, "beta", 1);
  if (!(alpha > 0)) throw new NotInteger(`Gemm alpha ${alpha} ≤ 0`);
  const b = quantizedInput(op, 1, "Gemm B");
  if (!b.constant) throw new NotInteger("Gemm B is not a constant");
  if (b.constant.dims.length !== 2) throw new Error(`layer ${layerName(op)}: Gemm B must be 2-D, got [${b.constant.dims.join(", ")}]`);
  const bQ = eightBitQParams(b.quant, "Gemm B");
  const bMatrix = transB ? transpose(b.constant, [1, 0]) : b.constant;
  const params = weightParams(bQ, 2, transB ? 0 : 1, "Gemm B");
  let biasInput = op.inputs[2];
  if (biasInput && beta !== 1) {
    // beta scales C: fold it into a float bias (dequantized here, at compile time).
    if (biasInput.kind === "quantized" && biasInput.constant) {
      const q = biasInput.quant;
      const v = biasInput.constant.data as ArrayLike<number>;
      const values = Float32Array.from({ length: v.length }, (_, i) =>
        Math.fround((v[i]! - q.zeroPoint[q.zeroPoint.length === 1 ? 0 : i]!) * q.scale[q.scale.length === 1 ? 0 : i]!) * beta);
      biasInput = { kind: "constant", value: biasInput.value, tensor: { dtype: "float32", dims: [values.length], data: values } };
    } else if (biasInput.kind === "constant") {
      const values = Float32Array.from(biasInput.tensor.data as ArrayLike<number>, (x) => x * beta);
      biasInput = { ...biasInput, tensor: { dtype: "float32", dims: [values.length], data: values } };
    } else {
      throw new NotInteger("Gemm C is not a constant");
    }
  }
  if (biasInput && biasInput.kind === "constant" && biasInput.tensor.dims.length === 2 && biasInput.tensor.dims[0] !== 1) {
    throw new NotInteger("Gemm C varies along M (only a per-output-feature bias runs on integers)");
  }
  return linearStep(op, ctx, "Gemm", op.inputs[0], bMatrix, params, biasInput, alpha, transA);
}
