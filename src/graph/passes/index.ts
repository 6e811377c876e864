/**
 * Graph preparation before quantization: upgrade the opset (when asked) → fold constants → fold
 * per-channel affine ops and BatchNormalization into the preceding Conv/ConvTranspose/Gemm →
 * remove identities → remove dead nodes → infer shapes. Each step reports what it changed.
 */
import type { Dim, Model } from "../ir.js";
import { removeDeadNodes } from "../ir.js";
import { inferShapes } from "../shape_inference.js";
import { foldConstants, type ConstantFoldingReport } from "./constant_folding.js";
import { foldBatchNorms, type BatchNormFoldingReport } from "./fold_batchnorm.js";
import { foldConvAffine, type AffineFoldingReport } from "./fold_conv_affine.js";
import { removeIdentities, type IdentityRemovalReport } from "./remove_identity.js";
import { upgradeOpset, type OpsetUpgradeReport } from "./upgrade_opset.js";

export { foldConstants, type ConstantFoldingOptions, type ConstantFoldingReport } from "./constant_folding.js";
export { foldBatchNorms, type BatchNormFoldingReport } from "./fold_batchnorm.js";
export { foldConvAffine, type AffineFoldingReport } from "./fold_conv_affine.js";
export { removeIdentities, type IdentityRemovalReport } from "./remove_identity.js";
export { upgradeOpset, type OpsetUpgradeReport, type UpgradeChange, type UpgradeOptions } from "./upgrade_opset.js";

export interface PrepareOptions {
  /** Upgrade to this ai.onnx opset first (e.g. 13 for per-channel DequantizeLinear); default: keep. */
  targetOpset?: number;
  /** Default true. */
  foldConstants?: boolean;
  /** Fold BatchNormalization and per-channel Mul/Add/Sub/Div into the preceding linear op. Default true. */
  foldBatchNorm?: boolean;
  /** Default true. */
  removeIdentities?: boolean;
  /** Default true. */
  removeDeadNodes?: boolean;
  /** Default true. */
  inferShapes?: boolean;
  /**
   * Shapes to assume for graph inputs in shape inference and in choosing Softmax upgrade forms. They
   * never change the graph's behaviour: constant folding uses only the declared shapes.
   */
  inputShapes?: Record<string, Dim[]>;
}

export interface PrepareReport {
  opset?: OpsetUpgradeReport;
  constantFolding?: ConstantFoldingReport;
  affineFolding?: AffineFoldingReport;
  batchNormFolding?: BatchNormFoldingReport;
  identities?: IdentityRemovalReport;
  /** Nodes and initializers removed as dead. */
  deadNodesRemoved: number;
  deadInitializersRemoved: number;
  /** Intermediate values with a fully known shape, and those still partly unknown. */
  shapesKnown: number;
  shapesPartial: number;
  nodesBefore: number;
  nodesAfter: number;
}

/** Prepares `model` in place and returns a report of what each step changed. */
export function prepareGraph(model: Model, options: PrepareOptions = {}): PrepareReport {
  const graph = model.graph;
  const report: PrepareReport = {
    deadNodesRemoved: 0, deadInitializersRemoved: 0, shapesKnown: 0, shapesPartial: 0,
    nodesBefore: graph.nodes.length, nodesAfter: 0,
  };
  if (options.targetOpset !== undefined) report.opset = upgradeOpset(model, options.targetOpset, { inputShapes: options.inputShapes });
  if (options.foldConstants ?? true) report.constantFolding = foldConstants(model);
  if (options.foldBatchNorm ?? true) {
    // Affine folding can expose a BatchNormalization to its conv (Conv → Add(bias) → BN) and
    // the other way round, so alternate until neither changes anything.
    const affine: AffineFoldingReport = { folded: 0, byOp: {} };
    let bn: BatchNormFoldingReport = { folded: 0, standalone: [] };
    for (;;) {
      const a = foldConvAffine(model);
      const b = foldBatchNorms(model);
      affine.folded += a.folded;
      for (const [k, v] of Object.entries(a.byOp)) affine.byOp[k] = (affine.byOp[k] ?? 0) + v;
      bn = { folded: bn.folded + b.folded, standalone: b.standalone };
      if (a.folded === 0 && b.folded === 0) break;
    }
    report.affineFolding = affine;
    report.batchNormFolding = bn;
  }
  if (options.removeIdentities ?? true) report.identities = removeIdentities(model);
  if (options.removeDeadNodes ?? true) {
    const nodes = graph.nodes.length;
    const inits = graph.initializers.size;
    removeDeadNodes(graph);
    report.deadNodesRemoved = nodes - graph.nodes.length;
    report.deadInitializersRemoved = inits - graph.initializers.size;
  }
  // Value info of values that no longer exist would mislead later stages.
  const live = new Set(graph.nodes.flatMap((n) => n.outputs));
  for (const k of [...graph.valueInfo.keys()]) if (!live.has(k)) graph.valueInfo.delete(k);
  if (options.inferShapes ?? true) {
    const s = inferShapes(model, { inputShapes: options.inputShapes });
    report.shapesKnown = s.known;
    report.shapesPartial = s.partial.length;
  }
  report.nodesAfter = graph.nodes.length;
  return report;
}
