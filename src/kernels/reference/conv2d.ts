/**
 * Integer 2-D convolution, NCHW, with groups (depthwise is group = C), strides, pads, dilations.
 *
 *   acc[n, oc, oy, ox] = Σ_{ic in oc's group, ky, kx} (w[oc, ic, ky, kx] − z_w[oc]) · (x[n, ic, iy, ix] − z_x)  + bias[oc]
 *   iy = oy·strideH − padTop + ky·dilationH,   ix = ox·strideW − padLeft + kx·dilationW
 *   y = clamp(z_y + M[oc]·acc),   M[oc] = s_x·s_w[oc]/s_y as {M0, shift}
 *
 * Padding holds the real value 0, whose quantized value is z_x, so a padded position contributes
 * (x − z_x) = 0: the loop simply skips it. The accumulator is int32 and wraps modulo 2^32 like
 * int32 hardware (each product fits in 17 bits; only a reduction length beyond ~33000 terms of
 * extreme values can overflow, which no 8-bit model has).
 *
 * This is the direct form, the definition. conv2d_gemm.ts computes the same numbers as a matrix
 * product with zero-point sums (the form optimized kernels use), and the tests check they agree.
 */
import type { QParams } from "../../quant/qparams.js";
import {
  type FusedActivation, type Int32Tensor, type Int8DType, type Int8Tensor, type OutputStage,
  checkChannelCount, checkPositiveInts, checkRank, channelValue, int32Data, int8Data, int8DTypeOf,
  layerRealMultipliers, newInt32Tensor, newInt8Tensor, outputStageApply, perTensor, prepareOutputStage,
} from "./common.js";
import { type Tensor, sizeOf } from "../../tensor/tensor.js";
import { type Window2d, type Window2dAttributes, resolveWindow2d, slidingOutputSize } from "./window.js";

export interface Conv2dAttributes extends Window2dAttributes {
  /** Number of groups; C_in and C_out must both be divisible by it. Default 1; depthwise is C_in. */
  group?: number;
}

export interface Conv2dQuantization {
  input: QParams;
  /** Per-tensor, or per output channel (axis 0 of the [C_out, C_in/group, kH, kW] weight). */
  weight: QParams;
  output: QParams;
  activation?: FusedActivation;
}

/** Everything the integer run needs; produced once by prepareConv2d. */
export interface Conv2dPlan {
  window: Window2d;
  group: number;
  inputDType: Int8DType;
  inputZeroPoint: number;
  /** Length 1 (per-tensor) or C_out. */
  weightZeroPoints: Int32Array;
  outputStage: OutputStage;
}

export function prepareConv2d(attrs: Conv2dAttributes, quant: Conv2dQuantization): Conv2dPlan {
  const group = attrs.group ?? 1;
  checkPositiveInts([group], "conv2d: group");
  const inputDType = int8DTypeOf(quant.input, "conv2d input");
  const input = perTensor(quant.input, "conv2d input");
  int8DTypeOf(quant.weight, "conv2d weight");
  if (quant.weight.axis !== undefined && quant.weight.axis !== 0) {
    throw new Error(`conv2d: per-channel weight qparams must run along axis 0 (output channels), got axis ${quant.weight.axis}`);
  }
  const output = perTensor(quant.output, "conv2d output");
  return {
    window: resolveWindow2d(attrs, "conv2d"),
    group,
    inputDType,
    inputZeroPoint: input.zeroPoint,
    weightZeroPoints: Int32Array.from(quant.weight.zeroPoint),
    outputStage: prepareOutputStage(
      layerRealMultipliers(input.scale, quant.weight.scale, output.scale), quant.output, quant.activation),
  };
}

export interface Conv2dShape {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernelH: number;
  kernelW: number;
  outHeight: number;
  outWidth: number;
  inChannelsPerGroup: number;
  outChannelsPerGroup: number;
}

/** Validate x [N, C, H, W] and w [C_out, C/group, kH, kW] and work out every size. */
export function conv2dShape(xDims: readonly number[], wDims: readonly number[], window: Window2d, group: number): Conv2dShape {
  const [batch, inChannels, inHeight, inWidth] = xDims as [number, number, number, number];
  const [outChannels, wInChannels, kernelH, kernelW] = wDims as [number, number, number, number];
  if (inChannels % group !== 0) throw new Error(`conv2d: ${inChannels} input channels are not divisible by group ${group}`);
  if (outChannels % group !== 0) throw new Error(`conv2d: ${outChannels} output channels are not divisible by group ${group}`);
  if (wInChannels !== inChannels / group) {
    throw new Error(`conv2d: weight dims [${wDims.join(", ")}] need ${inChannels / group} input channels per group (C ${inChannels} / group ${group}), got ${wInChannels}`);
  }
  checkPositiveInts([kernelH, kernelW], "conv2d: kernel size");
  return {
    batch, inChannels, inHeight, inWidth, outChannels, kernelH, kernelW,
    outHeight: slidingOutputSize(inHeight, kernelH, window.strideH, window.padTop, window.padBottom, window.dilationH, false, "conv2d"),
    outWidth: slidingOutputSize(inWidth, kernelW, window.strideW, window.padLeft, window.padRight, window.dilationW, false, "conv2d"),
    inChannelsPerGroup: inChannels / group,
    outChannelsPerGroup: outChannels / group,
  };
}

/**
 * The int32 accumulators Σ (w − z_w[oc])·(x − z_x) of a convolution, without bias: [N, C_out, OH, OW].
 * This is also ONNX ConvInteger.
 */
export function conv2dAccumulators(
  x: Tensor, w: Tensor, inputZeroPoint: number, weightZeroPoints: ArrayLike<number>, window: Window2d, group: number,
): Int32Tensor {
  const xData = int8Data(x, "conv2d input");
  const wData = int8Data(w, "conv2d weight");
  checkRank(x, 4, "conv2d input", "N, C, H, W");
  checkRank(w, 4, "conv2d weight", "C_out, C_in/group, kH, kW");
  const s = conv2dShape(x.dims, w.dims, window, group);
  checkChannelCount(weightZeroPoints.length, s.outChannels, "conv2d weight zero points");
  const acc = newInt32Tensor([s.batch, s.outChannels, s.outHeight, s.outWidth]);
  const out = acc.data;
  let o = 0;
  for (let n = 0; n < s.batch; n++) {
    for (let oc = 0; oc < s.outChannels; oc++) {
      const g = Math.floor(oc / s.outChannelsPerGroup);
      const zw = channelValue(weightZeroPoints, oc);
      for (let oy = 0; oy < s.outHeight; oy++) {
        for (let ox = 0; ox < s.outWidth; ox++) {
          let sum = 0;
          for (let icg = 0; icg < s.inChannelsPerGroup; icg++) {
            const ic = g * s.inChannelsPerGroup + icg;
            for (let ky = 0; ky < s.kernelH; ky++) {
              const iy = oy * window.strideH - window.padTop + ky * window.dilationH;
              if (iy < 0 || iy >= s.inHeight) continue; // padding: x − z_x = 0
              for (let kx = 0; kx < s.kernelW; kx++) {
                const ix = ox * window.strideW - window.padLeft + kx * window.dilationW;
                if (ix < 0 || ix >= s.inWidth) continue;
                const xv = xData[((n * s.inChannels + ic) * s.inHeight + iy) * s.inWidth + ix]!;
                const wv = wData[((oc * s.inChannelsPerGroup + icg) * s.kernelH + ky) * s.kernelW + kx]!;
                sum = (sum + (wv - zw) * (xv - inputZeroPoint)) | 0;
              }
            }
          }
          out[o++] = sum;
        }
      }
    }
  }
  return acc;
}

/** Add an int32 bias per channel (axis 1) to NC… accumulators in place, wrapping like int32. */
export function addChannelBias(acc: Int32Tensor, bias: Tensor | undefined, role: string): void {
  if (bias === undefined) return;
  const b = int32Data(bias, `${role} bias`);
  const channels = acc.dims[1]!;
  if (bias.dims.length !== 1 || b.length !== channels) {
    throw new Error(`${role} bias must have dims [${channels}], got [${bias.dims.join(", ")}]`);
  }
  const inner = sizeOf(acc.dims.slice(2));
  let i = 0;
  for (let n = 0; n < acc.dims[0]!; n++) {
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k < inner; k++, i++) acc.data[i] = (acc.data[i]! + b[c]!) | 0;
    }
  }
}

/** Requantize NC… accumulators to 8 bits with the per-channel output stage. */
export function requantizeChannels(acc: Int32Tensor, stage: OutputStage, role: string): Int8Tensor {
  const channels = acc.dims[1]!;
  checkChannelCount(stage.multipliers.length, channels, `${role} output multipliers`);
  const y = newInt8Tensor(stage.outputDType, acc.dims);
  const inner = sizeOf(acc.dims.slice(2));
  let i = 0;
  for (let n = 0; n < acc.dims[0]!; n++) {
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k < inner; k++, i++) y.data[i] = outputStageApply(stage, acc.data[i]!, c);
    }
  }
  return y;
}

/** Quantized convolution: x [N, C, H, W], w [C_out, C/group, kH, kW], optional int32 bias [C_out]. */
export function conv2d(plan: Conv2dPlan, x: Tensor, w: Tensor, bias?: Tensor): Int8Tensor {
  if (x.dtype !== plan.inputDType) throw new Error(`conv2d: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
  const acc = conv2dAccumulators(x, w, plan.inputZeroPoint, plan.weightZeroPoints, plan.window, plan.group);
  addChannelBias(acc, bias, "conv2d");
  return requantizeChannels(acc, plan.outputStage, "conv2d");
}

/** ONNX ConvInteger: int32 accumulators of (x − x_zero_point)·(w − w_zero_point), no bias, no requantization. */
export function convInteger(
  x: Tensor, w: Tensor, inputZeroPoint = 0, weightZeroPoints: ArrayLike<number> = [0], attrs: Conv2dAttributes = {},
): Int32Tensor {
  const group = attrs.group ?? 1;
  checkPositiveInts([group], "convInteger: group");
  return conv2dAccumulators(x, w, inputZeroPoint, weightZeroPoints, resolveWindow2d(attrs, "convInteger"), group);
}
