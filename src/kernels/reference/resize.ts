/**
 * Quantized Resize (ONNX Resize, modes "nearest" and "linear").
 *
 * All coordinate arithmetic — the only floating point Resize has — depends on the shapes alone,
 * so prepareResize does it once and stores, per output coordinate of each axis, the source index
 * (nearest) or the two source indices and an integer weight (linear). The run is then integer-only.
 *
 * Source coordinate of output index o on an axis of input length L_in, output L_out, scale
 * s = L_out/L_in (or the scale given to the op), per ONNX coordinate_transformation_mode:
 *   half_pixel:          (o + 0.5)/s − 0.5
 *   pytorch_half_pixel:  L_out > 1 ? (o + 0.5)/s − 0.5 : 0
 *   align_corners:       L_out > 1 ? o·(L_in − 1)/(L_out − 1) : 0
 *   asymmetric:          o/s
 *
 * nearest: index = nearest_mode(x) (round_prefer_floor, round_prefer_ceil, floor, ceil), clamped
 * to [0, L_in − 1]. Values are copied; differing output params are applied by requantization.
 *
 * linear (on the last two axes, the H and W of NCHW; the other axes must not be resized):
 * x is clamped to [0, L_in − 1], i0 = floor(x), i1 = min(i0 + 1, L_in − 1), and the fraction
 * x − i0 becomes an integer weight w1 = round(frac·2^10), w0 = 2^10 − w1 (LINEAR_WEIGHT_BITS).
 * For output (oy, ox):
 *   acc = Σ_{a,b ∈ {0,1}} wy_a·wx_b·(q[iy_a, ix_b] − z_in)        (weights sum to 2^20)
 *   same params:       y = z + RoundingDivideByPOT(acc, 20)        (ties away from zero)
 *   different params:  y = clamp(z_out + MBQM(acc·2^2, s_in/(s_out·2^22)))   (headroom, see fixed_point.ts)
 * |acc| ≤ 255·2^20 < 2^28, so the int32 accumulator cannot overflow. Quantizing the weights to
 * 1/1024 moves a result by at most |q1 − q0|/2048 < 1/8 of a step from exact interpolation.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { qRange } from "../../quant/dtype.js";
import { type HeadroomMultiplier, multiplyWithHeadroom, quantizeMultiplierWithHeadroom, roundingDivideByPOT } from "../../quant/fixed_point.js";
import { roundHalfToEven } from "../../quant/rounding.js";
import { type Int8DType, type Int8Tensor, clamp, int8Data, int8DTypeOf, newInt8Tensor, perTensor } from "./common.js";
import { type RequantizePlan, isIdentityRequantize, prepareRequantize, requantizeValue } from "./requantize.js";

export const LINEAR_WEIGHT_BITS = 10;
const ONE = 1 << LINEAR_WEIGHT_BITS;

export type CoordinateTransformationMode = "half_pixel" | "pytorch_half_pixel" | "align_corners" | "asymmetric";
export type NearestMode = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil";

export interface ResizeAttributes {
  mode: "nearest" | "linear";
  /** Default half_pixel (ONNX's default). */
  coordinateTransformationMode?: CoordinateTransformationMode;
  /** Default round_prefer_floor (ONNX's default). */
  nearestMode?: NearestMode;
  inputDims: readonly number[];
  outputDims: readonly number[];
  /** The op's scales, when it was given scales rather than sizes (they enter the coordinate formula). */
  scales?: readonly number[];
}

interface LinearAxis {
  index0: Int32Array;
  index1: Int32Array;
  weight0: Int32Array;
  weight1: Int32Array;
}

export interface ResizePlan {
  mode: "nearest" | "linear";
  inputDims: number[];
  outputDims: number[];
  inputDType: Int8DType;
  outputDType: Int8DType;
  /** nearest: the source index of every output coordinate, per axis. */
  nearestIndex: Int32Array[];
  /** linear: indices and weights of the last two axes (H then W). */
  linear: LinearAxis[];
  requantize: RequantizePlan;
  inputZeroPoint: number;
  outputZeroPoint: number;
  /** linear with differing params: s_in/(s_out·2^20) (|acc| < 2^28). */
  linearMultiplier: HeadroomMultiplier;
  sameParams: boolean;
  qmin: number;
  qmax: number;
}

function sourceCoordinate(o: number, inLen: number, outLen: number, scale: number, mode: CoordinateTransformationMode): number {
  switch (mode) {
    case "half_pixel": return (o + 0.5) / scale - 0.5;
    case "pytorch_half_pixel": return outLen > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case "align_corners": return outLen > 1 ? (o * (inLen - 1)) / (outLen - 1) : 0;
    case "asymmetric": return o / scale;
    default: throw new Error(`resize: unsupported coordinate_transformation_mode ${JSON.stringify(mode)}`);
  }
}

function nearestIndex(x: number, mode: NearestMode): number {
  switch (mode) {
    case "round_prefer_floor": return Number.isInteger(x - 0.5) ? Math.floor(x) : Math.round(x);
    case "round_prefer_ceil": return Number.isInteger(x - 0.5) ? Math.ceil(x) : Math.round(x);
    case "floor": return Math.floor(x);
    case "ceil": return Math.ceil(x);
    default: throw new Error(`resize: unsupported nearest_mode ${JSON.stringify(mode)}`);
  }
}

export function prepareResize(attrs: ResizeAttributes, input: QParams, output: QParams = input): ResizePlan {
  const { inputDims, outputDims } = attrs;
  const rank = inputDims.length;
  if (outputDims.length !== rank) throw new Error(`resize: input dims [${inputDims.join(", ")}] and output dims [${outputDims.join(", ")}] differ in rank`);
  for (let i = 0; i < rank; i++) {
    if (!Number.isInteger(inputDims[i]) || inputDims[i]! < 1 || !Number.isInteger(outputDims[i]) || outputDims[i]! < 1) {
      throw new Error(`resize: dims must be positive integers, got [${inputDims.join(", ")}] → [${outputDims.join(", ")}]`);
    }
  }
  if (attrs.scales !== undefined && attrs.scales.length !== rank) throw new Error(`resize: scales must have ${rank} values, got ${attrs.scales.length}`);
  const coordinateMode = attrs.coordinateTransformationMode ?? "half_pixel";
  const nearest = attrs.nearestMode ?? "round_prefer_floor";
  const scaleOf = (axis: number) => attrs.scales?.[axis] ?? outputDims[axis]! / inputDims[axis]!;
  const coordinate = (axis: number, o: number) =>
    sourceCoordinate(o, inputDims[axis]!, outputDims[axis]!, scaleOf(axis), coordinateMode);

  const inputDType = int8DTypeOf(input, "resize input");
  const outputDType = int8DTypeOf(output, "resize output");
  const i = perTensor(input, "resize input");
  const o = perTensor(output, "resize output");
  const sameParams = i.scale === o.scale && i.zeroPoint === o.zeroPoint && inputDType === outputDType;
  const plan: ResizePlan = {
    mode: attrs.mode, inputDims: [...inputDims], outputDims: [...outputDims], inputDType, outputDType,
    nearestIndex: [], linear: [], requantize: prepareRequantize(input, output),
    inputZeroPoint: i.zeroPoint, outputZeroPoint: o.zeroPoint, linearMultiplier: { multiplier: 0, shift: 0, inputShift: 0 }, sameParams,
    ...qRange(outputDType),
  };

  if (attrs.mode === "nearest") {
    for (let axis = 0; axis < rank; axis++) {
      const table = new Int32Array(outputDims[axis]!);
      for (let k = 0; k < table.length; k++) {
        table[k] = clamp(nearestIndex(coordinate(axis, k), nearest), 0, inputDims[axis]! - 1);
      }
      plan.nearestIndex.push(table);
    }
  } else if (attrs.mode === "linear") {
    if (rank < 2) throw new Error("resize: linear mode needs rank ≥ 2 (it interpolates the last two axes)");
    for (let axis = 0; axis < rank - 2; axis++) {
      if (inputDims[axis] !== outputDims[axis] || scaleOf(axis) !== 1) {
        throw new Error(`resize: linear mode interpolates only the last two axes; axis ${axis} changes (${inputDims[axis]} → ${outputDims[axis]})`);
      }
    }
    for (const axis of [rank - 2, rank - 1]) {
      const len = outputDims[axis]!;
      const lastIndex = inputDims[axis]! - 1;
      const t: LinearAxis = { index0: new Int32Array(len), index1: new Int32Array(len), weight0: new Int32Array(len), weight1: new Int32Array(len) };
      for (let k = 0; k < len; k++) {
        const x = clamp(coordinate(axis, k), 0, lastIndex);
        const i0 = Math.floor(x);
        const w1 = roundHalfToEven((x - i0) * ONE);
        t.index0[k] = i0;
        t.index1[k] = Math.min(i0 + 1, lastIndex);
        t.weight1[k] = w1;
        t.weight0[k] = ONE - w1;
      }
      plan.linear.push(t);
    }
    if (!sameParams) {
      plan.linearMultiplier = quantizeMultiplierWithHeadroom(i.scale / (o.scale * ONE * ONE), 28);
    }
  } else {
    throw new Error(`resize: unsupported mode ${JSON.stringify(attrs.mode)} (expected nearest or linear)`);
  }
  return plan;
}

export function resize(plan: ResizePlan, x: Tensor): Int8Tensor {
  const data = int8Data(x, "resize input");
  if (x.dtype !== plan.inputDType) throw new Error(`resize: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
  if (x.dims.length !== plan.inputDims.length || x.dims.some((d, k) => d !== plan.inputDims[k])) {
    throw new Error(`resize: prepared for input dims [${plan.inputDims.join(", ")}], got [${x.dims.join(", ")}]`);
  }
  return plan.mode === "nearest" ? resizeNearest(plan, data) : resizeLinear(plan, data);
}

function resizeNearest(plan: ResizePlan, data: Int8Array | Uint8Array): Int8Tensor {
  const rank = plan.inputDims.length;
  const y = newInt8Tensor(plan.outputDType, plan.outputDims);
  const inStrides = new Array<number>(rank);
  let stride = 1;
  for (let axis = rank - 1; axis >= 0; axis--) { inStrides[axis] = stride; stride *= plan.inputDims[axis]!; }
  const identity = isIdentityRequantize(plan.requantize);
  const counter = new Array<number>(rank).fill(0);
  for (let o = 0; o < y.data.length; o++) {
    let source = 0;
    for (let axis = 0; axis < rank; axis++) source += plan.nearestIndex[axis]![counter[axis]!]! * inStrides[axis]!;
    const v = data[source]!;
    y.data[o] = identity ? v : requantizeValue(plan.requantize, v);
    for (let axis = rank - 1; axis >= 0; axis--) {
      counter[axis] = counter[axis]! + 1;
      if (counter[axis]! < plan.outputDims[axis]!) break;
      counter[axis] = 0;
    }
  }
  return y;
}

function resizeLinear(plan: ResizePlan, data: Int8Array | Uint8Array): Int8Tensor {
  const rank = plan.inputDims.length;
  const inH = plan.inputDims[rank - 2]!;
  const inW = plan.inputDims[rank - 1]!;
  const outH = plan.outputDims[rank - 2]!;
  const outW = plan.outputDims[rank - 1]!;
  const planes = data.length / (inH * inW);
  const [ty, tx] = plan.linear as [LinearAxis, LinearAxis];
  const z = plan.inputZeroPoint;
  const y = newInt8Tensor(plan.outputDType, plan.outputDims);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inH * inW;
    for (let oy = 0; oy < outH; oy++) {
      const row0 = base + ty.index0[oy]! * inW;
      const row1 = base + ty.index1[oy]! * inW;
      const wy0 = ty.weight0[oy]!;
      const wy1 = ty.weight1[oy]!;
      for (let ox = 0; ox < outW; ox++) {
        const c0 = tx.index0[ox]!;
        const c1 = tx.index1[ox]!;
        const wx0 = tx.weight0[ox]!;
        const wx1 = tx.weight1[ox]!;
        const acc =
          wy0 * (wx0 * (data[row0 + c0]! - z) + wx1 * (data[row0 + c1]! - z)) +
          wy1 * (wx0 * (data[row1 + c0]! - z) + wx1 * (data[row1 + c1]! - z));
        y.data[o++] = plan.sameParams
          ? clamp(plan.outputZeroPoint + roundingDivideByPOT(acc, 2 * LINEAR_WEIGHT_BITS), plan.qmin, plan.qmax)
          : clamp(plan.outputZeroPoint + multiplyWithHeadroom(acc, plan.linearMultiplier), plan.qmin, plan.qmax);
      }
    }
  }
  return y;
}
