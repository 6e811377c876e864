/**
 * Quantized pooling over NCHW: MaxPool, AveragePool and GlobalAveragePool.
 *
 * MaxPool: the affine map is increasing, so the max of the quantized values is the quantized max.
 * Padding never wins (it is −∞ in ONNX). Output params that differ from the input's are handled by
 * requantizing the max (requantize.ts).
 *
 * AveragePool: acc = Σ (q − z_in) over the window's taps, count = number of taps averaged
 * (taps inside the input; with count_include_pad also taps on the padding, but never the ceil-mode
 * overhang past the end padding).
 *   same params in and out:  y = z + roundingDivide(acc, count)  — ties away from zero, the
 *     integer rounding of TFLite's reference AveragePool ((acc ± count/2) / count, C division).
 *   different params:  y = clamp(z_out + MBQM(acc, s_in/(s_out·count))), with one {M0, shift}
 *     prepared for every possible count 1 … kH·kW (the count varies at the borders), applied with
 *     the headroom of quantizeMultiplierWithHeadroom (|acc| < 2^8·count).
 * GlobalAveragePool is the same over the whole H×W plane.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { qRange } from "../../quant/dtype.js";
import { type HeadroomMultiplier, multiplyWithHeadroom, quantizeMultiplierWithHeadroom } from "../../quant/fixed_point.js";
import {
  type Int8DType, type Int8Tensor, checkPositiveInts, checkRank, clamp, int8Data, int8DTypeOf, newInt8Tensor, perTensor,
} from "./common.js";
import { type RequantizePlan, isIdentityRequantize, prepareRequantize, requantizeValue } from "./requantize.js";
import { type Window2d, type Window2dAttributes, resolveWindow2d, slidingOutputSize } from "./window.js";

export interface Pool2dAttributes extends Window2dAttributes {
  /** [kH, kW] */
  kernelShape: readonly number[];
  ceilMode?: boolean;
}

export interface AveragePool2dAttributes extends Pool2dAttributes {
  countIncludePad?: boolean;
}

interface PoolGeometry {
  window: Window2d;
  kernelH: number;
  kernelW: number;
  ceilMode: boolean;
}

function resolvePool(attrs: Pool2dAttributes, what: string): PoolGeometry {
  const kernel = attrs.kernelShape;
  if (!kernel || kernel.length !== 2) throw new Error(`${what}: kernelShape must have 2 values [kH, kW], got ${JSON.stringify(kernel)}`);
  checkPositiveInts(kernel, `${what}: kernelShape`);
  return { window: resolveWindow2d(attrs, what), kernelH: kernel[0]!, kernelW: kernel[1]!, ceilMode: attrs.ceilMode ?? false };
}

function outputSize(geometry: PoolGeometry, inHeight: number, inWidth: number, what: string): [number, number] {
  const w = geometry.window;
  return [
    slidingOutputSize(inHeight, geometry.kernelH, w.strideH, w.padTop, w.padBottom, w.dilationH, geometry.ceilMode, what),
    slidingOutputSize(inWidth, geometry.kernelW, w.strideW, w.padLeft, w.padRight, w.dilationW, geometry.ceilMode, what),
  ];
}

/**
 * Rounded integer division, ties away from zero, for a positive divisor (TFLite reference
 * AveragePool: (acc + (acc > 0 ? count/2 : −count/2)) / count with C's truncating division).
 */
export function roundingDivide(numerator: number, divisor: number): number {
  if (!Number.isInteger(divisor) || divisor < 1) throw new Error(`roundingDivide needs a positive integer divisor, got ${divisor}`);
  const half = Math.floor(divisor / 2);
  return Math.trunc((numerator + (numerator > 0 ? half : -half)) / divisor) | 0; // | 0: no −0
}

// ---------------------------------------------------------------------------------------------

export interface MaxPool2dPlan extends PoolGeometry {
  requantize: RequantizePlan;
}

export function prepareMaxPool2d(attrs: Pool2dAttributes, input: QParams, output: QParams = input): MaxPool2dPlan {
  return { ...resolvePool(attrs, "maxPool2d"), requantize: prepareRequantize(input, output) };
}

export function maxPool2d(plan: MaxPool2dPlan, x: Tensor): Int8Tensor {
  const data = int8Data(x, "maxPool2d input");
  checkRank(x, 4, "maxPool2d input", "N, C, H, W");
  if (x.dtype !== plan.requantize.inputDType) throw new Error(`maxPool2d: input is ${x.dtype} but the plan was prepared for ${plan.requantize.inputDType}`);
  const [batch, channels, inHeight, inWidth] = x.dims as [number, number, number, number];
  const [outHeight, outWidth] = outputSize(plan, inHeight, inWidth, "maxPool2d");
  const w = plan.window;
  const identity = isIdentityRequantize(plan.requantize);
  const y = newInt8Tensor(plan.requantize.outputDType, [batch, channels, outHeight, outWidth]);
  let o = 0;
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = plane * inHeight * inWidth;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        let best = -Infinity;
        for (let ky = 0; ky < plan.kernelH; ky++) {
          const iy = oy * w.strideH - w.padTop + ky * w.dilationH;
          if (iy < 0 || iy >= inHeight) continue;
          for (let kx = 0; kx < plan.kernelW; kx++) {
            const ix = ox * w.strideW - w.padLeft + kx * w.dilationW;
            if (ix < 0 || ix >= inWidth) continue;
            const v = data[base + iy * inWidth + ix]!;
            if (v > best) best = v;
          }
        }
        if (best === -Infinity) throw new Error("maxPool2d: a window lies entirely in the padding");
        y.data[o++] = identity ? best : requantizeValue(plan.requantize, best);
      }
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------

/** How an average is turned into an output value; shared by AveragePool and GlobalAveragePool. */
interface AverageRescale {
  inputDType: Int8DType;
  outputDType: Int8DType;
  inputZeroPoint: number;
  outputZeroPoint: number;
  /** Same scale and zero point in and out: plain rounded division. */
  sameParams: boolean;
  /** For different params: the multiplier s_in/(s_out·count) at index count − 1. */
  multipliers: HeadroomMultiplier[];
  qmin: number;
  qmax: number;
}

function prepareAverageRescale(input: QParams, output: QParams, maxCount: number, what: string): AverageRescale {
  const inputDType = int8DTypeOf(input, `${what} input`);
  const outputDType = int8DTypeOf(output, `${what} output`);
  const i = perTensor(input, `${what} input`);
  const o = perTensor(output, `${what} output`);
  const sameParams = i.scale === o.scale && i.zeroPoint === o.zeroPoint && inputDType === outputDType;
  const count = sameParams ? 0 : maxCount;
  const accumulatorBits = 8 + Math.ceil(Math.log2(Math.max(1, count)));
  const multipliers: HeadroomMultiplier[] = [];
  for (let c = 1; c <= count; c++) multipliers.push(quantizeMultiplierWithHeadroom(i.scale / (o.scale * c), accumulatorBits));
  const { qmin, qmax } = qRange(outputDType);
  return { inputDType, outputDType, inputZeroPoint: i.zeroPoint, outputZeroPoint: o.zeroPoint, sameParams, multipliers, qmin, qmax };
}

function averageValue(r: AverageRescale, acc: number, count: number): number {
  if (r.sameParams) return clamp(r.outputZeroPoint + roundingDivide(acc, count), r.qmin, r.qmax);
  if (count > r.multipliers.length) throw new Error(`average pool: count ${count} exceeds the ${r.multipliers.length} prepared`);
  return clamp(r.outputZeroPoint + multiplyWithHeadroom(acc, r.multipliers[count - 1]!), r.qmin, r.qmax);
}

export interface AveragePool2dPlan extends PoolGeometry {
  countIncludePad: boolean;
  rescale: AverageRescale;
}

export function prepareAveragePool2d(attrs: AveragePool2dAttributes, input: QParams, output: QParams = input): AveragePool2dPlan {
  const geometry = resolvePool(attrs, "averagePool2d");
  return {
    ...geometry,
    countIncludePad: attrs.countIncludePad ?? false,
    rescale: prepareAverageRescale(input, output, geometry.kernelH * geometry.kernelW, "averagePool2d"),
  };
}

export function averagePool2d(plan: AveragePool2dPlan, x: Tensor): Int8Tensor {
  const data = int8Data(x, "averagePool2d input");
  checkRank(x, 4, "averagePool2d input", "N, C, H, W");
  const r = plan.rescale;
  if (x.dtype !== r.inputDType) throw new Error(`averagePool2d: input is ${x.dtype} but the plan was prepared for ${r.inputDType}`);
  const [batch, channels, inHeight, inWidth] = x.dims as [number, number, number, number];
  const [outHeight, outWidth] = outputSize(plan, inHeight, inWidth, "averagePool2d");
  const w = plan.window;
  const y = newInt8Tensor(r.outputDType, [batch, channels, outHeight, outWidth]);
  let o = 0;
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = plane * inHeight * inWidth;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        let acc = 0;
        let count = 0;
        for (let ky = 0; ky < plan.kernelH; ky++) {
          const iy = oy * w.strideH - w.padTop + ky * w.dilationH;
          const rowInPadded = iy >= -w.padTop && iy < inHeight + w.padBottom;
          for (let kx = 0; kx < plan.kernelW; kx++) {
            const ix = ox * w.strideW - w.padLeft + kx * w.dilationW;
            const inside = iy >= 0 && iy < inHeight && ix >= 0 && ix < inWidth;
            if (inside) {
              acc += data[base + iy * inWidth + ix]! - r.inputZeroPoint;
              count++;
            } else if (plan.countIncludePad && rowInPadded && ix >= -w.padLeft && ix < inWidth + w.padRight) {
              count++; // a padded tap holds real 0: it adds nothing to acc but counts
            }
          }
        }
        if (count === 0) throw new Error("averagePool2d: a window lies entirely outside the input");
        y.data[o++] = averageValue(r, acc, count);
      }
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------

export interface GlobalAveragePoolPlan {
  rescale: AverageRescale;
  /** H·W the plan was prepared for (needed only when params differ); 0 when any size is accepted. */
  spatialSize: number;
}

/**
 * GlobalAveragePool over [N, C, H, W] → [N, C, 1, 1]. When input and output params differ the
 * multiplier depends on H·W, so `spatialSize` must then be given.
 */
export function prepareGlobalAveragePool(input: QParams, output: QParams = input, spatialSize?: number): GlobalAveragePoolPlan {
  const probe = prepareAverageRescale(input, output, 0, "globalAveragePool");
  if (probe.sameParams) return { rescale: probe, spatialSize: 0 };
  if (spatialSize === undefined || !Number.isInteger(spatialSize) || spatialSize < 1) {
    throw new Error(`globalAveragePool: input and output params differ, so prepare needs the spatial size H·W (got ${spatialSize})`);
  }
  const full = prepareAverageRescale(input, output, spatialSize, "globalAveragePool");
  // Only the multiplier for exactly H·W is ever used.
  return { rescale: full, spatialSize };
}

export function globalAveragePool(plan: GlobalAveragePoolPlan, x: Tensor): Int8Tensor {
  const data = int8Data(x, "globalAveragePool input");
  if (x.dims.length < 3) throw new Error(`globalAveragePool input must be [N, C, spatial…], got dims [${x.dims.join(", ")}]`);
  const r = plan.rescale;
  if (x.dtype !== r.inputDType) throw new Error(`globalAveragePool: input is ${x.dtype} but the plan was prepared for ${r.inputDType}`);
  const [batch, channels] = x.dims as [number, number];
  const size = data.length / (batch * channels || 1);
  if (plan.spatialSize !== 0 && size !== plan.spatialSize) {
    throw new Error(`globalAveragePool: prepared for spatial size ${plan.spatialSize}, got ${size}`);
  }
  if (size === 0) throw new Error("globalAveragePool: empty spatial extent");
  const y = newInt8Tensor(r.outputDType, [batch, channels, ...x.dims.slice(2).map(() => 1)]);
  for (let plane = 0; plane < batch * channels; plane++) {
    let acc = 0;
    for (let i = 0; i < size; i++) acc += data[plane * size + i]! - r.inputZeroPoint;
    y.data[plane] = averageValue(r, acc, size);
  }
  return y;
}
