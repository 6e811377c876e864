/**
 * Requantization from one set of per-tensor params to another (a DequantizeLinear → QuantizeLinear
 * pair with different params, the inputs of Concat, the output of MaxPool when its params differ):
 *
 *   q_out = clamp(z_out + M·(q_in − z_in)),   M = s_in / s_out as {M0, shift}
 *
 * |q_in − z_in| < 2^8, so the product is computed with 22 bits of headroom
 * (quant/fixed_point.ts, quantizeMultiplierWithHeadroom): the value is shifted left by 22 before
 * the fixed-point multiply, which leaves a single effective rounding (ties away from zero).
 *
 * When the scales are equal the value is only shifted by z_out − z_in (exact, no rounding at
 * all), which covers int8 ⇄ uint8 conversions and the common case of equal params.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { type HeadroomMultiplier, multiplyWithHeadroom, quantizeMultiplierWithHeadroom } from "../../quant/fixed_point.js";
import { qRange } from "../../quant/dtype.js";
import { type Int8DType, type Int8Tensor, clamp, int8Data, int8DTypeOf, newInt8Tensor, perTensor } from "./common.js";

export interface RequantizePlan {
  inputDType: Int8DType;
  outputDType: Int8DType;
  inputZeroPoint: number;
  outputZeroPoint: number;
  /** True when s_in = s_out: the value is only shifted by the zero points. */
  sameScale: boolean;
  multiplier: HeadroomMultiplier;
  qmin: number;
  qmax: number;
}

export function prepareRequantize(input: QParams, output: QParams): RequantizePlan {
  const inputDType = int8DTypeOf(input, "requantize input");
  const outputDType = int8DTypeOf(output, "requantize output");
  const i = perTensor(input, "requantize input");
  const o = perTensor(output, "requantize output");
  const multiplier = quantizeMultiplierWithHeadroom(i.scale / o.scale, 8);
  const { qmin, qmax } = qRange(outputDType);
  return {
    inputDType, outputDType, inputZeroPoint: i.zeroPoint, outputZeroPoint: o.zeroPoint,
    sameScale: i.scale === o.scale, multiplier, qmin, qmax,
  };
}

/** One value. */
export function requantizeValue(plan: RequantizePlan, q: number): number {
  const centred = q - plan.inputZeroPoint;
  const scaled = plan.sameScale ? centred : multiplyWithHeadroom(centred, plan.multiplier);
  return clamp(plan.outputZeroPoint + scaled, plan.qmin, plan.qmax);
}

/** True when requantization leaves every value unchanged (same dtype, scale and zero point). */
export function isIdentityRequantize(plan: RequantizePlan): boolean {
  return plan.sameScale && plan.inputZeroPoint === plan.outputZeroPoint && plan.inputDType === plan.outputDType;
}

/** A whole tensor. */
export function requantize(plan: RequantizePlan, x: Tensor): Int8Tensor {
  if (x.dtype !== plan.inputDType) throw new Error(`requantize: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
  const data = int8Data(x, "requantize input");
  const y = newInt8Tensor(plan.outputDType, x.dims);
  for (let i = 0; i < data.length; i++) y.data[i] = requantizeValue(plan, data[i]!);
  return y;
}
