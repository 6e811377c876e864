/**
 * Integer-only quantized Softmax along one axis, with the fixed output params of the TFLite int8
 * spec: scale 1/256, zero point −128 for int8 (0 for uint8), so probability p is stored as
 * z + 256·p (1.0 saturates to qmax).
 *
 * Softmax is invariant to subtracting the row maximum, and with one input scale s the differences
 * are integers: p_i = exp(−s·d_i) / Σ_j exp(−s·d_j) with d_i = q_max − q_i in [0, qmax − qmin].
 * So:
 *   prepare:  E[d] = round(2^22·exp(−s·d)) for every d in 0 … 255 (a 256-entry table, E[0] = 2^22)
 *   run, per row:  q_max = max q;  sum = Σ_j E[q_max − q_j]     (an exact integer < 2^45)
 *                  y_i = min(qmax, z + roundDiv(256·E[q_max − q_i], sum))    ties away from zero
 * 256·E ≤ 2^30 fits int32; the row sum needs up to 22 + log2(N) bits, so it is a 64-bit integer
 * (rows up to 2^23 elements). Each table entry is off by at most 2^−23 of the max term, so the
 * result is within one step of float Softmax even for rows of thousands of classes.
 *
 * Only the modern (opset ≥ 13) form along one axis is computed here; the graph compiler rewrites
 * older Softmax (normalising over a flattened trailing block) into this one.
 * Models whose Softmax output has other params get a requantize (requantize.ts) after it.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { qRange } from "../../quant/dtype.js";
import { normalizeAxis } from "../../quant/axis.js";
import { roundHalfToEven } from "../../quant/rounding.js";
import { type Int8DType, type Int8Tensor, int8Data, int8DTypeOf, isInt8DType, newInt8Tensor, perTensor } from "./common.js";

export const SOFTMAX_TABLE_BITS = 22;
/** Largest row the 64-bit sum and the exact division support. */
export const SOFTMAX_MAX_ROW = 2 ** 23;

/** The fixed output params: scale 1/256, zero point −128 (int8) or 0 (uint8). */
export function softmaxOutputQParams(dtype: Int8DType): QParams {
  return { dtype, scale: Float32Array.of(1 / 256), zeroPoint: Int32Array.of(dtype === "int8" ? -128 : 0) };
}

export interface SoftmaxPlan {
  axis: number;
  inputDType: Int8DType;
  outputDType: Int8DType;
  outputZeroPoint: number;
  outputMax: number;
  /** E[d] = round(2^22·exp(−s_in·d)) for d = 0 … qmax − qmin. */
  expTable: Int32Array;
}

export function prepareSoftmax(input: QParams, outputDType: Int8DType, axis = -1): SoftmaxPlan {
  if (!Number.isInteger(axis)) throw new Error(`softmax: axis must be an integer, got ${axis}`);
  const inputDType = int8DTypeOf(input, "softmax input");
  if (!isInt8DType(outputDType)) throw new Error(`softmax: output dtype must be int8 or uint8, got ${outputDType}`);
  const outputParams = softmaxOutputQParams(outputDType);
  const { scale } = perTensor(input, "softmax input");
  const { qmin, qmax } = qRange(inputDType);
  const expTable = new Int32Array(qmax - qmin + 1);
  for (let d = 0; d < expTable.length; d++) expTable[d] = roundHalfToEven(2 ** SOFTMAX_TABLE_BITS * Math.exp(-scale * d));
  return {
    axis, inputDType, outputDType, outputZeroPoint: outputParams.zeroPoint[0]!, outputMax: qRange(outputDType).qmax, expTable,
  };
}

/** numerator / divisor rounded to nearest, ties up, for 0 ≤ numerator < 2^31 and 0 < divisor < 2^45, exactly. */
function roundedQuotient(numerator: number, divisor: number): number {
  let q = Math.floor(numerator / divisor);
  let remainder = numerator - q * divisor; // exact: q·divisor < 2^53
  // The double division may have rounded across an integer: correct by at most one step.
  if (remainder < 0) { q -= 1; remainder += divisor; }
  if (remainder >= divisor) { q += 1; remainder -= divisor; }
  return remainder >= divisor - remainder ? q + 1 : q;
}

export function softmax(plan: SoftmaxPlan, x: Tensor): Int8Tensor {
  const data = int8Data(x, "softmax input");
  if (x.dtype !== plan.inputDType) throw new Error(`softmax: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
  const rank = x.dims.length;
  if (rank === 0) throw new Error("softmax: input must have rank ≥ 1");
  const axis = normalizeAxis(plan.axis, rank);
  const length = x.dims[axis]!;
  if (length > SOFTMAX_MAX_ROW) throw new Error(`softmax: rows of ${length} exceed the supported ${SOFTMAX_MAX_ROW}`);
  let inner = 1;
  for (let k = axis + 1; k < rank; k++) inner *= x.dims[k]!;
  const outer = length === 0 ? 0 : data.length / (length * inner);
  const y = newInt8Tensor(plan.outputDType, x.dims);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i;
      let max = -Infinity;
      for (let k = 0; k < length; k++) max = Math.max(max, data[start + k * inner]!);
      let sum = 0; // 64-bit integer: up to 2^22·2^23
      for (let k = 0; k < length; k++) sum += plan.expTable[max - data[start + k * inner]!]!;
      for (let k = 0; k < length; k++) {
        const e = plan.expTable[max - data[start + k * inner]!]!;
        const probability256 = roundedQuotient(256 * e, sum);
        y.data[start + k * inner] = Math.min(plan.outputMax, plan.outputZeroPoint + probability256);
      }
    }
  }
  return y;
}
