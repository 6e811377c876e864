/**
 * The model's boundaries: QuantizeLinear (float → integer) where a float input enters the integer
 * graph and DequantizeLinear (integer → float) where a result leaves it. These are the only
 * kernels that compute in floating point at inference time, because their inputs or outputs are
 * float by definition. The arithmetic is ONNX's, implemented once in quant/quantize.ts:
 *
 *   QuantizeLinear:   q = saturate(round_half_to_even(x / scale) + zero_point)   (x / scale in float32)
 *   DequantizeLinear: x = (q − zero_point)·scale                                 (product in float32)
 *
 * Per-axis params (qp.axis) are supported, as in ONNX opset 13.
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { dequantizeTensor, quantizeTensor } from "../../quant/quantize.js";

/** ONNX QuantizeLinear on a float tensor. */
export function quantizeLinear(x: Tensor, qp: QParams): Tensor {
  return quantizeTensor(x, qp);
}

/** ONNX DequantizeLinear to float32. */
export function dequantizeLinear(q: Tensor, qp: QParams): Tensor {
  return dequantizeTensor(q, qp);
}
