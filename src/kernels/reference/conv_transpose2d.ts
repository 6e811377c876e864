/**
 * Integer transposed 2-D convolution (ONNX ConvTranspose), NCHW, weights [C_in, C_out/group, kH, kW].
 *
 * Each input pixel scatters x·w into the output; written here as a gather, one output at a time:
 *   acc[n, oc, oy, ox] = Σ_{ic in oc's group, ky, kx} (x[n, ic, iy, ix] − z_x)·(w[ic, oc mod C_out/g, ky, kx] − z_w)
 *   over the (ky, kx) for which oy = iy·strideH − padTop + ky·dilationH has an integer iy inside the
 *   input (and likewise for x), + bias[oc];  y = clamp(z_y + M[oc]·acc).
 *
 *   output size = strideH·(H − 1) + outputPaddingH + (kH − 1)·dilationH + 1 − padTop − padBottom
 *
 * ONNX's `output_shape` attribute is not taken here: the graph compiler turns it into pads.
 * Per-channel weight qparams run along axis 1 of the weight (the quantizers' choice for
 * ConvTranspose), so with groups the same C_out/group parameters repeat in every group.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import {
  type FusedActivation, type Int32Tensor, type Int8DType, type Int8Tensor, type OutputStage,
  checkChannelCount, checkNonNegativeInts, checkPositiveInts, checkRank, channelValue, int8Data, int8DTypeOf,
  layerRealMultipliers, newInt32Tensor, perTensor, prepareOutputStage,
} from "./common.js";
import { addChannelBias, requantizeChannels } from "./conv2d.js";
import { type Window2d, type Window2dAttributes, resolveWindow2d } from "./window.js";

export interface ConvTranspose2dAttributes extends Window2dAttributes {
  group?: number;
  /** Extra rows/columns at the end of the output, [h, w]; each must be < its stride or dilation. */
  outputPadding?: readonly number[];
}

export interface ConvTranspose2dQuantization {
  input: QParams;
  /** Per-tensor, or per channel along axis 1 of the [C_in, C_out/group, kH, kW] weight. */
  weight: QParams;
  output: QParams;
  activation?: FusedActivation;
}

export interface ConvTranspose2dPlan {
  window: Window2d;
  group: number;
  outputPaddingH: number;
  outputPaddingW: number;
  inputDType: Int8DType;
  inputZeroPoint: number;
  /** Length 1 or C_out/group (indexed by oc mod C_out/group). */
  weightZeroPoints: Int32Array;
  /** Per output channel (already repeated across groups) or per tensor. */
  outputStage: OutputStage;
}

export function prepareConvTranspose2d(attrs: ConvTranspose2dAttributes, quant: ConvTranspose2dQuantization): ConvTranspose2dPlan {
  const group = attrs.group ?? 1;
  checkPositiveInts([group], "convTranspose2d: group");
  const outputPadding = attrs.outputPadding ?? [0, 0];
  if (outputPadding.length !== 2) throw new Error(`convTranspose2d: outputPadding must have 2 values, got [${outputPadding.join(", ")}]`);
  checkNonNegativeInts(outputPadding, "convTranspose2d: outputPadding");
  const window = resolveWindow2d(attrs, "convTranspose2d");
  if (outputPadding[0]! >= Math.max(window.strideH, window.dilationH) || outputPadding[1]! >= Math.max(window.strideW, window.dilationW)) {
    throw new Error(`convTranspose2d: outputPadding [${outputPadding.join(", ")}] must be smaller than the stride or dilation`);
  }
  const inputDType = int8DTypeOf(quant.input, "convTranspose2d input");
  const input = perTensor(quant.input, "convTranspose2d input");
  int8DTypeOf(quant.weight, "convTranspose2d weight");
  if (quant.weight.axis !== undefined && quant.weight.axis !== 1) {
    throw new Error(`convTranspose2d: per-channel weight qparams must run along axis 1, got axis ${quant.weight.axis}`);
  }
  const output = perTensor(quant.output, "convTranspose2d output");
  const perGroup = layerRealMultipliers(input.scale, quant.weight.scale, output.scale);
  const perOutputChannel = perGroup.length === 1 ? perGroup : Array.from({ length: perGroup.length * group }, (_, oc) => perGroup[oc % perGroup.length]!);
  return {
    window, group, outputPaddingH: outputPadding[0]!, outputPaddingW: outputPadding[1]!,
    inputDType, inputZeroPoint: input.zeroPoint,
    weightZeroPoints: Int32Array.from(quant.weight.zeroPoint),
    outputStage: prepareOutputStage(perOutputChannel, quant.output, quant.activation),
  };
}

/** Accumulators of a transposed convolution, without bias: [N, C_out, OH, OW]. */
export function convTranspose2dAccumulators(
  x: Tensor, w: Tensor, inputZeroPoint: number, weightZeroPoints: ArrayLike<number>,
  window: Window2d, group: number, outputPaddingH = 0, outputPaddingW = 0,
): Int32Tensor {
  const xData = int8Data(x, "convTranspose2d input");
  const wData = int8Data(w, "convTranspose2d weight");
  checkRank(x, 4, "convTranspose2d input", "N, C, H, W");
  checkRank(w, 4, "convTranspose2d weight", "C_in, C_out/group, kH, kW");
  const [batch, inChannels, inHeight, inWidth] = x.dims as [number, number, number, number];
  const [wInChannels, outPerGroup, kernelH, kernelW] = w.dims as [number, number, number, number];
  if (wInChannels !== inChannels) throw new Error(`convTranspose2d: weight has ${wInChannels} input channels, input has ${inChannels}`);
  if (inChannels % group !== 0) throw new Error(`convTranspose2d: ${inChannels} input channels are not divisible by group ${group}`);
  checkChannelCount(weightZeroPoints.length, outPerGroup, "convTranspose2d weight zero points");
  const inPerGroup = inChannels / group;
  const outChannels = outPerGroup * group;
  const outHeight = window.strideH * (inHeight - 1) + outputPaddingH + (kernelH - 1) * window.dilationH + 1 - window.padTop - window.padBottom;
  const outWidth = window.strideW * (inWidth - 1) + outputPaddingW + (kernelW - 1) * window.dilationW + 1 - window.padLeft - window.padRight;
  if (outHeight < 1 || outWidth < 1) throw new Error(`convTranspose2d: pads leave an empty output (${outHeight}×${outWidth})`);
  const acc = newInt32Tensor([batch, outChannels, outHeight, outWidth]);
  let o = 0;
  for (let n = 0; n < batch; n++) {
    for (let oc = 0; oc < outChannels; oc++) {
      const g = Math.floor(oc / outPerGroup);
      const ocg = oc % outPerGroup;
      const zw = channelValue(weightZeroPoints, ocg);
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) {
          let sum = 0;
          for (let ky = 0; ky < kernelH; ky++) {
            const ty = oy + window.padTop - ky * window.dilationH; // = iy·strideH
            if (ty < 0 || ty % window.strideH !== 0) continue;
            const iy = ty / window.strideH;
            if (iy >= inHeight) continue;
            for (let kx = 0; kx < kernelW; kx++) {
              const tx = ox + window.padLeft - kx * window.dilationW;
              if (tx < 0 || tx % window.strideW !== 0) continue;
              const ix = tx / window.strideW;
              if (ix >= inWidth) continue;
              for (let icg = 0; icg < inPerGroup; icg++) {
                const ic = g * inPerGroup + icg;
                const xv = xData[((n * inChannels + ic) * inHeight + iy) * inWidth + ix]!;
                const wv = wData[((ic * outPerGroup + ocg) * kernelH + ky) * kernelW + kx]!;
                sum = (sum + (xv - inputZeroPoint) * (wv - zw)) | 0;
              }
            }
          }
          acc.data[o++] = sum;
        }
      }
    }
  }
  return acc;
}

/** Quantized ConvTranspose: x [N, C_in, H, W], w [C_in, C_out/group, kH, kW], optional int32 bias [C_out]. */
export function convTranspose2d(plan: ConvTranspose2dPlan, x: Tensor, w: Tensor, bias?: Tensor): Int8Tensor {
  if (x.dtype !== plan.inputDType) throw new Error(`convTranspose2d: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
  const acc = convTranspose2dAccumulators(x, w, plan.inputZeroPoint, plan.weightZeroPoints, plan.window, plan.group,
    plan.outputPaddingH, plan.outputPaddingW);
  addChannelBias(acc, bias, "convTranspose2d");
  return requantizeChannels(acc, plan.outputStage, "convTranspose2d");
}
