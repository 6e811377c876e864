/**
 * quant/: number formats and the arithmetic spec (docs/quantization.md). No graph knowledge.
 */
export {
  type QuantDType, type QRange, QUANT_DTYPES, isQuantDType, bitsOf, isSigned, qRange, parseQuantDType,
} from "./dtype.js";
export { roundHalfToEven } from "./rounding.js";
export { type AxisLayout, normalizeAxis, axisLayout } from "./axis.js";
export {
  type QParams, type QParamOptions, qparamsFromRange, qparamsFromRanges, symmetricZeroPoint, checkQParams,
} from "./qparams.js";
export {
  type QuantizedArray, quantize, dequantize, fakeQuantize, quantizeTensor, dequantizeTensor,
  quantizeValue, dequantizeValue,
} from "./quantize.js";
export { type QuantizedBias, quantizeBias } from "./bias.js";
export { type ChannelRanges, type WeightQuantOptions, channelRanges, tensorRange, quantizeWeight } from "./weights.js";
// The fixed-point requantization multiplier (M → M0, shift) lives in fixed_point.ts (another helper's file).
export * from "./fixed_point.js";
