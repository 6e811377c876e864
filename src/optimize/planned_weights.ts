/**
 * The weights a QuantPlan will store: each planned weight quantized exactly as the QDQ exporter
 * does it (quantizeWeight with the plan's format and axis, i.e. round to nearest from the
 * weight's own per-channel range), with the float values the quantized model will compute with.
 * Optimizers compare against these and hand back replacements with the same params.
 */
import type { Graph } from "../graph/ir.js";
import type { QuantPlan, WeightPlan } from "../plan/plan.js";
import { dequantize, type QuantizedArray } from "../quant/quantize.js";
import type { QParams } from "../quant/qparams.js";
import { quantizeWeight, type WeightQuantOptions } from "../quant/weights.js";
import type { Tensor } from "../tensor/tensor.js";

export interface QuantizedWeight {
  /** Integer values (dtype = qparams.dtype, int4/uint4 unpacked), same dims as the float weight. */
  q: Tensor;
  qparams: QParams;
  /** (q − z)·s: the weight the quantized model computes with. */
  dequantized: Float32Array;
}

export function weightQuantOptions(w: WeightPlan): WeightQuantOptions {
  return { dtype: w.format.dtype, symmetric: w.format.symmetric, narrow: w.format.narrow, ...(w.axis !== undefined ? { axis: w.axis } : {}) };
}

/** Round-to-nearest quantization of one planned weight (the exporter's). */
export function quantizePlannedWeight(graph: Graph, w: WeightPlan): QuantizedWeight {
  const float = graph.initializers.get(w.name);
  if (!float) throw new Error(`planned weight ${w.name} is not an initializer of the graph`);
  const { q, qparams } = quantizeWeight(float, weightQuantOptions(w));
  return { q, qparams, dequantized: dequantize(q.data as QuantizedArray, qparams, q.dims) };
}

/** Every planned weight, quantized to nearest. */
export function quantizePlannedWeights(graph: Graph, plan: QuantPlan): Map<string, QuantizedWeight> {
  const out = new Map<string, QuantizedWeight>();
  for (const w of plan.weights.values()) out.set(w.name, quantizePlannedWeight(graph, w));
  return out;
}
