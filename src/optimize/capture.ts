/**
 * Streams chosen intermediate tensors of a model over a data source: each batch runs once with
 * those tensors exposed as outputs, the visitor reduces them to whatever statistics it keeps, and
 * the batch is dropped (memory is one batch, as in calibration).
 */
import type { Executor, Feeds } from "../calibrate/executor.js";
import { withExtraOutputs } from "../calibrate/expose.js";
import type { Model } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";

export type CreateExecutor = (model: Model) => Promise<Executor>;

/** Runs `visit` on every batch with the named tensors (graph inputs are taken from the feeds); returns the number of batches. */
export async function captureTensors(
  model: Model, names: Iterable<string>, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor,
  visit: (tensors: Map<string, Tensor>, feeds: Feeds) => void | Promise<void>,
): Promise<number> {
  const wanted = [...new Set(names)];
  const inputNames = new Set(model.graph.inputs.map((i) => i.name));
  const executor = await createExecutor(withExtraOutputs(model, wanted.filter((n) => !inputNames.has(n))));
  let batches = 0;
  try {
    for await (const feeds of data) {
      const outputs = await executor.run(feeds);
      const tensors = new Map<string, Tensor>();
      for (const name of wanted) {
        const t = inputNames.has(name) ? feeds[name] : outputs.get(name);
        if (!t) throw new Error(`tensor ${name} was not produced by the model`);
        tensors.set(name, t);
      }
      await visit(tensors, feeds);
      batches++;
    }
  } finally {
    await executor.dispose();
  }
  if (batches === 0) throw new Error("the data source yielded no batch");
  return batches;
}
