/**
 * octet's browser-safe core: everything that needs neither the file system nor a native runtime.
 * Bring your own executor (e.g. onnxruntime-web) and data (any async iterable of feeds).
 */
export * from "./tensor/tensor.js";
export * from "./graph/ir.js";
export { decodeModel, encodeModel, tensorFromProto, tensorToProto } from "./onnx/index.js";
export * from "./quant/index.js";
export * from "./observe/index.js";
export { planQuantization, type QuantPlan, type ActivationPlan, type WeightPlan, type BiasPlan, type PlanOptions } from "./plan/plan.js";
export { presets, presetByName, type Preset, type PresetName, type TensorFormat } from "./plan/preset.js";
export { opRules, type OpRule } from "./plan/rules.js";
export { resolveActivationParams } from "./plan/resolve.js";
export {
  calibrate, calibratedTensors, calibrationToJson, calibrationFromJson, mergeCalibrations,
  type Calibration, type CalibrationMethod, type CalibrationOptions,
} from "./calibrate/calibrate.js";
export type { Executor, ExecutorOptions, Feeds } from "./calibrate/executor.js";
export { withExtraOutputs } from "./calibrate/expose.js";
export { exportQdq } from "./export/qdq.js";
export { tensorRtCache } from "./export/tensorrt_cache.js";
export { ErrorAccumulator, Top1Accumulator } from "./analyze/metrics.js";
export { quantizeModel, resolvePreset, type QuantizeOptions, type QuantizeResult } from "./api/quantize.js";
export { summarizeModel } from "./api/inspect.js";
