/**
 * BatchNormalization (inference form) folded into the Conv, ConvTranspose or Gemm before it:
 * y = γ·(x − μ)/√(σ² + ε) + β is the per-channel affine map s = γ/√(σ² + ε), t = β − μ·s, so
 * w' = w·s per output channel and b' = b·s + t = (b − μ)·s + β (channel_affine.ts has the layouts).
 * Folding needs the intermediate value to feed nothing else and not be a graph output; any other
 * BatchNormalization is left in place and reported.
 */
import type { Model, Node } from "../ir.js";
import { consumers, floatAttr, intAttr, producers } from "../ir.js";
import { numbersOf } from "../constants.js";
import { absorbChannelAffine, affineTarget } from "./channel_affine.js";

export interface BatchNormFoldingReport {
  folded: number;
  /** BatchNormalization nodes left in the graph, with the reason. */
  standalone: { node: string; reason: string }[];
}

export function foldBatchNorms(model: Model): BatchNormFoldingReport {
  const graph = model.graph;
  const report: BatchNormFoldingReport = { folded: 0, standalone: [] };
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const removed = new Set<Node>();
  for (const bn of graph.nodes) {
    if (bn.opType !== "BatchNormalization" || bn.domain !== "") continue;
    const why = tryFold(bn);
    if (why) report.standalone.push({ node: bn.name, reason: why });
    else {
      removed.add(bn);
      report.folded++;
    }
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  return report;

  function tryFold(bn: Node): string | undefined {
    if (intAttr(bn, "training_mode", 0) !== 0) return "training_mode is set";
    const users = consumers(graph);
    // Before opset 14 any extra output means training mode (batch statistics), used or not.
    if (bn.outputs.slice(1).some((o) => o)) return "it has training-mode outputs (it normalises with batch statistics)";
    const params = bn.inputs.slice(1, 5).map((n) => graph.initializers.get(n));
    if (params.length !== 4 || params.some((p) => !p)) return "scale, bias, mean or variance is not constant";
    const x = bn.inputs[0]!;
    const producer = producers(graph).get(x);
    if (!producer) return "its input is not produced by a node";
    const target = affineTarget(graph, producer);
    if (!target) return `its input comes from ${producer.opType} ${producer.name}, not a Conv/ConvTranspose/Gemm with constant weights`;
    if (graphOutputs.has(x) || (users.get(x) ?? []).length !== 1) return `the output of ${producer.name} has other uses`;
    const [gamma, beta, mean, variance] = params.map((p) => numbersOf(p!));
    const c = target.channels;
    if ([gamma, beta, mean, variance].some((v) => v!.length !== c)) return `its parameters do not have ${c} channels`;
    const eps = floatAttr(bn, "epsilon", 1e-5);
    // Computed in float64, rounded once when the weights are written back.
    const scale = gamma!.map((g, i) => g / Math.sqrt(variance![i]! + eps));
    const shift = beta!.map((b, i) => b - mean![i]! * scale[i]!);
    absorbChannelAffine(graph, target, scale, shift, bn.outputs[0]!);
    return undefined;
  }
}
