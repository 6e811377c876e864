/**
 * Integer matrix products, in two forms that give identical int32 results:
 *
 * Direct (the definition):
 *   acc[m, n] = Σ_k (a[m, k] − z_a[m]) · (b[k, n] − z_b[n])
 *
 * With zero-point sums (gemmlowp doc/low-precision.md; Jacob et al. 2018, eq. 7–8), the form fast
 * kernels use because its inner loop is a plain 8-bit dot product:
 *   acc[m, n] = Σ_k a·b − z_b[n]·rowSum_a[m] − z_a[m]·colSum_b[n] + K·z_a[m]·z_b[n]
 *   rowSum_a[m] = Σ_k a[m, k],   colSum_b[n] = Σ_k b[k, n]
 * For constant weights colSum_b (or rowSum_a) is computed once at prepare time.
 *
 * Both are computed in int32 arithmetic that wraps modulo 2^32 (`| 0`, Math.imul), as int32
 * hardware does. Because wrapping arithmetic is exact modulo 2^32, the two forms agree bit for bit
 * even when an intermediate of the sums form (e.g. Σ a·b) overflows and the final value does not.
 *
 * Zero points may be per row of A (length 1 or M) and per column of B (length 1 or N): weights
 * quantized per output channel sit on the A side in a convolution lowered to a product
 * (W[C_out, K]·cols[K, P]) and on the B side in a fully connected layer (x[M, K]·W[K, N]).
 *
 * Also here: the ONNX Gemm op (A'·B' + bias with per-output-channel requantization).
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import {
  type FusedActivation, type Int8Data, type Int8DType, type Int8Tensor, type OutputStage,
  checkChannelCount, checkRank, channelValue, int32Data, int8Data, int8DTypeOf, layerRealMultipliers,
  newInt8Tensor, outputStageApply, perTensor, prepareOutputStage,
} from "./common.js";

export interface IntegerMatMulOperands {
  /** A, row-major [m, k], starting at aOffset. */
  a: Int8Data;
  aOffset?: number;
  /** Zero point of each row of A (length 1 or m). */
  aZeroPoints: ArrayLike<number>;
  /** B, row-major [k, n], starting at bOffset. */
  b: Int8Data;
  bOffset?: number;
  /** Zero point of each column of B (length 1 or n). */
  bZeroPoints: ArrayLike<number>;
  m: number;
  k: number;
  n: number;
}

function checkOperands(op: IntegerMatMulOperands): { aOffset: number; bOffset: number } {
  const aOffset = op.aOffset ?? 0;
  const bOffset = op.bOffset ?? 0;
  for (const [name, v] of [["m", op.m], ["k", op.k], ["n", op.n], ["aOffset", aOffset], ["bOffset", bOffset]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`integer matmul: ${name} must be a non-negative integer, got ${v}`);
  }
  if (aOffset + op.m * op.k > op.a.length) throw new Error(`integer matmul: A [${op.m}, ${op.k}] at offset ${aOffset} runs past its ${op.a.length} values`);
  if (bOffset + op.k * op.n > op.b.length) throw new Error(`integer matmul: B [${op.k}, ${op.n}] at offset ${bOffset} runs past its ${op.b.length} values`);
  checkChannelCount(op.aZeroPoints.length, op.m, "integer matmul: zero points of A's rows");
  checkChannelCount(op.bZeroPoints.length, op.n, "integer matmul: zero points of B's columns");
  return { aOffset, bOffset };
}

/** acc[m, n] = Σ_k (a[m, k] − z_a[m])·(b[k, n] − z_b[n]), row-major [m, n]. */
export function integerMatMulDirect(op: IntegerMatMulOperands): Int32Array {
  const { aOffset, bOffset } = checkOperands(op);
  const acc = new Int32Array(op.m * op.n);
  for (let i = 0; i < op.m; i++) {
    const za = channelValue(op.aZeroPoints, i);
    for (let j = 0; j < op.n; j++) {
      const zb = channelValue(op.bZeroPoints, j);
      let sum = 0;
      for (let p = 0; p < op.k; p++) {
        sum = (sum + (op.a[aOffset + i * op.k + p]! - za) * (op.b[bOffset + p * op.n + j]! - zb)) | 0;
      }
      acc[i * op.n + j] = sum;
    }
  }
  return acc;
}

/** Σ_k a[m, k] for every row of A (computed once per activation row, or at prepare time for weights). */
export function rowSums(a: Int8Data, aOffset: number, m: number, k: number): Int32Array {
  const sums = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let p = 0; p < k; p++) s = (s + a[aOffset + i * k + p]!) | 0;
    sums[i] = s;
  }
  return sums;
}

/** Σ_k b[k, n] for every column of B. */
export function columnSums(b: Int8Data, bOffset: number, k: number, n: number): Int32Array {
  const sums = new Int32Array(n);
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < n; j++) sums[j] = (sums[j]! + b[bOffset + p * n + j]!) | 0;
  }
  return sums;
}

/**
 * The same accumulators as integerMatMulDirect, as Σ a·b − z_b·rowSum_a − z_a·colSum_b + K·z_a·z_b.
 * Pass precomputed sums when one operand is constant.
 */
export function integerMatMulWithZeroPointSums(
  op: IntegerMatMulOperands, precomputed: { rowSumsA?: Int32Array; columnSumsB?: Int32Array } = {},
): Int32Array {
  const { aOffset, bOffset } = checkOperands(op);
  const rowSumA = precomputed.rowSumsA ?? rowSums(op.a, aOffset, op.m, op.k);
  const colSumB = precomputed.columnSumsB ?? columnSums(op.b, bOffset, op.k, op.n);
  if (rowSumA.length !== op.m || colSumB.length !== op.n) throw new Error("integer matmul: precomputed sums have the wrong length");
  const acc = new Int32Array(op.m * op.n);
  for (let i = 0; i < op.m; i++) {
    const za = channelValue(op.aZeroPoints, i);
    for (let j = 0; j < op.n; j++) {
      const zb = channelValue(op.bZeroPoints, j);
      let dot = 0; // the 8-bit × 8-bit dot product a fast kernel spends its time on
      for (let p = 0; p < op.k; p++) dot = (dot + op.a[aOffset + i * op.k + p]! * op.b[bOffset + p * op.n + j]!) | 0;
      const correction = (Math.imul(zb, rowSumA[i]!) + Math.imul(za, colSumB[j]!)) | 0;
      const constant = Math.imul(Math.imul(op.k, za), zb);
      acc[i * op.n + j] = (dot - correction + constant) | 0;
    }
  }
  return acc;
}

// ---------------------------------------------------------------------------------------------
// ONNX Gemm (Y = A'·B' + C) on quantized tensors.

export interface GemmAttributes {
  transA?: boolean;
  transB?: boolean;
  /** Folded into the output multiplier at prepare time. Default 1. */
  alpha?: number;
}

export interface GemmQuantization {
  input: QParams;
  /** Per-tensor, or per output column: the N axis of B (axis 1, or axis 0 when transB). */
  weight: QParams;
  output: QParams;
  activation?: FusedActivation;
}

export interface GemmPlan {
  transA: boolean;
  transB: boolean;
  alpha: number;
  inputDType: Int8DType;
  inputZeroPoint: number;
  weightZeroPoints: Int32Array;
  outputStage: OutputStage;
}

export function prepareGemm(attrs: GemmAttributes, quant: GemmQuantization): GemmPlan {
  const transA = attrs.transA ?? false;
  const transB = attrs.transB ?? false;
  const alpha = attrs.alpha ?? 1;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`gemm: alpha must be finite and > 0, got ${alpha}`);
  const inputDType = int8DTypeOf(quant.input, "gemm input");
  const input = perTensor(quant.input, "gemm input");
  int8DTypeOf(quant.weight, "gemm weight");
  const columnAxis = transB ? 0 : 1;
  if (quant.weight.axis !== undefined && quant.weight.axis !== columnAxis && quant.weight.axis !== columnAxis - 2) {
    throw new Error(`gemm: per-channel weight qparams must run along B's output axis ${columnAxis}, got axis ${quant.weight.axis}`);
  }
  const output = perTensor(quant.output, "gemm output");
  return {
    transA, transB, alpha, inputDType, inputZeroPoint: input.zeroPoint,
    weightZeroPoints: Int32Array.from(quant.weight.zeroPoint),
    outputStage: prepareOutputStage(
      layerRealMultipliers(input.scale, quant.weight.scale, output.scale, alpha), quant.output, quant.activation),
  };
}

function transpose2d(data: Int8Data, rows: number, cols: number): Int8Data {
  const t = data instanceof Int8Array ? new Int8Array(data.length) : new Uint8Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c]!;
  return t;
}

/** Quantized Gemm: A [M, K] (or [K, M]), B [K, N] (or [N, K]), optional int32 bias [N] → [M, N]. */
export function gemm(plan: GemmPlan, a: Tensor, b: Tensor, bias?: Tensor): Int8Tensor {
  if (a.dtype !== plan.inputDType) throw new Error(`gemm: input is ${a.dtype} but the plan was prepared for ${plan.inputDType}`);
  let aData = int8Data(a, "gemm A");
  let bData = int8Data(b, "gemm B");
  checkRank(a, 2, "gemm A");
  checkRank(b, 2, "gemm B");
  const [m, k] = plan.transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const [kB, n] = plan.transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (k !== kB) throw new Error(`gemm: inner dimensions differ: A gives K = ${k}, B gives K = ${kB}`);
  if (plan.transA) aData = transpose2d(aData, k, m);
  if (plan.transB) bData = transpose2d(bData, n, k);
  const acc = integerMatMulDirect({
    a: aData, aZeroPoints: [plan.inputZeroPoint], b: bData, bZeroPoints: plan.weightZeroPoints, m, k, n,
  });
  if (bias !== undefined && plan.alpha !== 1) {
    // The int32 bias is added to the accumulator, which alpha then scales: that would be alpha·(A·B + C).
    throw new Error(`gemm: a bias with alpha ${plan.alpha} ≠ 1 is not supported (fold alpha into the weight scale instead)`);
  }
  const biasData = bias === undefined ? undefined : int32Data(bias, "gemm bias");
  if (biasData !== undefined && biasData.length !== n) {
    throw new Error(`gemm: bias must have ${n} values (one per output column), got dims [${bias!.dims.join(", ")}]`);
  }
  checkChannelCount(plan.outputStage.multipliers.length, n, "gemm output multipliers");
  const y = newInt8Tensor(plan.outputStage.outputDType, [m, n]);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const sum = (acc[i * n + j]! + (biasData?.[j] ?? 0)) | 0;
      y.data[i * n + j] = outputStageApply(plan.outputStage, sum, j);
    }
  }
  return y;
}
