/**
 * Element-wise activations as 256-entry lookup tables (Sigmoid, HardSigmoid, HardSwish, Tanh,
 * LeakyRelu, or any f): an 8-bit input has only 256 possible values, so the float function is
 * evaluated once per value at prepare time,
 *
 *   table[q − qmin_in] = quantize_out(f(dequantize_in(q)))
 *
 * with DequantizeLinear's float32 product and QuantizeLinear's float32 division and
 * round-half-to-even (quant/quantize.ts), and the run is a table lookup. The result is therefore
 * exactly what a DequantizeLinear → f → QuantizeLinear chain computes (up to f's own last bit).
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { qRange } from "../../quant/dtype.js";
import { dequantizeValue, quantizeValue } from "../../quant/quantize.js";
import { type Int8DType, type Int8Tensor, int8Data, int8DTypeOf, newInt8Tensor, perTensor } from "./common.js";

export interface LookupTablePlan {
  inputDType: Int8DType;
  outputDType: Int8DType;
  /** Offset subtracted from a quantized input to index the table (qmin of the input dtype). */
  inputOffset: number;
  table: Int32Array;
}

/** Build the table of f for the given input and output params (float work, prepare time only). */
export function prepareLookupTable(f: (x: number) => number, input: QParams, output: QParams): LookupTablePlan {
  const inputDType = int8DTypeOf(input, "lookup table input");
  const outputDType = int8DTypeOf(output, "lookup table output");
  const i = perTensor(input, "lookup table input");
  const o = perTensor(output, "lookup table output");
  const { qmin, qmax } = qRange(inputDType);
  const table = new Int32Array(qmax - qmin + 1);
  for (let q = qmin; q <= qmax; q++) {
    const y = f(dequantizeValue(q, i.scale, i.zeroPoint));
    if (Number.isNaN(y)) throw new Error(`lookup table: f(${dequantizeValue(q, i.scale, i.zeroPoint)}) is NaN`);
    table[q - qmin] = quantizeValue(y, o.scale, o.zeroPoint, outputDType);
  }
  return { inputDType, outputDType, inputOffset: qmin, table };
}

export function lookupTable(plan: LookupTablePlan, x: Tensor): Int8Tensor {
  const data = int8Data(x, "lookup table input");
  if (x.dtype !== plan.inputDType) throw new Error(`lookup table: input is ${x.dtype} but the table was built for ${plan.inputDType}`);
  const y = newInt8Tensor(plan.outputDType, x.dims);
  for (let i = 0; i < data.length; i++) y.data[i] = plan.table[data[i]! - plan.inputOffset]!;
  return y;
}

// ---------------------------------------------------------------------------------------------
// The activations, as ONNX defines them.

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** ONNX HardSigmoid: max(0, min(1, alpha·x + beta)), defaults alpha 0.2, beta 0.5. */
export function hardSigmoid(alpha = 0.2, beta = 0.5): (x: number) => number {
  return (x) => Math.max(0, Math.min(1, alpha * x + beta));
}

/** ONNX HardSwish: x·max(0, min(1, x/6 + 1/2)). */
export function hardSwish(x: number): number {
  return x * Math.max(0, Math.min(1, x / 6 + 0.5));
}

/** ONNX LeakyRelu: x ≥ 0 ? x : alpha·x, default alpha 0.01. */
export function leakyRelu(alpha = 0.01): (x: number) => number {
  return (x) => (x >= 0 ? x : alpha * x);
}

export const prepareSigmoid = (input: QParams, output: QParams) => prepareLookupTable(sigmoid, input, output);
export const prepareTanh = (input: QParams, output: QParams) => prepareLookupTable(Math.tanh, input, output);
export const prepareHardSwish = (input: QParams, output: QParams) => prepareLookupTable(hardSwish, input, output);
export const prepareHardSigmoid = (input: QParams, output: QParams, alpha = 0.2, beta = 0.5) =>
  prepareLookupTable(hardSigmoid(alpha, beta), input, output);
export const prepareLeakyRelu = (input: QParams, output: QParams, alpha = 0.01) =>
  prepareLookupTable(leakyRelu(alpha), input, output);
