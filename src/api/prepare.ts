/**
 * Graph preparation before planning. Placeholder wiring: the graph passes (constant folding,
 * BN folding, opset upgrade, shape inference) plug in here.
 */
import type { Model } from "../graph/ir.js";
import { onnxOpset } from "../graph/ir.js";

export interface PreparationReport {
  warnings: string[];
  changes: Record<string, number>;
}

export function prepareForQuantization(model: Model, options: { minOpset: number }): { model: Model; report: PreparationReport } {
  const opset = onnxOpset(model);
  if (opset < options.minOpset) throw new Error(`model opset ${opset} is below ${options.minOpset}; opset upgrade not wired yet`);
  return { model, report: { warnings: [], changes: {} } };
}
