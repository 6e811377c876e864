/**
 * Executor backed by onnxruntime-web (WebAssembly CPU backend): the browser's float executor. It
 * also runs under Node, which is how it is tested.
 */
import * as ort from "onnxruntime-web";
import type { Model } from "../graph/ir.js";
import { encodeModel } from "../onnx/encode.js";
import type { DType, Tensor, TypedArray } from "../tensor/tensor.js";
import { type Executor, type ExecutorOptions, type Feeds, ortOptimizationLevel } from "./executor.js";

export async function createOrtWebExecutor(model: Model | Uint8Array, options: ExecutorOptions = {}): Promise<Executor> {
  ort.env.wasm.numThreads = options.threads ?? 1;
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: ortOptimizationLevel(model), logSeverityLevel: 3 });
  } catch (e) {
    throw new Error(`onnxruntime-web could not load the model: ${(e as Error).message}`);
  }
  return {
    async run(feeds: Feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype as "float32", t.data as Float32Array, t.dims);
      const results = await session.run(ortFeeds);
      const out = new Map<string, Tensor>();
      for (const [name, t] of Object.entries(results)) out.set(name, { dtype: t.type as DType, dims: [...t.dims], data: t.data as TypedArray });
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}
