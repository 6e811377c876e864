/**
 * Bias quantization: int32, zero point 0, scale = input_scale · weight_scale[c].
 *
 * Why that scale: a quantized Conv/Gemm accumulates in int32
 *   acc = Σ (q_w − z_w)(q_x − z_x),   real value of acc = s_w · s_x · acc
 * so the accumulator's own scale is s_x·s_w (per output channel when weights are per-channel). A bias
 * quantized to that same scale with zero point 0 is added straight into the accumulator, with no
 * rescaling, before the single requantization to the output scale (Jacob et al. 2018, "Quantization
 * and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", §2.4; gemmlowp
 * doc/quantization.md; TFLite 8-bit quantization spec: bias int32, scale input_scale·weight_scale,
 * zero point 0). int32 rather than int8 because the bias is added to a 32-bit sum and an error in it
 * shifts every output of the channel, so it gets the accumulator's full precision.
 *
 * The stored scale is the float32 product (ONNX stores float32 scales; ONNX Runtime's quantizer does
 * the same float32 multiply). The division bias / scale is done in double, not float32: the bias is
 * stored already quantized, no QuantizeLinear runs on it, so we may as well give the nearest integer;
 * ties go to even like everywhere else. Values beyond int32 saturate, and the channels where that
 * happened are reported so callers can warn (it means s_x·s_w is tiny relative to the bias).
 */
import { roundHalfToEven } from "./rounding.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export interface QuantizedBias {
  /** Quantized bias values, one per bias element. */
  values: Int32Array;
  /** float32 bias scales: length 1 when the weight scale is per-tensor, else one per channel. */
  scale: Float32Array;
  /** Indices of bias elements (channels) that were clamped to the int32 range, ascending. */
  saturatedChannels: number[];
}

/**
 * Quantize a bias vector. `weightScale` has length 1 (per-tensor weights: broadcast) or bias.length
 * (per-channel weights along the output-channel axis). Zero point is 0.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScale: Float32Array): QuantizedBias {
  if (!(bias instanceof Float32Array)) throw new Error("quantizeBias: bias must be a Float32Array");
  if (!(weightScale instanceof Float32Array)) throw new Error("quantizeBias: weightScale must be a Float32Array");
  if (typeof inputScale !== "number" || !Number.isFinite(inputScale) || !(inputScale > 0)) {
    throw new Error(`quantizeBias: inputScale must be finite and > 0, got ${inputScale}`);
  }
  const perChannel = weightScale.length !== 1;
  if (perChannel && weightScale.length !== bias.length) {
    throw new Error(
      `quantizeBias: ${weightScale.length} weight scales for a bias of ${bias.length} channels (need 1 or ${bias.length})`,
    );
  }
  const sx = Math.fround(inputScale);
  const scale = new Float32Array(weightScale.length);
  for (let c = 0; c < weightScale.length; c++) {
    const sw = weightScale[c]!;
    if (!Number.isFinite(sw) || !(sw > 0)) throw new Error(`quantizeBias: weightScale[${c}] = ${sw}; must be finite and > 0`);
    scale[c] = sx * sw; // the Float32Array store is the float32 product
    if (!(scale[c]! > 0) || !Number.isFinite(scale[c]!)) {
      throw new Error(`quantizeBias: bias scale ${sx}·${sw} is not representable as a positive float32`);
    }
  }
  const values = new Int32Array(bias.length);
  const saturatedChannels: number[] = [];
  for (let c = 0; c < bias.length; c++) {
    const b = bias[c]!;
    if (b !== b) throw new Error(`quantizeBias: bias[${c}] is NaN`);
    const q = roundHalfToEven(b / scale[perChannel ? c : 0]!);
    if (q < INT32_MIN || q > INT32_MAX) {
      values[c] = q < INT32_MIN ? INT32_MIN : INT32_MAX;
      saturatedChannels.push(c);
    } else {
      values[c] = q;
    }
  }
  return { values, scale, saturatedChannels };
}
