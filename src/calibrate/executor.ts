/**
 * An Executor runs a float model and returns the tensors asked for. Calibration and evaluation
 * use it; onnxruntime-node backs it on Node, onnxruntime-web in the browser.
 */
import type { Feeds } from "../data/feeds.js";
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
