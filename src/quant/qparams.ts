/**
 * Quantization parameters and how to choose them from a real range.
 *
 * The affine map is real = scale · (q − zero_point) (gemmlowp doc/quantization.md; Jacob et al. 2018
 * eq. 1). Ranges are first widened to contain 0, and zero_point is an integer in [qmin, qmax], so
 * real 0 is represented exactly (zero padding and ReLU must not introduce error).
 *
 *   asymmetric: scale = (max − min) / (qmax − qmin),     zero_point = clamp(round(qmin − min / scale))
 *   symmetric:  scale = max(|min|, |max|) / ((qmax − qmin) / 2),
 *               zero_point = round((qmin + qmax) / 2)   (0 for signed types, 2^(b−1) for unsigned)
 *
 * Rounding is half to even throughout, as in ONNX Runtime's compute_scale_zp (numpy.round) and ONNX
 * DynamicQuantizeLinear ("rounding to nearest ties to even"). Scales are stored as float32 because
 * ONNX stores them as float32: we compute in double, round once with Math.fround, and derive the
 * zero point from that float32 scale, so the stored pair is self-consistent.
 *
 * A zero-width range (an all-zero tensor) has no natural scale. Like ONNX Runtime
 * (onnxruntime/python/tools/quantization/quant_utils.py, compute_scale_zp: "if scale <
 * numpy.finfo(rmax.dtype).tiny: scale = 1.0"), any scale below the smallest normal float32
 * (2^−126) is replaced by 1. Unlike ONNX Runtime, which then sets zero_point 0, octet keeps the zero
 * point its formula gives for the range [0, 0] (qmin for asymmetric, the centre for symmetric), so
 * that a channel that happens to be all zeros gets the same zero point as its siblings (ONNX Runtime's
 * per-channel QLinearConv requires equal zero points across channels). Both choices represent 0 exactly.
 */
import { type QuantDType, qRange, QUANT_DTYPES, isQuantDType } from "./dtype.js";
import { roundHalfToEven } from "./rounding.js";

export interface QParams {
  dtype: QuantDType;
  /** float32 scales, all finite and > 0. Length 1 for per-tensor, dims[axis] for per-axis. */
  scale: Float32Array;
  /** Integer zero points within the dtype's full range, same length as `scale`. */
  zeroPoint: Int32Array;
  /** Set for per-axis (per-channel) parameters: the axis of the tensor that `scale` runs along. */
  axis?: number;
}

export interface QParamOptions {
  dtype: QuantDType;
  /** Force zero_point to the centre of the range and scale from max|x| (default false). */
  symmetric?: boolean;
  /** Use the narrow range (lowest code dropped; see dtype.ts) when computing params (default false). */
  narrow?: boolean;
}

/** Smallest normal float32, 2^−126: ONNX Runtime's threshold (numpy.finfo(float32).tiny) for a zero-width range. */
const FLOAT32_TINY = 2 ** -126;

/** The zero point of symmetric quantization: the centre of [qmin, qmax], ties to even. */
export function symmetricZeroPoint(dtype: QuantDType, narrow = false): number {
  const { qmin, qmax } = qRange(dtype, narrow);
  return roundHalfToEven((qmin + qmax) / 2);
}

function checkOptions(opts: QParamOptions): void {
  if (opts === null || typeof opts !== "object") throw new Error("quantization options must be an object { dtype, symmetric?, narrow? }");
  if (!isQuantDType(opts.dtype)) {
    throw new Error(`unknown quantization dtype ${JSON.stringify(opts.dtype)}; valid: ${QUANT_DTYPES.join(", ")}`);
  }
  for (const flag of ["symmetric", "narrow"] as const) {
    if (opts[flag] !== undefined && typeof opts[flag] !== "boolean") {
      throw new Error(`option ${flag} must be a boolean, got ${JSON.stringify(opts[flag])}`);
    }
  }
}

function checkRange(min: number, max: number, where: string): void {
  if (typeof min !== "number" || typeof max !== "number" || !Number.isFinite(min) || !Number.isFinite(max)) {
    throw new Error(`range${where} must be finite numbers, got [${min}, ${max}]`);
  }
  if (min > max) throw new Error(`range${where} has min ${min} > max ${max}`);
}

/** scale and zero point of one range; options already checked. */
function scaleAndZeroPoint(min: number, max: number, opts: QParamOptions, where: string): [number, number] {
  checkRange(min, max, where);
  const { qmin, qmax } = qRange(opts.dtype, opts.narrow ?? false);
  // Widen to include 0 so that 0 is exactly representable (gemmlowp doc/quantization.md).
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  let scale: number;
  let zeroPoint: number;
  if (opts.symmetric) {
    const absMax = Math.max(-lo, hi);
    scale = Math.fround(absMax / ((qmax - qmin) / 2));
    zeroPoint = roundHalfToEven((qmin + qmax) / 2);
    if (scale < FLOAT32_TINY) scale = 1;
  } else {
    scale = Math.fround((hi - lo) / (qmax - qmin));
    if (scale < FLOAT32_TINY) scale = 1;
    // From the float32 scale actually stored, so that q = zero_point maps back to exactly 0 and
    // lo maps as close to qmin as that scale allows.
    zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfToEven(qmin - lo / scale)));
  }
  if (!Number.isFinite(scale)) {
    throw new Error(`range${where} [${min}, ${max}] needs a scale beyond float32 (${(hi - lo) / (qmax - qmin)})`);
  }
  return [scale, zeroPoint];
}

/** Per-tensor parameters for one real range [min, max]. */
export function qparamsFromRange(min: number, max: number, opts: QParamOptions): QParams {
  checkOptions(opts);
  const [scale, zeroPoint] = scaleAndZeroPoint(min, max, opts, "");
  return { dtype: opts.dtype, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zeroPoint) };
}

/** Per-axis parameters: one range per channel along `axis` (the axis itself is the caller's choice). */
export function qparamsFromRanges(
  mins: ArrayLike<number>,
  maxs: ArrayLike<number>,
  opts: QParamOptions,
  axis: number,
): QParams {
  checkOptions(opts);
  if (!Number.isInteger(axis)) throw new Error(`per-axis axis must be an integer, got ${axis}`);
  if (mins.length !== maxs.length) {
    throw new Error(`per-axis ranges need as many mins as maxs, got ${mins.length} and ${maxs.length}`);
  }
  if (mins.length === 0) throw new Error("per-axis ranges are empty: need at least one channel");
  const n = mins.length;
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const [s, z] = scaleAndZeroPoint(mins[c]!, maxs[c]!, opts, ` of channel ${c}`);
    scale[c] = s;
    zeroPoint[c] = z;
  }
  return { dtype: opts.dtype, scale, zeroPoint, axis };
}

/**
 * Throw a clear error unless `qp` is well formed: known dtype, equal-length scale/zero point arrays,
 * finite positive scales, integer zero points inside the dtype's full range, a single pair when
 * per-tensor, and (when `dims` is given) dims[axis] pairs when per-axis.
 */
export function checkQParams(qp: QParams, dims?: readonly number[]): void {
  if (qp === null || typeof qp !== "object") throw new Error("qparams must be an object { dtype, scale, zeroPoint, axis? }");
  if (!isQuantDType(qp.dtype)) {
    throw new Error(`qparams has unknown dtype ${JSON.stringify(qp.dtype)}; valid: ${QUANT_DTYPES.join(", ")}`);
  }
  if (!(qp.scale instanceof Float32Array)) throw new Error("qparams.scale must be a Float32Array");
  if (!(qp.zeroPoint instanceof Int32Array)) throw new Error("qparams.zeroPoint must be an Int32Array");
  const n = qp.scale.length;
  if (n === 0) throw new Error("qparams.scale is empty");
  if (qp.zeroPoint.length !== n) {
    throw new Error(`qparams has ${n} scales but ${qp.zeroPoint.length} zero points`);
  }
  if (qp.axis === undefined) {
    if (n !== 1) throw new Error(`per-tensor qparams need exactly 1 scale, got ${n} (set axis for per-axis)`);
  } else {
    if (!Number.isInteger(qp.axis)) throw new Error(`qparams.axis must be an integer, got ${qp.axis}`);
    if (dims !== undefined) {
      const rank = dims.length;
      if (qp.axis < -rank || qp.axis >= rank) {
        throw new Error(`qparams.axis ${qp.axis} is out of range for a tensor of rank ${rank}`);
      }
      const channels = dims[qp.axis < 0 ? qp.axis + rank : qp.axis]!;
      if (channels !== n) {
        throw new Error(`per-axis qparams have ${n} scales but the tensor has ${channels} channels along axis ${qp.axis}`);
      }
    }
  }
  const { qmin, qmax } = qRange(qp.dtype);
  for (let c = 0; c < n; c++) {
    const s = qp.scale[c]!;
    if (!(s > 0) || !Number.isFinite(s)) throw new Error(`qparams.scale[${c}] = ${s}; scales must be finite and > 0`);
    const z = qp.zeroPoint[c]!;
    if (z < qmin || z > qmax) {
      throw new Error(`qparams.zeroPoint[${c}] = ${z} is outside the ${qp.dtype} range [${qmin}, ${qmax}]`);
    }
  }
}
