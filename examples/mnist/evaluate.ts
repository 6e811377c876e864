/**
 * Test accuracy of an ONNX classifier in onnxruntime-node over a labelled set (the 10 000 MNIST
 * test images in the story).
 *
 * ONNX Runtime is asked for all graph optimizations first (its QDQ fusions: QLinearConv,
 * QLinearMatMul, ... — the deployed path). ONNX Runtime 1.30 refuses some 4-bit activation models
 * at that level: its extended optimizations move MaxPool onto the 4-bit integers (dropping the
 * Q/DQ pair around it), for which it has no kernel, and its Clip → QuantizeLinear fusion does not
 * accept a uint4 zero point ("Unexpected data type for QuantizeLinear input y_zero_point of 21").
 * A model holding 4-bit tensors that fails there is run at the basic level, where the QDQ graph
 * runs as written (DequantizeLinear → float op → QuantizeLinear); the level used is reported.
 */
import * as ort from "onnxruntime-node";
import { decodeModel } from "../../src/onnx/decode.js";
import { loadModel } from "../../src/onnx/files.js";
import { createIntegerSession } from "../../src/runtime/index.js";
import type { LabelledImages } from "../../src/train/classifier.js";

export interface OrtAccuracy {
  accuracy: number;
  optimization: "all" | "basic";
}

export async function ortAccuracy(model: string | Uint8Array, set: LabelledImages, batchSize = 1000): Promise<OrtAccuracy> {
  const create = (level: "all" | "basic") =>
    typeof model === "string"
      ? ort.InferenceSession.create(model, { graphOptimizationLevel: level, intraOpNumThreads: 1, ...(level === "all" ? { logSeverityLevel: 4 as const } : {}) })
      : ort.InferenceSession.create(model, { graphOptimizationLevel: level, intraOpNumThreads: 1, ...(level === "all" ? { logSeverityLevel: 4 as const } : {}) });
  let optimization: OrtAccuracy["optimization"] = "all";
  let session: ort.InferenceSession;
  try {
    session = await create("all");
  } catch (e) {
    if (!hasFourBitTensors(model)) throw e;
    optimization = "basic";
    session = await create("basic");
  }
  const per = set.sampleDims.reduce((s, d) => s * d, 1);
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  let correct = 0;
  for (let from = 0; from < set.count; from += batchSize) {
    const n = Math.min(batchSize, set.count - from);
    const x = set.images.slice(from * per, (from + n) * per);
    const logits = (await session.run({ [input]: new ort.Tensor("float32", x, [n, ...set.sampleDims]) }))[output]!;
    correct += countCorrect(logits.data as Float32Array, n, logits.dims[1]!, set.labels, from);
  }
  await session.release();
  return { accuracy: correct / set.count, optimization };
}

function hasFourBitTensors(model: string | Uint8Array): boolean {
  const m = typeof model === "string" ? loadModel(model) : decodeModel(model);
  return [...m.graph.initializers.values()].some((t) => t.dtype === "int4" || t.dtype === "uint4");
}

/** Test accuracy of a quantized classifier run by octet's integer-only engine (src/runtime). */
export function engineAccuracy(model: string, set: LabelledImages, batchSize = 500, threads = 1): number {
  const session = createIntegerSession(model, { threads });
  try {
    const per = set.sampleDims.reduce((s, d) => s * d, 1);
    const input = session.inputs[0]!.name;
    let correct = 0;
    for (let from = 0; from < set.count; from += batchSize) {
      const n = Math.min(batchSize, set.count - from);
      const x = set.images.slice(from * per, (from + n) * per);
      const logits = Object.values(session.run({ [input]: { dtype: "float32", dims: [n, ...set.sampleDims], data: x } }))[0]!;
      correct += countCorrect(logits.data as Float32Array, n, logits.dims[1]!, set.labels, from);
    }
    return correct / set.count;
  } finally {
    session.dispose();
  }
}

/** How many of the n rows of logits [n, classes] have their largest value (first on ties) at the label. */
function countCorrect(logits: Float32Array, n: number, classes: number, labels: ArrayLike<number>, from: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (logits[i * classes + j]! > logits[i * classes + best]!) best = j;
    if (best === labels[from + i]) correct++;
  }
  return correct;
}
