/**
 * BatchNorm folded into the preceding Conv/Gemm during training (Jacob et al. 2018, §3.2;
 * Krishnamoorthi 2018, "Quantizing deep convolutional networks for efficient inference", §3.2).
 *
 * At inference the exported model computes conv(x, w·γ/σ) + β + (b − μ)·γ/σ with the running
 * statistics μ, σ = √(var + ε): the quantized weights are those of the FOLDED weight. Training
 * must therefore quantize w_fold = w·γ/σ_running, yet normalise with the batch's own statistics
 * (otherwise BatchNorm no longer conditions training). The correction:
 *
 *   before the freeze:  y = BN_batch( conv(x, Q(w·γ/σ_run)) · σ_run/γ )
 *                         = conv(x, Q(w_fold)) · σ_run/σ_B + β − γ·μ_B/σ_B
 *     (dividing the conv output by the fold factor γ/σ_run and normalising with batch statistics
 *     is the same as multiplying by the correction σ_run/σ_B; the running statistics keep
 *     updating from the batches, as in the float network);
 *   after the freeze (and at evaluation): y = conv(x, Q(w_fold)) + Q(b_fold), the running
 *     statistics fixed: exactly the exported layer.
 *
 * The fold factors are computed with the same float32 steps here and in `foldedModel`, so the
 * weights quantized in training are bit for bit the weights the exporter quantizes.
 */
import { cloneModel, consumers, intAttr, producers, type Model, type Node } from "../../graph/ir.js";
import { tensor } from "../../tensor/tensor.js";
import type { GraphModel } from "../graph-model.js";
import type { BatchNormState } from "../norm.js";
import { constant, type Var } from "../tape.js";
import { add } from "../arith.js";
import { scaleChannels } from "./channel_scale.js";

export interface ConvBatchNorm {
  /** The Conv or Gemm. */
  layer: Node;
  bn: Node;
  /** Output-channel axis of the layer's weight: 0 for Conv and Gemm(transB = 1), 1 for Gemm(transB = 0). */
  weightAxis: number;
}

/**
 * The Conv/Gemm → BatchNormalization pairs that fold: the layer's weight (and bias) are parameters,
 * its output feeds only the BatchNorm and is not a graph output (as graph/passes/fold_batchnorm).
 */
export function findConvBatchNorms(net: GraphModel): ConvBatchNorm[] {
  const g = net.model.graph;
  const byOutput = producers(g);
  const readers = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const pairs: ConvBatchNorm[] = [];
  for (const bn of net.order) {
    if (bn.opType !== "BatchNormalization") continue;
    const x = bn.inputs[0]!;
    const layer = byOutput.get(x);
    if (!layer || (layer.opType !== "Conv" && layer.opType !== "Gemm")) continue;
    if (outputs.has(x) || (readers.get(x) ?? []).length !== 1) continue;
    if (!net.params.has(layer.inputs[1] ?? "") || (layer.inputs[2] && !net.params.has(layer.inputs[2]))) continue;
    if (layer.opType === "Gemm") {
      if (intAttr(layer, "transA", 0) !== 0) continue;
      const c = layer.inputs[2] ? net.params.get(layer.inputs[2])! : null;
      if (c && c.dims.length !== 1) continue;
    }
    pairs.push({ layer, bn, weightAxis: layer.opType === "Gemm" && intAttr(layer, "transB", 0) === 0 ? 1 : 0 });
  }
  return pairs;
}

/** 1/√(var + ε) per channel, as float32 (the one rounding shared by training and export). */
export function inverseStd(state: BatchNormState): Float32Array {
  return Float32Array.from(state.runningVar, (v) => 1 / Math.sqrt(v + state.epsilon));
}

/** The parts of a folded layer, as Vars so that gradients reach w, b, γ and β. */
export interface FoldedParts {
  /** γ/σ_run per channel. */
  factor: Var;
  /** w·γ/σ_run. */
  weight: Var;
  /** β + (b − μ_run)·γ/σ_run. */
  bias: Var;
}

export function foldedParts(weight: Var, bias: Var | null, gamma: Var, beta: Var, state: BatchNormState, weightAxis: number): FoldedParts {
  const invStd = constant(inverseStd(state), [state.runningVar.length]);
  const factor = scaleChannels(gamma, invStd, 0);
  const foldedWeight = scaleChannels(weight, factor, weightAxis);
  const negMean = constant(Float32Array.from(state.runningMean, (m) => -m), [state.runningMean.length]);
  const centred = bias ? add(bias, negMean) : negMean;
  const foldedBias = add(beta, scaleChannels(centred, factor, 0));
  return { factor, weight: foldedWeight, bias: foldedBias };
}

/**
 * The model with every pair folded: the layer takes the folded weight and bias and writes the
 * BatchNorm's output; the BatchNorm node is gone. Arithmetic identical to `foldedParts`.
 */
export function foldedModel(trained: Model, net: GraphModel, pairs: readonly ConvBatchNorm[]): Model {
  const model = cloneModel(trained);
  const g = model.graph;
  const drop = new Set(pairs.map((p) => p.bn.name));
  for (const { layer, bn, weightAxis } of pairs) {
    const state = net.batchNorms.get(bn.name)!;
    const val = (name: string) => net.param(name);
    const parts = foldedParts(val(layer.inputs[1]!), layer.inputs[2] ? val(layer.inputs[2]) : null, val(bn.inputs[1]!), val(bn.inputs[2]!), state, weightAxis);
    const node = g.nodes.find((n) => n.name === layer.name)!;
    g.initializers.set(node.inputs[1]!, tensor("float32", [...parts.weight.dims], parts.weight.data.slice()));
    let biasName = `${layer.name}_bias_folded`;
    while (g.initializers.has(biasName) || g.nodes.some((n) => n.outputs.includes(biasName))) biasName += "_";
    g.initializers.set(biasName, tensor("float32", [...parts.bias.dims], parts.bias.data.slice()));
    node.inputs = [node.inputs[0]!, node.inputs[1]!, biasName];
    g.valueInfo.delete(node.outputs[0]!);
    node.outputs = [bn.outputs[0]!];
  }
  g.nodes = g.nodes.filter((n) => !drop.has(n.name));
  // Initializers only the removed nodes read (BN parameters and statistics, the old bias) go.
  const read = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const name of [...g.initializers.keys()]) if (!read.has(name) && !g.inputs.some((i) => i.name === name)) g.initializers.delete(name);
  return model;
}
