/**
 * What every integer reference kernel shares: the 8-bit activation types, access to a Tensor's
 * integer data with clear errors, the fused-activation clamp, and the output stage that turns an
 * int32 accumulator into an 8-bit value (docs/integer-arithmetic.md, "The output stage").
 *
 * Each kernel comes in two verbs: `prepareX` runs once when the model is prepared and does all
 * the floating-point work (real multipliers → {M0, shift}, lookup tables, clamp bounds); `x` runs
 * per inference on integers only.
 */
import type { Tensor } from "../../tensor/tensor.js";
import { sizeOf } from "../../tensor/tensor.js";
import { type QRange, qRange } from "../../quant/dtype.js";
import { type QParams, checkQParams } from "../../quant/qparams.js";
import { quantizeValue } from "../../quant/quantize.js";
import { multiplyByQuantizedMultiplier, quantizeMultiplier } from "../../quant/fixed_point.js";

/** The activation types of the integer kernels. Weights may be either too (ONNX allows uint8 weights). */
export type Int8DType = "int8" | "uint8";
export type Int8Data = Int8Array | Uint8Array;

/** A Tensor known to hold 8-bit integers. */
export interface Int8Tensor extends Tensor {
  dtype: Int8DType;
  data: Int8Data;
}

/** A Tensor of int32 (accumulators, biases). */
export interface Int32Tensor extends Tensor {
  dtype: "int32";
  data: Int32Array;
}

export function isInt8DType(dtype: string): dtype is Int8DType {
  return dtype === "int8" || dtype === "uint8";
}

/** The tensor's data as 8-bit integers, or an error naming the tensor's role. */
export function int8Data(t: Tensor, role: string): Int8Data {
  if (!isInt8DType(t.dtype)) throw new Error(`${role} must be int8 or uint8, got ${t.dtype}`);
  if (!(t.data instanceof Int8Array) && !(t.data instanceof Uint8Array)) {
    throw new Error(`${role} has dtype ${t.dtype} but its data is not an Int8Array/Uint8Array`);
  }
  checkLength(t, role);
  return t.data;
}

export function int32Data(t: Tensor, role: string): Int32Array {
  if (t.dtype !== "int32" || !(t.data instanceof Int32Array)) {
    throw new Error(`${role} must be an int32 tensor (Int32Array data), got ${t.dtype}`);
  }
  checkLength(t, role);
  return t.data;
}

function checkLength(t: Tensor, role: string): void {
  for (const d of t.dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${role} has invalid dims [${t.dims.join(", ")}]`);
  }
  if (t.data.length !== sizeOf(t.dims)) {
    throw new Error(`${role} has dims [${t.dims.join(", ")}] (${sizeOf(t.dims)} values) but ${t.data.length} values`);
  }
}

export function checkRank(t: Tensor, rank: number, role: string, layout = ""): void {
  if (t.dims.length !== rank) {
    throw new Error(`${role} must have rank ${rank}${layout ? ` (${layout})` : ""}, got dims [${t.dims.join(", ")}]`);
  }
}

export function newInt8Tensor(dtype: Int8DType, dims: readonly number[]): Int8Tensor {
  const n = sizeOf(dims);
  return { dtype, dims: [...dims], data: dtype === "int8" ? new Int8Array(n) : new Uint8Array(n) };
}

export function newInt32Tensor(dims: readonly number[], data?: Int32Array): Int32Tensor {
  return { dtype: "int32", dims: [...dims], data: data ?? new Int32Array(sizeOf(dims)) };
}

/** The 8-bit dtype of an activation's qparams, or an error. */
export function int8DTypeOf(qp: QParams, role: string): Int8DType {
  checkQParams(qp);
  if (!isInt8DType(qp.dtype)) throw new Error(`${role} qparams must be int8 or uint8, got ${qp.dtype}`);
  return qp.dtype;
}

/** Scale and zero point of per-tensor qparams, or an error naming the role. */
export function perTensor(qp: QParams, role: string): { scale: number; zeroPoint: number } {
  checkQParams(qp);
  if (qp.scale.length !== 1) {
    throw new Error(`${role} qparams must be per-tensor (one scale), got ${qp.scale.length} scales`);
  }
  return { scale: qp.scale[0]!, zeroPoint: qp.zeroPoint[0]! };
}

/** The value for channel `c` of a per-channel array that may also hold a single per-tensor value. */
export function channelValue(values: ArrayLike<number>, c: number): number {
  return values.length === 1 ? values[0]! : values[c]!;
}

/** Check that a per-channel array has length 1 (per-tensor) or `channels`. */
export function checkChannelCount(length: number, channels: number, what: string): void {
  if (length !== 1 && length !== channels) {
    throw new Error(`${what} has ${length} entries but the op has ${channels} channels (need 1 or ${channels})`);
  }
}

/**
 * An activation fused into the output stage, applied as a clamp of the quantized output
 * (quantization is monotone, so quantize(clip(y, a, b)) = clamp(quantize(y), quantize(a), quantize(b))).
 * Relu → [quantize(0), qmax]; Relu6 → [quantize(0), quantize(6)]; Clip(min, max) → [quantize(min), quantize(max)].
 */
export type FusedActivation =
  | { kind: "none" }
  | { kind: "relu" }
  | { kind: "relu6" }
  | { kind: "clip"; min: number; max: number };

/** The quantized clamp bounds of a fused activation, rounded as QuantizeLinear rounds (half to even). */
export function fusedActivationRange(
  activation: FusedActivation | undefined,
  output: { scale: number; zeroPoint: number },
  dtype: Int8DType,
): QRange {
  const full = qRange(dtype);
  const q = (v: number) => quantizeValue(v, output.scale, output.zeroPoint, dtype);
  const kind = activation?.kind ?? "none";
  switch (kind) {
    case "none": return full;
    case "relu": return { qmin: q(0), qmax: full.qmax };
    case "relu6": return { qmin: q(0), qmax: q(6) };
    case "clip": {
      const { min, max } = activation as { kind: "clip"; min: number; max: number };
      if (!(min <= max)) throw new Error(`fused Clip needs min ≤ max, got [${min}, ${max}]`);
      return { qmin: q(min), qmax: q(max) };
    }
    default:
      throw new Error(`unknown fused activation ${JSON.stringify(kind)} (expected none, relu, relu6 or clip)`);
  }
}

/**
 * The output stage of a layer with an int32 accumulator: out = clamp(z_out + M_c·acc), with
 * M_c = s_x·s_w[c]/s_out held per output channel as {M0, shift} (one entry when per-tensor).
 */
export interface OutputStage {
  multipliers: Int32Array;
  shifts: Int32Array;
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
  outputDType: Int8DType;
}

/** Prepare an output stage from the real multipliers (float work, done once). */
export function prepareOutputStage(
  realMultipliers: ArrayLike<number>,
  output: QParams,
  activation?: FusedActivation,
): OutputStage {
  const outputDType = int8DTypeOf(output, "output");
  const out = perTensor(output, "output");
  const multipliers = new Int32Array(realMultipliers.length);
  const shifts = new Int32Array(realMultipliers.length);
  for (let c = 0; c < realMultipliers.length; c++) {
    const q = quantizeMultiplier(realMultipliers[c]!);
    multipliers[c] = q.multiplier;
    shifts[c] = q.shift;
  }
  const range = fusedActivationRange(activation, out, outputDType);
  return {
    multipliers, shifts, outputZeroPoint: out.zeroPoint, clampMin: range.qmin, clampMax: range.qmax, outputDType,
  };
}

/**
 * Requantize one accumulator of output channel `c`. The zero-point addition is exact (not an int32
 * wrap) and is followed by the clamp, so an out-of-range result saturates.
 */
export function outputStageApply(stage: OutputStage, acc: number, c: number): number {
  const m = stage.multipliers.length === 1 ? 0 : c;
  const scaled = multiplyByQuantizedMultiplier(acc, stage.multipliers[m]!, stage.shifts[m]!);
  return clamp(stage.outputZeroPoint + scaled, stage.clampMin, stage.clampMax);
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Real multipliers s_x·s_w[c]/s_out for every weight channel (float work, prepare time only). */
export function layerRealMultipliers(inputScale: number, weightScales: ArrayLike<number>, outputScale: number, extra = 1): number[] {
  const m: number[] = [];
  for (let c = 0; c < weightScales.length; c++) m.push((extra * inputScale * weightScales[c]!) / outputScale);
  return m;
}

/** Positive integer check for shapes and attributes. */
export function checkPositiveInts(values: readonly number[], what: string): void {
  for (const v of values) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be positive integers, got [${values.join(", ")}]`);
  }
}

export function checkNonNegativeInts(values: readonly number[], what: string): void {
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${what} must be non-negative integers, got [${values.join(", ")}]`);
  }
}
