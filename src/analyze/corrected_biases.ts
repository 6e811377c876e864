/**
 * Bias correction and float layers. Bias correction (optimize/bias_correction.ts) changes the
 * float model itself: bias ← bias − E[W̃x̃ − Wx], so that the *quantized* layer's output has the
 * float layer's mean. The correction is only right for a layer that is quantized. A layer that a
 * candidate model leaves in float (mixed precision), or that a layer-wise model does not quantize
 * (one unit at a time), has no weight error to compensate: with the corrected bias it would be
 * off by −E[W̃x̃ − Wx] in every output. So analysis keeps each corrected bias's value from
 * before the correction and puts it back wherever the layer runs in float — and the float
 * reference of every comparison is the model with all of them put back.
 */
import { cloneModel, type Model } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";

/** A bias that bias correction changed (or added), with its value before the correction. */
export interface CorrectedBias {
  /** The layer (Conv/Gemm) it belongs to. */
  node: string;
  /** Its initializer's name in the corrected model. */
  bias: string;
  /** Its value before the correction; undefined when the correction added the bias (so 0 before). */
  original?: Tensor;
}

/**
 * The corrected biases of `corrected` relative to `before` (the same model before bias
 * correction): every layer in `layers` (bias correction's report lists them as {node, bias, added}).
 */
export function correctedBiasesFrom(before: Model, layers: readonly { node: string; bias: string; added: boolean }[]): CorrectedBias[] {
  return layers.map((l) => {
    if (l.added) return { node: l.node, bias: l.bias };
    const original = before.graph.initializers.get(l.bias);
    if (!original) throw new Error(`corrected biases: bias ${l.bias} of ${l.node} is not an initializer of the model before correction`);
    return { node: l.node, bias: l.bias, original };
  });
}

/**
 * `model` with the biases of the layers for which `restore(node)` holds set back to their values
 * before bias correction (zeros for added ones). Returns `model` itself when nothing changes.
 */
export function withOriginalBiases(model: Model, corrected: readonly CorrectedBias[] | undefined, restore: (node: string) => boolean = () => true): Model {
  const chosen = (corrected ?? []).filter((c) => restore(c.node));
  if (chosen.length === 0) return model;
  const out = cloneModel(model);
  for (const c of chosen) {
    const now = out.graph.initializers.get(c.bias);
    if (!now) throw new Error(`corrected biases: the model has no bias ${c.bias} (of ${c.node})`);
    if (c.original) {
      if (c.original.data.length !== now.data.length) {
        throw new Error(`corrected biases: ${c.bias} holds ${now.data.length} values, its original ${c.original.data.length}`);
      }
      out.graph.initializers.set(c.bias, c.original);
    } else {
      out.graph.initializers.set(c.bias, { dtype: "float32", dims: [...now.dims], data: new Float32Array(now.data.length) });
    }
  }
  return out;
}
