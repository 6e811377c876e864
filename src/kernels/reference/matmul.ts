/**
 * Batched integer MatMul with numpy broadcasting of the leading dims (ONNX MatMul semantics):
 * A [..., M, K] · B [..., K, N] → [..., M, N]; a 1-D A is a row [1, K] and a 1-D B a column
 * [K, 1], the added dim removed from the result.
 *
 *   acc[..., m, n] = Σ_k (a[..., m, k] − z_a)·(b[..., k, n] − z_b[n]) (+ bias[n])
 *   y = clamp(z_y + M[n]·acc),  M[n] = s_a·s_b[n]/s_y
 *
 * quantized MatMul (QLinearMatMul, or MatMul between QDQ pairs) uses matMul; ONNX MatMulInteger
 * (int32 accumulators, no requantization) uses matMulInteger. Both compute each matrix with the
 * direct product of gemm.ts.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import {
  type FusedActivation, type Int32Tensor, type Int8DType, type Int8Tensor, type OutputStage,
  checkChannelCount, int32Data, int8Data, int8DTypeOf, layerRealMultipliers, newInt32Tensor, newInt8Tensor,
  outputStageApply, perTensor, prepareOutputStage,
} from "./common.js";
import { broadcastIndices, broadcastShapes } from "./broadcast.js";
import { integerMatMulDirect } from "./gemm.js";

export interface MatMulQuantization {
  a: QParams;
  /** Per-tensor, or per column of B (along its last axis). */
  b: QParams;
  output: QParams;
  activation?: FusedActivation;
}

export interface MatMulPlan {
  aDType: Int8DType;
  aZeroPoint: number;
  bZeroPoints: Int32Array;
  outputStage: OutputStage;
}

export function prepareMatMul(quant: MatMulQuantization): MatMulPlan {
  const aDType = int8DTypeOf(quant.a, "matMul A");
  const a = perTensor(quant.a, "matMul A");
  int8DTypeOf(quant.b, "matMul B");
  const output = perTensor(quant.output, "matMul output");
  return {
    aDType, aZeroPoint: a.zeroPoint, bZeroPoints: Int32Array.from(quant.b.zeroPoint),
    outputStage: prepareOutputStage(layerRealMultipliers(a.scale, quant.b.scale, output.scale), quant.output, quant.activation),
  };
}

interface MatMulLayout {
  m: number;
  k: number;
  n: number;
  batchDims: number[];
  aBatchIndex: Int32Array;
  bBatchIndex: Int32Array;
  outDims: number[];
}

/** Shapes of a broadcast batched MatMul; throws on a mismatch. */
export function matMulLayout(aDims: readonly number[], bDims: readonly number[]): MatMulLayout {
  if (aDims.length === 0 || bDims.length === 0) throw new Error("matMul: scalars are not allowed (ONNX MatMul needs rank ≥ 1)");
  const aMatrix = aDims.length === 1 ? [1, aDims[0]!] : aDims.slice(-2);
  const bMatrix = bDims.length === 1 ? [bDims[0]!, 1] : bDims.slice(-2);
  const [m, k] = aMatrix as [number, number];
  const [kB, n] = bMatrix as [number, number];
  if (k !== kB) throw new Error(`matMul: A [${aDims.join(", ")}] and B [${bDims.join(", ")}] have different inner dimensions (${k} vs ${kB})`);
  const aBatch = aDims.length > 2 ? aDims.slice(0, -2) : [];
  const bBatch = bDims.length > 2 ? bDims.slice(0, -2) : [];
  const batchDims = broadcastShapes(aBatch, bBatch, "matMul batch dims");
  const outDims = [...batchDims];
  if (aDims.length > 1) outDims.push(m);
  if (bDims.length > 1) outDims.push(n);
  return {
    m, k, n, batchDims, outDims,
    aBatchIndex: broadcastIndices(aBatch, batchDims),
    bBatchIndex: broadcastIndices(bBatch, batchDims),
  };
}

/** Int32 accumulators for every matrix of the broadcast batch, [...batch, M, N] in the layout's outDims. */
function batchedAccumulators(
  a: Tensor, b: Tensor, aZeroPoints: ArrayLike<number>, bZeroPoints: ArrayLike<number>, what: string,
): { layout: MatMulLayout; acc: Int32Array } {
  const aData = int8Data(a, `${what} A`);
  const bData = int8Data(b, `${what} B`);
  const layout = matMulLayout(a.dims, b.dims);
  const { m, k, n } = layout;
  const batches = layout.aBatchIndex.length;
  const acc = new Int32Array(batches * m * n);
  for (let t = 0; t < batches; t++) {
    const part = integerMatMulDirect({
      a: aData, aOffset: layout.aBatchIndex[t]! * m * k, aZeroPoints,
      b: bData, bOffset: layout.bBatchIndex[t]! * k * n, bZeroPoints,
      m, k, n,
    });
    acc.set(part, t * m * n);
  }
  return { layout, acc };
}

/** Quantized MatMul with broadcasting; optional int32 bias [N] added to the accumulators. */
export function matMul(plan: MatMulPlan, a: Tensor, b: Tensor, bias?: Tensor): Int8Tensor {
  if (a.dtype !== plan.aDType) throw new Error(`matMul: A is ${a.dtype} but the plan was prepared for ${plan.aDType}`);
  const { layout, acc } = batchedAccumulators(a, b, [plan.aZeroPoint], plan.bZeroPoints, "matMul");
  const { n } = layout;
  checkChannelCount(plan.outputStage.multipliers.length, n, "matMul output multipliers (per column of B)");
  const biasData = bias === undefined ? undefined : int32Data(bias, "matMul bias");
  if (biasData !== undefined && biasData.length !== n) throw new Error(`matMul: bias must have ${n} values, got dims [${bias!.dims.join(", ")}]`);
  const y = newInt8Tensor(plan.outputStage.outputDType, layout.outDims);
  for (let i = 0; i < acc.length; i++) {
    const column = i % n;
    const sum = (acc[i]! + (biasData?.[column] ?? 0)) | 0;
    y.data[i] = outputStageApply(plan.outputStage, sum, column);
  }
  return y;
}

/**
 * ONNX MatMulInteger: int32 Σ (a − a_zero_point)(b − b_zero_point). a_zero_point may be per row
 * of A (length M) and b_zero_point per column of B (length N), as the ONNX spec allows.
 */
export function matMulInteger(
  a: Tensor, b: Tensor, aZeroPoints: ArrayLike<number> = [0], bZeroPoints: ArrayLike<number> = [0],
): Int32Tensor {
  const { layout, acc } = batchedAccumulators(a, b, aZeroPoints, bZeroPoints, "matMulInteger");
  return newInt32Tensor(layout.outDims, acc);
}
