/**
 * Weight quantization: the min/max of a weight tensor (whole, or per channel along an axis), the
 * qparams from those ranges, and the quantized tensor. Which axis is the output-channel axis of
 * which op is decided by plan/, not here; `axis` is simply a parameter.
 */
import { type Tensor, type DType, toFloat32 } from "../tensor/tensor.js";
import { axisLayout, checkDims, normalizeAxis } from "./axis.js";
import { type QParamOptions, type QParams, qparamsFromRange, qparamsFromRanges } from "./qparams.js";
import { quantizeTensor } from "./quantize.js";

export interface ChannelRanges {
  mins: Float32Array;
  maxs: Float32Array;
}

/**
 * min and max of each slice along `axis` of row-major `data` with shape `dims`.
 * An empty slice (some other dim is 0) gets [0, 0]. NaN anywhere is an error, because a NaN weight
 * would otherwise silently vanish from the comparisons.
 */
export function channelRanges(data: ArrayLike<number>, dims: readonly number[], axis: number): ChannelRanges {
  checkDims(dims);
  let size = 1;
  for (const d of dims) size *= d;
  if (data.length !== size) throw new Error(`channelRanges: dims [${dims.join(", ")}] hold ${size} values but got ${data.length}`);
  const { outer, channels, inner } = axisLayout(dims, axis);
  const mins = new Float32Array(channels).fill(outer * inner === 0 ? 0 : Infinity);
  const maxs = new Float32Array(channels).fill(outer * inner === 0 ? 0 : -Infinity);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let lo = mins[c]!;
      let hi = maxs[c]!;
      for (const end = i + inner; i < end; i++) {
        const x = data[i]!;
        if (x !== x) throw new Error(`channelRanges: value at flat index ${i} is NaN`);
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      mins[c] = lo;
      maxs[c] = hi;
    }
  }
  return { mins, maxs };
}

/** min and max of a whole array ([0, 0] when empty); NaN is an error. */
export function tensorRange(data: ArrayLike<number>): { min: number; max: number } {
  if (data.length === 0) return { min: 0, max: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x !== x) throw new Error(`tensorRange: value at flat index ${i} is NaN`);
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max };
}

export interface WeightQuantOptions extends QParamOptions {
  /** Per-channel along this axis (ONNX-style, negatives count from the end); undefined = per-tensor. */
  axis?: number;
}

const FLOAT_DTYPES: readonly DType[] = ["float32", "float16", "float64"];

/**
 * Quantize a float weight tensor from its own min/max (per-tensor, or per-channel along opts.axis).
 * Weight ranges are exact, not estimated, so no calibration is involved. Infinite weights are an error
 * (they have no finite range).
 */
export function quantizeWeight(weight: Tensor, opts: WeightQuantOptions): { q: Tensor; qparams: QParams } {
  if (!FLOAT_DTYPES.includes(weight.dtype)) {
    throw new Error(`quantizeWeight: expected a float tensor (${FLOAT_DTYPES.join(", ")}), got ${weight.dtype}`);
  }
  const data = toFloat32(weight);
  const { axis, ...paramOpts } = opts;
  let qparams: QParams;
  if (axis === undefined) {
    const { min, max } = tensorRange(data);
    qparams = qparamsFromRange(min, max, paramOpts);
  } else {
    // Stored non-negative so that consumers (export, runtime) need not normalise it again.
    const channelAxis = normalizeAxis(axis, weight.dims.length);
    const { mins, maxs } = channelRanges(data, weight.dims, channelAxis);
    qparams = qparamsFromRanges(mins, maxs, paramOpts, channelAxis);
  }
  const q = quantizeTensor({ dtype: "float32", dims: weight.dims, data }, qparams);
  return { q, qparams };
}
