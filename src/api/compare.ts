/**
 * Float vs quantized, side by side in onnxruntime-node: per-output error metrics over a dataset,
 * top-1 agreement (and accuracy with labels), file sizes, and the median latency of each model
 * measured in the same run, interleaved so that machine noise hits both alike.
 */
import { statSync } from "node:fs";
import { ErrorAccumulator, median, Top1Accumulator } from "../analyze/metrics.js";
import { createOrtNodeExecutor } from "../calibrate/ort_node.js";
import type { DataSource, Feeds } from "../data/feeds.js";
import type { Model } from "../graph/ir.js";
import { loadModel } from "../onnx/files.js";
import type { Tensor } from "../tensor/tensor.js";
import { toFloat32 } from "../tensor/tensor.js";

export interface OutputComparison {
  name: string;
  sqnr: number;
  cosine: number;
  maxAbsError: number;
  mse: number;
  /** For [N, classes] outputs. */
  top1Agreement?: number;
  referenceAccuracy?: number;
  quantizedAccuracy?: number;
}

export interface Comparison {
  samples: number;
  outputs: OutputComparison[];
  sizes: { reference: number; quantized: number };
  latencyMs: { reference: number; quantized: number; ratio: number; runs: number; threads: number };
}

export interface CompareOptions {
  /** Labels in dataset order, for accuracy of [N, classes] outputs. */
  labels?: ArrayLike<number>;
  /** Timed runs of the first batch per model (default 20). */
  latencyRuns?: number;
  threads?: number;
}

export async function compareModels(referencePath: string, quantizedPath: string, data: DataSource, options: CompareOptions = {}): Promise<Comparison> {
  const reference = loadModel(referencePath);
  const quantized = loadModel(quantizedPath);
  checkSameInterface(reference, quantized);
  const threads = options.threads ?? 1;
  const ref = await createOrtNodeExecutor(reference, { threads });
  const q = await createOrtNodeExecutor(quantized, { threads });
  const errors = new Map<string, ErrorAccumulator>();
  const top1 = new Map<string, Top1Accumulator>();
  let samples = 0;
  let firstBatch: Feeds | undefined;
  try {
    for await (const feeds of data) {
      firstBatch ??= feeds;
      const [a, b] = [await ref.run(feeds), await q.run(feeds)];
      const n = Object.values(feeds)[0]?.dims[0] ?? 1;
      for (const out of reference.graph.outputs) {
        const ra = toFloat32(a.get(out.name)!);
        const qb = toFloat32(b.get(out.name)!);
        if (!errors.has(out.name)) errors.set(out.name, new ErrorAccumulator());
        errors.get(out.name)!.add(ra, qb);
        const dims = a.get(out.name)!.dims;
        if (dims.length === 2 && dims[0] === n && dims[1]! > 1) {
          if (!top1.has(out.name)) top1.set(out.name, new Top1Accumulator());
          const labels = options.labels ? Array.from(options.labels).slice(samples, samples + n) : undefined;
          top1.get(out.name)!.add(ra, qb, dims[1]!, labels);
        }
      }
      samples += n;
    }
    if (!firstBatch) throw new Error("evaluation data contains no samples");
    const latency = await measureLatency(ref, q, firstBatch, options.latencyRuns ?? 20);
    const outputs = [...errors].map(([name, e]) => {
      const c: OutputComparison = { name, sqnr: e.sqnr, cosine: e.cosine, maxAbsError: e.maxAbsError, mse: e.mse };
      const t = top1.get(name);
      if (t) {
        c.top1Agreement = t.agreement;
        if (options.labels) {
          c.referenceAccuracy = t.referenceAccuracy;
          c.quantizedAccuracy = t.approxAccuracy;
        }
      }
      return c;
    });
    return {
      samples,
      outputs,
      sizes: { reference: fileSize(referencePath), quantized: fileSize(quantizedPath) },
      latencyMs: { ...latency, runs: options.latencyRuns ?? 20, threads },
    };
  } finally {
    await ref.dispose();
    await q.dispose();
  }
}

async function measureLatency(
  a: { run(f: Feeds): Promise<Map<string, Tensor>> },
  b: { run(f: Feeds): Promise<Map<string, Tensor>> },
  feeds: Feeds,
  runs: number,
) {
  // Warm up both, then alternate so that slow phases of the machine affect both models.
  await a.run(feeds);
  await b.run(feeds);
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await a.run(feeds);
    ta.push(performance.now() - t);
    t = performance.now();
    await b.run(feeds);
    tb.push(performance.now() - t);
  }
  const reference = median(ta);
  const quantized = median(tb);
  return { reference, quantized, ratio: quantized / reference };
}

function checkSameInterface(a: Model, b: Model): void {
  const names = (m: Model, k: "inputs" | "outputs") => m.graph[k].map((v) => v.name).join(", ");
  for (const k of ["inputs", "outputs"] as const) {
    if (names(a, k) !== names(b, k)) throw new Error(`the models' ${k} differ: [${names(a, k)}] vs [${names(b, k)}]`);
  }
}

function fileSize(path: string): number {
  let size = statSync(path).size;
  try {
    size += statSync(`${path}.data`).size;
  } catch {
    // no external data
  }
  return size;
}
