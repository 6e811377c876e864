/**
 * Ranges → quantization parameters for every activation of a plan. Calibrated tensors take the
 * range their observer found, constants their own min/max, fixed-range outputs their known range
 * (or the preset's exact params), and shared tensors the params of the tensor they share with.
 */
import type { Graph } from "../graph/ir.js";
import { qRange } from "../quant/dtype.js";
import { qparamsFromRange, type QParams } from "../quant/qparams.js";
import { tensorRange } from "../quant/weights.js";
import { toFloat32 } from "../tensor/tensor.js";
import type { QuantPlan } from "./plan.js";
import type { Preset } from "./preset.js";

export interface Range {
  min: number;
  max: number;
}

export function resolveActivationParams(graph: Graph, plan: QuantPlan, ranges: Map<string, Range>, preset: Preset): Map<string, QParams> {
  const params = new Map<string, QParams>();
  const resolving = new Set<string>();
  const resolve = (name: string): QParams => {
    const done = params.get(name);
    if (done) return done;
    const a = plan.activations.get(name);
    if (!a) throw new Error(`tensor ${name} is not in the quantization plan`);
    if (resolving.has(name)) throw new Error(`tensor ${name} shares params in a cycle`);
    resolving.add(name);
    let qp: QParams;
    const src = a.source;
    if (a.constant) {
      const { min, max } = tensorRange(toFloat32(graph.initializers.get(name)!));
      qp = qparamsFromRange(min, max, a.format);
    } else if (src.kind === "exact") {
      qp = { dtype: a.format.dtype, scale: Float32Array.of(src.scale), zeroPoint: Int32Array.of(qRange(a.format.dtype).qmin + src.zeroPointAboveQmin) };
    } else if (src.kind === "shared") {
      qp = { ...resolve(src.tensor) };
    } else if (src.kind === "fixed") {
      const fixed = preset.fixedOutputParams;
      qp = fixed && a.format.dtype === "int8"
        ? { dtype: a.format.dtype, scale: Float32Array.of(fixed.scale), zeroPoint: Int32Array.of(fixed.zeroPoint) }
        : qparamsFromRange(src.min, src.max, a.format);
    } else {
      const r = ranges.get(name);
      if (!r) throw new Error(`no calibration range for tensor ${name}`);
      qp = qparamsFromRange(r.min, r.max, a.format);
    }
    resolving.delete(name);
    params.set(name, qp);
    return qp;
  };
  for (const name of plan.activations.keys()) resolve(name);
  return params;
}
