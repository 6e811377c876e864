/**
 * Graph-wise error analysis: every quantized activation of a QDQ model next to its float twin,
 * with all quantization in place, so errors accumulate along the graph as they do in deployment.
 *
 * In the QDQ model an activation T is QuantizeLinear(T) → DequantizeLinear → T' (exportQdq's
 * layout; a quantized graph output keeps its name on the DQ output). T' is what the quantized
 * model's later layers read, so comparing T' with the float model's T gives the accumulated error
 * at that point. Both models run once per batch with those tensors exposed as outputs.
 *
 * Beside the accumulated error, each tensor's own quantization error (fake-quantizing the float
 * tensor with its params, nothing upstream quantized) separates "this range is badly chosen"
 * from "the error arrives from earlier layers".
 *
 * Exposing a DequantizeLinear output keeps ONNX Runtime from fusing that DQ into the integer
 * kernel after it, so the exposed run computes those ops in float on dequantized values; the
 * result differs from the fused integer kernels only by the requantization rounding.
 */
import type { Feeds } from "../calibrate/executor.js";
import { withExtraOutputs } from "../calibrate/expose.js";
import { topologicalOrder, type Model } from "../graph/ir.js";
import type { CreateExecutor } from "../optimize/capture.js";
import type { QParams } from "../quant/qparams.js";
import { fakeQuantize } from "../quant/quantize.js";
import type { Tensor } from "../tensor/tensor.js";
import { ErrorAccumulator } from "./metrics.js";

export interface ErrorMetrics {
  /** 10·log10(Σ ref² / Σ (ref − approx)²), dB; Infinity when equal. */
  sqnr: number;
  cosine: number;
  mse: number;
  maxAbsError: number;
}

export interface TensorError extends ErrorMetrics {
  /** Tensor name in the float model. */
  tensor: string;
  /** The float node that produces it (undefined for graph inputs). */
  producer?: string;
  opType?: string;
  /** SQNR (dB) of the tensor's own quantization: the float tensor fake-quantized with its params. */
  ownSqnr: number;
}

export interface OutputError extends ErrorMetrics {
  output: string;
}

export interface GraphwiseErrors {
  tensors: TensorError[];
  outputs: OutputError[];
  samples: number;
}

export function metricsOf(acc: ErrorAccumulator): ErrorMetrics {
  return { sqnr: acc.sqnr, cosine: acc.cosine, mse: acc.mse, maxAbsError: acc.maxAbsError };
}

/** Float tensor name → the name of its dequantized value in the QDQ model. */
export function dequantizedTwins(float: Model, qdq: Model): Map<string, string> {
  const floatOutputs = new Set(float.graph.outputs.map((o) => o.name));
  const readers = new Map<string, string[]>();
  for (const n of qdq.graph.nodes) {
    if (n.opType !== "DequantizeLinear") continue;
    const list = readers.get(n.inputs[0]!) ?? [];
    list.push(n.outputs[0]!);
    readers.set(n.inputs[0]!, list);
  }
  const twins = new Map<string, string>();
  for (const q of qdq.graph.nodes) {
    if (q.opType !== "QuantizeLinear") continue;
    const dq = readers.get(q.outputs[0]!)?.[0];
    if (!dq) continue;
    // A quantized graph output keeps its name on the DQ output; the float producer's was renamed.
    twins.set(floatOutputs.has(dq) ? dq : q.inputs[0]!, dq);
  }
  return twins;
}

export async function graphwiseErrors(
  float: Model, qdq: Model, params: Map<string, QParams>, data: AsyncIterable<Feeds>, options: { createExecutor: CreateExecutor },
): Promise<GraphwiseErrors> {
  const twins = dequantizedTwins(float, qdq);
  const inputNames = new Set(float.graph.inputs.map((i) => i.name));
  const producers = new Map<string, { name: string; opType: string }>();
  for (const n of topologicalOrder(float.graph)) for (const o of n.outputs) producers.set(o, { name: n.name, opType: n.opType });
  const order = [...float.graph.inputs.map((i) => i.name), ...topologicalOrder(float.graph).flatMap((n) => n.outputs)];
  const tensors = order.filter((t) => twins.has(t));
  const outputs = float.graph.outputs.map((o) => o.name);

  const floatRun = await options.createExecutor(withExtraOutputs(float, tensors.filter((t) => !inputNames.has(t))));
  const quantRun = await options.createExecutor(withExtraOutputs(qdq, tensors.map((t) => twins.get(t)!)));
  const accumulated = new Map(tensors.map((t) => [t, new ErrorAccumulator()]));
  const own = new Map(tensors.map((t) => [t, new ErrorAccumulator()]));
  const outputErrors = new Map(outputs.map((o) => [o, new ErrorAccumulator()]));
  let samples = 0;
  try {
    for await (const feeds of data) {
      const a = await floatRun.run(feeds);
      const b = await quantRun.run(feeds);
      const floatValue = (name: string): Tensor | undefined => (inputNames.has(name) ? feeds[name] : a.get(name));
      for (const t of tensors) {
        const ref = floatValue(t);
        const q = b.get(twins.get(t)!);
        if (!ref || !q || ref.dtype !== "float32" || q.dtype !== "float32") continue;
        accumulated.get(t)!.add(ref.data as Float32Array, q.data as Float32Array);
        const qp = params.get(t);
        if (qp) own.get(t)!.add(ref.data as Float32Array, fakeQuantize(ref.data as Float32Array, qp, ref.dims));
      }
      for (const o of outputs) {
        const ref = a.get(o), q = b.get(o);
        if (ref?.dtype === "float32" && q?.dtype === "float32") outputErrors.get(o)!.add(ref.data as Float32Array, q.data as Float32Array);
      }
      samples += Object.values(feeds)[0]?.dims[0] ?? 1;
    }
  } finally {
    await floatRun.dispose();
    await quantRun.dispose();
  }
  if (samples === 0) throw new Error("evaluation data contains no samples");
  return {
    tensors: tensors.map((t) => ({
      tensor: t,
      ...(producers.get(t) ? { producer: producers.get(t)!.name, opType: producers.get(t)!.opType } : {}),
      ...metricsOf(accumulated.get(t)!),
      ownSqnr: own.get(t)!.sqnr,
    })),
    outputs: outputs.map((o) => ({ output: o, ...metricsOf(outputErrors.get(o)!) })),
    samples,
  };
}
