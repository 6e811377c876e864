/**
 * quantize / dequantize with exactly the arithmetic of ONNX QuantizeLinear and DequantizeLinear
 * (ONNX operator spec; float32 scale and input):
 *
 *   QuantizeLinear:   q = saturate(round_half_to_even(x / scale) + zero_point)   x / scale in float32
 *   DequantizeLinear: x = (q − zero_point) · scale                              product in float32
 *
 * saturate clamps to the dtype's FULL range ([-128, 127] for int8, ...), as QuantizeLinear does;
 * a "narrow" range only influences how qparams are chosen (qparams.ts). Weights quantized with
 * narrow params stay inside the narrow range because they lie inside their own calibrated range.
 *
 * float32 arithmetic in JavaScript: x and scale are float32 values held in doubles; the double
 * quotient (or product) rounded once with Math.fround equals the correctly rounded float32 result
 * (double has more than 2·24 + 2 significand bits, so the double rounding is innocuous for one
 * division or multiplication).
 *
 * Per-axis parameters (qp.axis set) need the tensor's dims; element (…, c, …) along the axis uses
 * scale[c] and zeroPoint[c]. int4/uint4 results are held unpacked, one per Int8Array/Uint8Array element.
 */
import { type Tensor, type DType, arrayTypeOf, sizeOf, toFloat32 } from "../tensor/tensor.js";
import { type QuantDType, qRange } from "./dtype.js";
import { type QParams, checkQParams } from "./qparams.js";
import { roundHalfToEven } from "./rounding.js";
import { axisLayout, checkDims } from "./axis.js";

/** The typed array that holds quantized values of each QuantDType (int4/uint4 unpacked). */
export type QuantizedArray = Int8Array | Uint8Array | Int16Array | Uint16Array;

/** One value through QuantizeLinear. `x` is rounded to float32 first, as an ONNX float32 input would be. */
export function quantizeValue(x: number, scale: number, zeroPoint: number, dtype: QuantDType): number {
  const { qmin, qmax } = qRange(dtype);
  if (Number.isNaN(x)) throw new Error("cannot quantize NaN");
  return saturatingQuantize(Math.fround(x), Math.fround(scale), zeroPoint, qmin, qmax);
}

/** One value through DequantizeLinear. */
export function dequantizeValue(q: number, scale: number, zeroPoint: number): number {
  return Math.fround((q - zeroPoint) * Math.fround(scale));
}

function saturatingQuantize(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  const q = roundHalfToEven(Math.fround(x / scale)) + zeroPoint;
  // ±Infinity saturates like any other out-of-range value.
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

/** Resolve per-tensor vs per-axis into an [outer, channels, inner] walk; validates on the way. */
function layoutFor(qp: QParams, length: number, dims: readonly number[] | undefined, verb: string) {
  if (dims !== undefined) {
    checkDims(dims);
    if (sizeOf(dims) !== length) {
      throw new Error(`${verb}: dims [${dims.join(", ")}] hold ${sizeOf(dims)} values but got ${length}`);
    }
  }
  checkQParams(qp, dims);
  if (qp.axis === undefined) return { outer: 1, channels: 1, inner: length };
  if (dims === undefined) throw new Error(`${verb}: per-axis qparams (axis ${qp.axis}) need the tensor's dims`);
  return axisLayout(dims, qp.axis);
}

/**
 * QuantizeLinear over a flat row-major array. Per-tensor qparams need no dims; per-axis need them.
 * NaN inputs are an error (QuantizeLinear leaves them undefined); ±Infinity saturates.
 */
export function quantize(values: Float32Array, qp: QParams, dims?: readonly number[]): QuantizedArray {
  if (!(values instanceof Float32Array)) throw new Error("quantize: values must be a Float32Array");
  const { outer, channels, inner } = layoutFor(qp, values.length, dims, "quantize");
  const { qmin, qmax } = qRange(qp.dtype);
  const out = new (arrayTypeOf(qp.dtype as DType) as new (n: number) => QuantizedArray)(values.length);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const scale = qp.scale[c]!;
      const zeroPoint = qp.zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) {
        const x = values[i]!;
        if (x !== x) throw new Error(`quantize: value at flat index ${i} is NaN`);
        out[i] = saturatingQuantize(x, scale, zeroPoint, qmin, qmax);
      }
    }
  }
  return out;
}

/** DequantizeLinear over a flat row-major array of quantized values. */
export function dequantize(q: ArrayLike<number>, qp: QParams, dims?: readonly number[]): Float32Array {
  const { outer, channels, inner } = layoutFor(qp, q.length, dims, "dequantize");
  const out = new Float32Array(q.length);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const scale = qp.scale[c]!;
      const zeroPoint = qp.zeroPoint[c]!;
      // Float32Array stores round each product to float32, which is DequantizeLinear's float32 multiply.
      for (const end = i + inner; i < end; i++) out[i] = (q[i]! - zeroPoint) * scale;
    }
  }
  return out;
}

/**
 * quantize then dequantize, in one pass and without the integer array: the float value the quantized
 * model will see. Used by error analysis and by QAT's fake-quant forward pass. NaN is an error.
 */
export function fakeQuantize(values: Float32Array, qp: QParams, dims?: readonly number[]): Float32Array {
  if (!(values instanceof Float32Array)) throw new Error("fakeQuantize: values must be a Float32Array");
  const { outer, channels, inner } = layoutFor(qp, values.length, dims, "fakeQuantize");
  const { qmin, qmax } = qRange(qp.dtype);
  const out = new Float32Array(values.length);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const scale = qp.scale[c]!;
      const zeroPoint = qp.zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) {
        const x = values[i]!;
        if (x !== x) throw new Error(`fakeQuantize: value at flat index ${i} is NaN`);
        out[i] = (saturatingQuantize(x, scale, zeroPoint, qmin, qmax) - zeroPoint) * scale;
      }
    }
  }
  return out;
}

const FLOAT_DTYPES: readonly DType[] = ["float32", "float16", "float64"];

/** QuantizeLinear on a float tensor (float32, or float16/float64 converted to float32 first). */
export function quantizeTensor(t: Tensor, qp: QParams): Tensor {
  if (!FLOAT_DTYPES.includes(t.dtype)) {
    throw new Error(`quantizeTensor: expected a float tensor (${FLOAT_DTYPES.join(", ")}), got ${t.dtype}`);
  }
  const data = quantize(toFloat32(t), qp, t.dims);
  return { dtype: qp.dtype, dims: [...t.dims], data };
}

/** DequantizeLinear on a quantized tensor whose dtype must match qp.dtype; returns float32. */
export function dequantizeTensor(t: Tensor, qp: QParams): Tensor {
  if (t.dtype !== qp.dtype) {
    throw new Error(`dequantizeTensor: tensor dtype ${t.dtype} does not match qparams dtype ${qp.dtype}`);
  }
  const data = dequantize(t.data as QuantizedArray, qp, t.dims);
  return { dtype: "float32", dims: [...t.dims], data };
}
