/**
 * Graph preparation before planning: a copy of the model with the opset raised to what the export
 * needs (per-channel DequantizeLinear: 13), constants folded, BatchNormalization and per-channel
 * affine ops folded into the preceding Conv/Gemm, identities and dead nodes removed, shapes
 * inferred. The caller's model is never modified.
 */
import { cloneModel, onnxOpset, type Model } from "../graph/ir.js";
import { prepareGraph, type PrepareReport } from "../graph/passes/index.js";

export interface PreparationReport {
  warnings: string[];
  passes: PrepareReport;
}

export function prepareForQuantization(model: Model, options: { minOpset: number }): { model: Model; report: PreparationReport } {
  const copy = cloneModel(model);
  const opset = onnxOpset(copy);
  const passes = prepareGraph(copy, opset < options.minOpset ? { targetOpset: options.minOpset } : {});
  const warnings: string[] = [];
  const standalone = passes.batchNormFolding?.standalone ?? [];
  if (standalone.length) warnings.push(`BatchNormalization left in float: ${standalone.map((b) => `${b.node} (${b.reason})`).join(", ")}`);
  return { model: copy, report: { warnings, passes } };
}
