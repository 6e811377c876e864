/**
 * Puts chosen integer weights (AdaRound's) into a QDQ model the exporter wrote with round-to-
 * nearest weights. The exporter stores each planned weight as an integer initializer read by a
 * DequantizeLinear whose output the weight's node reads; only that initializer's values change.
 * The scale and zero point are the exporter's own (AdaRound keeps them), so the int32 bias, whose
 * scale is input_scale × weight_scale, stays right as well; channels whose scale the exporter
 * widened for the bias keep the exporter's integers.
 *
 * This is the post-export form of what the exporter could take directly: an optional
 * `weightOverrides: Map<weightName, { q: Tensor; qparams: QParams }>` in exportQdq, used instead of
 * quantizeWeight(float) for those weights.
 */
import type { Model, Node } from "../graph/ir.js";
import type { QuantPlan } from "../plan/plan.js";
import { axisLayout } from "../quant/axis.js";
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
    if (storedScale.length !== override.qparams.scale.length) {
      throw new Error(`weight override ${weightName}: ${override.qparams.scale.length} scales, the exported weight has ${storedScale.length}`);
    }
    // Channels whose params the exporter changed — it widens a weight scale where the int32 bias
    // would overflow (export/qdq.ts) — keep the exporter's nearest rounding at the widened scale;
    // every other channel takes the chosen integers.
    const sameChannel = storedScale.map((s, i) => {
      const o = override.qparams.scale[i]!;
      if (storedZero[i] !== override.qparams.zeroPoint[i] || s < o) {
        throw new Error(`weight override ${weightName}: its scale/zero point differ from the exported ones (the weights must keep the exporter's params)`);
      }
      return s === o ? 1 : 0;
    });
    const values = Array.from(override.q.data as ArrayLike<number>, Number);
    if (sameChannel.some((same) => !same)) {
      const { outer, channels, inner } = axisLayout(stored.dims, storedScale.length === 1 ? 0 : w.axis ?? 0);
      const kept = stored.data as ArrayLike<number>;
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) {
          if (sameChannel[storedScale.length === 1 ? 0 : c]) continue;
          for (let k = 0; k < inner; k++) {
            const i = (o * channels + c) * inner + k;
            values[i] = Number(kept[i]);
          }
        }
      }
    }
    const Ctor = arrayTypeOf(stored.dtype as DType) as unknown as { from(v: ArrayLike<number>): Tensor["data"] };
    initializers.set(qName, { dtype: stored.dtype, dims: [...stored.dims], data: Ctor.from(values) });
  }
  return { ...qdq, graph: { ...graph, initializers } };
}
