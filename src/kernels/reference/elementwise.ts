/**
 * Quantized Add, Sub and Mul with numpy broadcasting, inputs and output each with their own params.
 *
 * Add/Sub — TFLite's scheme (tensorflow/lite/kernels/add.cc, Prepare of the 8-bit path, and
 * reference_ops Add): the real sum s_a(q_a − z_a) + s_b(q_b − z_b) needs the two terms on a common
 * scale. Both are first multiplied by 2^20 (left_shift = 20: |q − z| ≤ 255 < 2^8, so 2^28 still
 * fits with room for the sum) and then by their own multiplier, which is < 1 so it only loses
 * bits below the 2^20 headroom:
 *
 *   twice_max = 2·max(s_a, s_b)
 *   M_a = s_a / twice_max,  M_b = s_b / twice_max          (both ≤ 1/2)
 *   M_out = twice_max / (2^20 · s_out)
 *   a' = MBQM((q_a − z_a)·2^20, M_a),  b' = MBQM((q_b − z_b)·2^20, M_b)
 *   y = clamp(z_out + MBQM(a' ± b', M_out))
 *
 * a' and b' are the inputs in units of twice_max/2^20, so their sum is exact and the only real
 * rounding is the final one. Sub is the same with b' negated.
 *
 * Mul — the product of the centred inputs is already on the scale s_a·s_b:
 *   y = clamp(z_out + MBQM((q_a − z_a)(q_b − z_b)·2^14, s_a·s_b/(s_out·2^14)))
 * |product| < 2^16, so it is shifted left by 14 bits first (quantizeMultiplierWithHeadroom): the
 * same real multiplier, but SaturatingRoundingDoublingHighMul keeps 14 more bits, so the double
 * rounding of MBQM no longer puts about 2^shift of the results one step off.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import {
  type HeadroomMultiplier, multiplyByQuantizedMultiplier, multiplyWithHeadroom, quantizeMultiplier, quantizeMultiplierWithHeadroom,
} from "../../quant/fixed_point.js";
import {
  type FusedActivation, type Int8DType, type Int8Tensor, clamp, fusedActivationRange, int8Data, int8DTypeOf,
  newInt8Tensor, perTensor,
} from "./common.js";
import { broadcastIndices, broadcastShapes } from "./broadcast.js";

/** TFLite's headroom for 8-bit Add: inputs are scaled by 2^20 before rescaling to the common scale. */
export const ADD_LEFT_SHIFT = 20;

export interface BinaryQuantization {
  a: QParams;
  b: QParams;
  output: QParams;
  activation?: FusedActivation;
}

interface BinaryOutput {
  aDType: Int8DType;
  bDType: Int8DType;
  aZeroPoint: number;
  bZeroPoint: number;
  outputDType: Int8DType;
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
}

export interface AddPlan extends BinaryOutput {
  kind: "add" | "sub";
  aMultiplier: number;
  aShift: number;
  bMultiplier: number;
  bShift: number;
  outputMultiplier: number;
  outputShift: number;
}

export interface MulPlan extends BinaryOutput {
  multiplier: HeadroomMultiplier;
}

function prepareBinaryOutput(quant: BinaryQuantization, what: string): BinaryOutput & { sa: number; sb: number; so: number } {
  const aDType = int8DTypeOf(quant.a, `${what} A`);
  const bDType = int8DTypeOf(quant.b, `${what} B`);
  const outputDType = int8DTypeOf(quant.output, `${what} output`);
  const a = perTensor(quant.a, `${what} A`);
  const b = perTensor(quant.b, `${what} B`);
  const o = perTensor(quant.output, `${what} output`);
  const range = fusedActivationRange(quant.activation, o, outputDType);
  return {
    aDType, bDType, outputDType, aZeroPoint: a.zeroPoint, bZeroPoint: b.zeroPoint, outputZeroPoint: o.zeroPoint,
    clampMin: range.qmin, clampMax: range.qmax, sa: a.scale, sb: b.scale, so: o.scale,
  };
}

/** Prepare Add (kind "add") or Sub (kind "sub"). */
export function prepareAdd(quant: BinaryQuantization, kind: "add" | "sub" = "add"): AddPlan {
  const { sa, sb, so, ...common } = prepareBinaryOutput(quant, kind);
  const twiceMax = 2 * Math.max(sa, sb);
  const ma = quantizeMultiplier(sa / twiceMax);
  const mb = quantizeMultiplier(sb / twiceMax);
  const realOutput = twiceMax / (2 ** ADD_LEFT_SHIFT * so);
  if (realOutput >= 1) {
    throw new Error(`${kind}: output scale ${so} is too small for the 20-bit scheme (needs 2·max input scale / (2^20·s_out) < 1)`);
  }
  const mo = quantizeMultiplier(realOutput);
  return {
    ...common, kind,
    aMultiplier: ma.multiplier, aShift: ma.shift, bMultiplier: mb.multiplier, bShift: mb.shift,
    outputMultiplier: mo.multiplier, outputShift: mo.shift,
  };
}

export function prepareSub(quant: BinaryQuantization): AddPlan {
  return prepareAdd(quant, "sub");
}

/** One output value of Add/Sub from two quantized inputs. */
export function addValue(plan: AddPlan, qa: number, qb: number): number {
  const a = multiplyByQuantizedMultiplier((qa - plan.aZeroPoint) << ADD_LEFT_SHIFT, plan.aMultiplier, plan.aShift);
  const b = multiplyByQuantizedMultiplier((qb - plan.bZeroPoint) << ADD_LEFT_SHIFT, plan.bMultiplier, plan.bShift);
  const sum = plan.kind === "add" ? a + b : a - b;
  const scaled = multiplyByQuantizedMultiplier(sum, plan.outputMultiplier, plan.outputShift);
  return clamp(plan.outputZeroPoint + scaled, plan.clampMin, plan.clampMax);
}

export function prepareMul(quant: BinaryQuantization): MulPlan {
  const { sa, sb, so, ...common } = prepareBinaryOutput(quant, "mul");
  // |(q_a − z_a)(q_b − z_b)| ≤ 255² < 2^16
  return { ...common, multiplier: quantizeMultiplierWithHeadroom((sa * sb) / so, 16) };
}

export function mulValue(plan: MulPlan, qa: number, qb: number): number {
  const product = (qa - plan.aZeroPoint) * (qb - plan.bZeroPoint);
  const scaled = multiplyWithHeadroom(product, plan.multiplier);
  return clamp(plan.outputZeroPoint + scaled, plan.clampMin, plan.clampMax);
}

function broadcastBinary(
  plan: BinaryOutput, a: Tensor, b: Tensor, what: string, valueOf: (qa: number, qb: number) => number,
): Int8Tensor {
  if (a.dtype !== plan.aDType || b.dtype !== plan.bDType) {
    throw new Error(`${what}: inputs are ${a.dtype} and ${b.dtype} but the plan was prepared for ${plan.aDType} and ${plan.bDType}`);
  }
  const aData = int8Data(a, `${what} A`);
  const bData = int8Data(b, `${what} B`);
  const outDims = broadcastShapes(a.dims, b.dims, what);
  const aIndex = broadcastIndices(a.dims, outDims);
  const bIndex = broadcastIndices(b.dims, outDims);
  const y = newInt8Tensor(plan.outputDType, outDims);
  for (let i = 0; i < y.data.length; i++) y.data[i] = valueOf(aData[aIndex[i]!]!, bData[bIndex[i]!]!);
  return y;
}

/** Quantized Add or Sub (by the plan's kind) with broadcasting. */
export function add(plan: AddPlan, a: Tensor, b: Tensor): Int8Tensor {
  return broadcastBinary(plan, a, b, plan.kind, (qa, qb) => addValue(plan, qa, qb));
}

/** Quantized Sub: the same as add() with a plan prepared by prepareSub. */
export function sub(plan: AddPlan, a: Tensor, b: Tensor): Int8Tensor {
  if (plan.kind !== "sub") throw new Error("sub: the plan was prepared for add (use prepareSub)");
  return add(plan, a, b);
}

/** Quantized Mul with broadcasting. */
export function mul(plan: MulPlan, a: Tensor, b: Tensor): Int8Tensor {
  return broadcastBinary(plan, a, b, "mul", (qa, qb) => mulValue(plan, qa, qb));
}
