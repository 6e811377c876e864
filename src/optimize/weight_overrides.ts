/**
 * Puts chosen integer weights (AdaRound's) into a QDQ model the exporter wrote with round-to-
 * nearest weights. The exporter stores each planned weight as an integer initializer read by a
 * DequantizeLinear whose output the weight's node reads; only that initializer's values change.
 * The scale and zero point must be the exporter's own (AdaRound keeps them), so the int32 bias,
 * whose scale is input_scale × weight_scale, stays right as well; a mismatch is an error.
 *
 * This is the post-export form of what the exporter could take directly: an optional
 * `weightOverrides: Map<weightName, { q: Tensor; qparams: QParams }>` in exportQdq, used instead of
 * quantizeWeight(float) for those weights.
 */
import type { Model, Node } from "../graph/ir.js";
import type { QuantPlan } from "../plan/plan.js";
import type { QParams } from "../quant/qparams.js";
import { arrayTypeOf, toFloat32, type DType, type Tensor } from "../tensor/tensor.js";

export interface WeightOverride {
  q: Tensor;
  qparams: QParams;
}

/** A copy of `qdq` whose planned weights listed in `overrides` hold the given integers. */
export function applyWeightOverrides(qdq: Model, plan: QuantPlan, overrides: Map<string, WeightOverride>): Model {
  const graph = qdq.graph;
  const initializers = new Map(graph.initializers);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const producers = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producers.set(o, n);
  for (const [weightName, override] of overrides) {
    const w = plan.weights.get(weightName);
    if (!w) throw new Error(`weight override ${weightName}: not a planned weight`);
    const node = byName.get(w.node);
    if (!node) throw new Error(`weight override ${weightName}: node ${w.node} is not in the quantized model`);
    const dq = producers.get(node.inputs[1] ?? "");
    if (!dq || dq.opType !== "DequantizeLinear") throw new Error(`weight override ${weightName}: ${w.node} does not read it through a DequantizeLinear`);
    const [qName, scaleName, zpName] = dq.inputs as [string, string, string];
    const stored = initializers.get(qName);
    const scale = initializers.get(scaleName);
    const zp = initializers.get(zpName);
    if (!stored || !scale || !zp) throw new Error(`weight override ${weightName}: the DequantizeLinear's inputs are not initializers`);
    if (stored.dims.join() !== override.q.dims.join()) {
      throw new Error(`weight override ${weightName}: dims [${override.q.dims}] differ from the stored [${stored.dims}]`);
    }
    const storedScale = toFloat32(scale);
    const storedZero = Array.from(zp.data as ArrayLike<number>, Number);
    const same = storedScale.length === override.qparams.scale.length
      && storedScale.every((s, i) => s === override.qparams.scale[i])
      && storedZero.every((z, i) => z === override.qparams.zeroPoint[i]);
    if (!same) throw new Error(`weight override ${weightName}: its scale/zero point differ from the exported ones (the weights must keep the exporter's params)`);
    const Ctor = arrayTypeOf(stored.dtype as DType) as unknown as { from(v: ArrayLike<number>): Tensor["data"] };
    initializers.set(qName, { dtype: stored.dtype, dims: [...stored.dims], data: Ctor.from(override.q.data as ArrayLike<number>) });
  }
  return { ...qdq, graph: { ...graph, initializers } };
}
