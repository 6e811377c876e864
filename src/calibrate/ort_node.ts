/** Executor backed by onnxruntime-node (native CPU execution provider). */
import * as ort from "onnxruntime-node";
import type { Model } from "../graph/ir.js";
import { encodeModel } from "../onnx/encode.js";
import type { DType, Tensor, TypedArray } from "../tensor/tensor.js";
import { type Executor, type ExecutorOptions, type Feeds, ortOptimizationLevel } from "./executor.js";

export async function createOrtNodeExecutor(model: Model | Uint8Array, options: ExecutorOptions = {}): Promise<Executor> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: ortOptimizationLevel(model),
      // Warnings such as "Removing initializer … not used" are noise to octet's users.
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw new Error(`onnxruntime-node could not load the model: ${(e as Error).message}`);
  }
  return {
    async run(feeds: Feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
      const results = await session.run(ortFeeds);
      const out = new Map<string, Tensor>();
      for (const [name, t] of Object.entries(results)) out.set(name, fromOrt(t));
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}

const ortTypes: Partial<Record<DType, string>> = {
  float32: "float32", float64: "float64", int8: "int8", uint8: "uint8", int16: "int16", uint16: "uint16",
  int32: "int32", uint32: "uint32", int64: "int64", uint64: "uint64", bool: "bool", float16: "float16",
};

export function toOrt(t: Tensor): ort.Tensor {
  const type = ortTypes[t.dtype];
  if (!type) throw new Error(`onnxruntime cannot take ${t.dtype} tensors`);
  return new ort.Tensor(type as "float32", t.data as Float32Array, t.dims);
}

export function fromOrt(t: ort.Tensor): Tensor {
  const dtype = (Object.entries(ortTypes).find(([, v]) => v === t.type)?.[0] ?? "float32") as DType;
  return { dtype, dims: [...t.dims], data: t.data as TypedArray };
}
