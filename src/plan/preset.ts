/**
 * Target presets: the number formats a deployment target expects.
 *
 * - ort: ONNX Runtime's QDQ path. uint8 asymmetric activations with int8 symmetric per-channel
 *   weights ("U8S8", the format ONNX Runtime's x86 integer kernels are built for).
 * - tensorrt: TensorRT's INT8 mode is symmetric everywhere (activations scale = amax/127, zero
 *   point 0), weights per output channel (TensorRT developer guide, "Explicit quantization").
 * - tflite: TFLite's int8 spec: activations int8 asymmetric, weights int8 symmetric narrow range
 *   [−127, 127] per channel, Sigmoid/Softmax outputs fixed at scale 1/256, zero point −128.
 */
import type { QuantDType } from "../quant/dtype.js";

export interface TensorFormat {
  dtype: QuantDType;
  symmetric: boolean;
  /** Narrow range drops the most negative code (int8 → [−127, 127]). */
  narrow: boolean;
}

export interface Preset {
  name: PresetName;
  activation: TensorFormat;
  weight: TensorFormat & { perChannel: boolean };
  /** Exact output params for fixed-range ops instead of params derived from their range. */
  fixedOutputParams?: { scale: number; zeroPoint: number };
}

export type PresetName = "ort" | "tensorrt" | "tflite";

export const presets: Record<PresetName, Preset> = {
  ort: {
    name: "ort",
    activation: { dtype: "uint8", symmetric: false, narrow: false },
    weight: { dtype: "int8", symmetric: true, narrow: true, perChannel: true },
  },
  tensorrt: {
    name: "tensorrt",
    // Narrow range makes the scale amax/127, TensorRT's; its cache stores exactly that scale.
    activation: { dtype: "int8", symmetric: true, narrow: true },
    weight: { dtype: "int8", symmetric: true, narrow: true, perChannel: true },
  },
  tflite: {
    name: "tflite",
    activation: { dtype: "int8", symmetric: false, narrow: false },
    weight: { dtype: "int8", symmetric: true, narrow: true, perChannel: true },
    fixedOutputParams: { scale: 1 / 256, zeroPoint: -128 },
  },
};

export function presetByName(name: string): Preset {
  const p = presets[name as PresetName];
  if (!p) throw new Error(`unknown preset "${name}" (choose one of: ${Object.keys(presets).join(", ")})`);
  return structuredClone(p);
}

/**
 * The lowest opset whose QuantizeLinear/DequantizeLinear can hold the preset's formats: 21 for
 * 4-bit and 16-bit types (ONNX added INT4/UINT4 and INT16/UINT16 Q/DQ in opset 21), 13 for
 * per-channel weights (DequantizeLinear's axis), else 10.
 */
export function requiredOpset(preset: Preset): number {
  const wide = (d: QuantDType) => d === "int4" || d === "uint4" || d === "int16" || d === "uint16";
  if (wide(preset.weight.dtype) || wide(preset.activation.dtype)) return 21;
  return preset.weight.perChannel ? 13 : 10;
}

/** A preset's number formats as a caller may override them (PTQ and QAT take the same options). */
export interface FormatOptions {
  preset?: PresetName;
  perChannel?: boolean;
  activationType?: QuantDType;
  weightType?: QuantDType;
}

/** The named preset (default "ort") with the caller's formats. */
export function resolvePreset(options: FormatOptions): Preset {
  const preset = presetByName(options.preset ?? "ort");
  if (options.perChannel !== undefined) preset.weight.perChannel = options.perChannel;
  if (options.activationType) preset.activation.dtype = options.activationType;
  if (options.weightType) preset.weight.dtype = options.weightType;
  // Unsigned types are stored with an offset zero point; symmetric unsigned weights make no sense for ORT.
  if (preset.weight.dtype.startsWith("u")) preset.weight.symmetric = false;
  return preset;
}
