/**
 * Evaluators: a model → one number, higher is better. Mixed-precision search compares quantized
 * candidates with them against the float model's score.
 *
 * - accuracy: top-1 accuracy in percent of a [N, classes] output against labels (a target such
 *   as "drop ≤ 0.5" then means half an accuracy point);
 * - output SQNR: 10·log10(Σ y² / Σ (y − ŷ)²) in dB over all float outputs, against the float model
 *   (the float model itself scores +∞, so use it with a minimum, e.g. ≥ 30 dB).
 */
import type { Feeds } from "../calibrate/executor.js";
import type { Model } from "../graph/ir.js";
import type { CreateExecutor } from "../optimize/capture.js";
import type { Tensor } from "../tensor/tensor.js";
import { ErrorAccumulator, argmaxRows } from "./metrics.js";

export interface Evaluator {
  /** What the number is, for reports ("top-1 accuracy (%)", "output SQNR (dB)"). */
  metric: string;
  evaluate(model: Model): Promise<number>;
}

export interface AccuracyOptions {
  createExecutor: CreateExecutor;
  /** The output holding [N, classes] scores; default the model's first output. */
  output?: string;
}

export function accuracyEvaluator(data: AsyncIterable<Feeds>, labels: ArrayLike<number>, options: AccuracyOptions): Evaluator {
  return {
    metric: "top-1 accuracy (%)",
    async evaluate(model) {
      const output = options.output ?? model.graph.outputs[0]?.name;
      if (!output) throw new Error("accuracy: the model has no output");
      const run = await options.createExecutor(model);
      let seen = 0, correct = 0;
      try {
        for await (const feeds of data) {
          const y = (await run.run(feeds)).get(output);
          if (!y) throw new Error(`accuracy: output ${output} was not produced`);
          if (y.dims.length !== 2) throw new Error(`accuracy: output ${output} has dims [${y.dims}], expected [N, classes]`);
          const predicted = argmaxRows(y.data as Float32Array, y.dims[1]!);
          for (let i = 0; i < predicted.length; i++, seen++) {
            if (seen >= labels.length) throw new Error(`accuracy: the data has more samples than the ${labels.length} labels`);
            if (predicted[i] === labels[seen]) correct++;
          }
        }
      } finally {
        await run.dispose();
      }
      if (seen === 0) throw new Error("accuracy: evaluation data contains no samples");
      return (100 * correct) / seen;
    },
  };
}

/** Output SQNR against `reference`'s outputs on the same data; the reference's outputs are computed once and kept. */
export function outputSqnrEvaluator(reference: Model, data: AsyncIterable<Feeds>, options: { createExecutor: CreateExecutor }): Evaluator {
  let cached: Map<string, Tensor>[] | undefined;
  const outputs = reference.graph.outputs.map((o) => o.name);
  return {
    metric: "output SQNR (dB)",
    async evaluate(model) {
      if (!cached) {
        cached = [];
        const run = await options.createExecutor(reference);
        try {
          for await (const feeds of data) cached.push(await run.run(feeds));
        } finally {
          await run.dispose();
        }
      }
      const run = await options.createExecutor(model);
      const acc = new ErrorAccumulator();
      try {
        let batch = 0;
        for await (const feeds of data) {
          const ref = cached[batch++];
          if (!ref) throw new Error("output SQNR: the data yielded more batches than when the reference ran");
          const got = await run.run(feeds);
          for (const o of outputs) {
            const r = ref.get(o), q = got.get(o);
            if (r?.dtype === "float32" && q?.dtype === "float32") acc.add(r.data as Float32Array, q.data as Float32Array);
          }
        }
      } finally {
        await run.dispose();
      }
      return acc.sqnr;
    },
  };
}
