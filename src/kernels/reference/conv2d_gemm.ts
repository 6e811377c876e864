/**
 * Convolution lowered to a matrix product (im2col), with the zero-point-sum form of gemm.ts:
 * the shape optimized kernels take. For each image n and group g:
 *
 *   A = W_g  [C_out/g, K]       K = (C_in/g)·kH·kW  (the weight slice is already this matrix, row-major)
 *   B = cols [K, OH·OW]         cols[(ic, ky, kx), (oy, ox)] = x[n, ic, iy, ix], or z_x where (iy, ix) is padding
 *   acc = Σ a·b − z_w[oc]·Σ_k cols − z_x·Σ_k W_g + K·z_x·z_w[oc]
 *
 * Padding is filled with z_x (the quantized 0), so its (x − z_x) term vanishes exactly as in the
 * direct form. conv2dViaGemm must equal conv2d bit for bit; the tests check it.
 */
import type { Tensor } from "../../tensor/tensor.js";
import { type Int8Data, type Int8Tensor, type Int32Tensor, checkChannelCount, checkRank, int8Data, newInt32Tensor } from "./common.js";
import { type Conv2dPlan, addChannelBias, conv2dShape, requantizeChannels } from "./conv2d.js";
import { integerMatMulWithZeroPointSums } from "./gemm.js";
import type { Window2d } from "./window.js";

/** im2col of one image and one group: [K, OH·OW], padding filled with the input zero point. */
export function im2col(
  x: Int8Data, xDims: readonly number[], n: number, firstChannel: number, channels: number,
  kernelH: number, kernelW: number, outHeight: number, outWidth: number, window: Window2d, inputZeroPoint: number,
): Int8Data {
  const [, inChannels, inHeight, inWidth] = xDims as [number, number, number, number];
  const positions = outHeight * outWidth;
  const cols = x instanceof Int8Array
    ? new Int8Array(channels * kernelH * kernelW * positions)
    : new Uint8Array(channels * kernelH * kernelW * positions);
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = (n * inChannels + firstChannel + c) * inHeight * inWidth;
    for (let ky = 0; ky < kernelH; ky++) {
      for (let kx = 0; kx < kernelW; kx++, row++) {
        for (let oy = 0; oy < outHeight; oy++) {
          const iy = oy * window.strideH - window.padTop + ky * window.dilationH;
          for (let ox = 0; ox < outWidth; ox++) {
            const ix = ox * window.strideW - window.padLeft + kx * window.dilationW;
            const inside = iy >= 0 && iy < inHeight && ix >= 0 && ix < inWidth;
            cols[row * positions + oy * outWidth + ox] = inside ? x[plane + iy * inWidth + ix]! : inputZeroPoint;
          }
        }
      }
    }
  }
  return cols;
}

/** The accumulators of conv2dAccumulators, computed as per-group matrix products with zero-point sums. */
export function conv2dAccumulatorsViaGemm(
  x: Tensor, w: Tensor, inputZeroPoint: number, weightZeroPoints: ArrayLike<number>, window: Window2d, group: number,
): Int32Tensor {
  const xData = int8Data(x, "conv2d input");
  const wData = int8Data(w, "conv2d weight");
  checkRank(x, 4, "conv2d input", "N, C, H, W");
  checkRank(w, 4, "conv2d weight", "C_out, C_in/group, kH, kW");
  const s = conv2dShape(x.dims, w.dims, window, group);
  checkChannelCount(weightZeroPoints.length, s.outChannels, "conv2d weight zero points");
  const k = s.inChannelsPerGroup * s.kernelH * s.kernelW;
  const positions = s.outHeight * s.outWidth;
  const acc = newInt32Tensor([s.batch, s.outChannels, s.outHeight, s.outWidth]);
  for (let n = 0; n < s.batch; n++) {
    for (let g = 0; g < group; g++) {
      const cols = im2col(xData, x.dims, n, g * s.inChannelsPerGroup, s.inChannelsPerGroup,
        s.kernelH, s.kernelW, s.outHeight, s.outWidth, window, inputZeroPoint);
      const firstOut = g * s.outChannelsPerGroup;
      const rowZeroPoints = weightZeroPoints.length === 1
        ? [weightZeroPoints[0]!]
        : Array.from({ length: s.outChannelsPerGroup }, (_, i) => weightZeroPoints[firstOut + i]!);
      const groupAcc = integerMatMulWithZeroPointSums({
        a: wData, aOffset: firstOut * k, aZeroPoints: rowZeroPoints,
        b: cols, bZeroPoints: [inputZeroPoint],
        m: s.outChannelsPerGroup, k, n: positions,
      });
      acc.data.set(groupAcc, (n * s.outChannels + firstOut) * positions);
    }
  }
  return acc;
}

/** conv2d computed through im2col and the zero-point-sum product; equal to conv2d bit for bit. */
export function conv2dViaGemm(plan: Conv2dPlan, x: Tensor, w: Tensor, bias?: Tensor): Int8Tensor {
  if (x.dtype !== plan.inputDType) throw new Error(`conv2d: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
  const acc = conv2dAccumulatorsViaGemm(x, w, plan.inputZeroPoint, plan.weightZeroPoints, plan.window, plan.group);
  addChannelBias(acc, bias, "conv2d");
  return requantizeChannels(acc, plan.outputStage, "conv2d");
}
