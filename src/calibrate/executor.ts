/**
 * An Executor runs a float model and returns the tensors asked for. Calibration and evaluation
 * use it; onnxruntime-node backs it on Node, onnxruntime-web in the browser.
 */
import type { Feeds } from "../data/feeds.js";
import type { Model } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";

export type { Feeds };

export interface Executor {
  /** Runs one batch; returns the named tensors (graph outputs or intermediates it was built to expose). */
  run(feeds: Feeds): Promise<Map<string, Tensor>>;
  dispose(): Promise<void>;
}

export interface ExecutorOptions {
  /** Intra-op threads (default 1: steadier timings on small machines). */
  threads?: number;
}

/**
 * The graph optimization level to give ONNX Runtime (node and web, both 1.30) for a model: its full
 * level moves MaxPool onto 4-bit tensors (no kernel) and rejects uint4 zero points in its Clip→Q
 * fusion, so models with 4-bit initializers run at the basic level. Model bytes are not decoded
 * to look: "all".
 */
export function ortOptimizationLevel(model: Model | Uint8Array): "all" | "basic" {
  if (model instanceof Uint8Array) return "all";
  for (const t of model.graph.initializers.values()) if (t.dtype === "int4" || t.dtype === "uint4") return "basic";
  return "all";
}
