/**
 * Merging a convolution with the MaxPool that reads it when the backend has a kernel for the pair
 * (Int8Backend.convMaxPool; the reference backend has none, so it keeps both steps and stays the
 * oracle the fused program is compared with). The fused kernel pools the convolution's int32 sums
 * and requantizes only the pooled ones: the same bytes, since the output stage is non-decreasing
 * (kernels/int8/conv_max_pool.ts, which refuses the pairs where that could fail).
 *
 * Only a convolution output read by the MaxPool alone (and not a graph output) is fused away. Runs
 * before table fusion: a table after the MaxPool is then applied by the fused kernel as it stores.
 */
import type { Int8Backend } from "../backend.js";
import type { Step } from "../program.js";
import { readerCounts } from "./fuse_tables.js";
import { lift, lower } from "../ops/context.js";

export function fuseMaxPool(steps: Step[], graphOutputs: Set<string>, backend: Int8Backend): Step[] {
  const fused = backend.convMaxPool;
  if (!fused) return steps;
  const counts = readerCounts(steps, graphOutputs);
  const reader = new Map<string, Step>();
  for (const s of steps) for (const i of s.inputs) if (i) reader.set(i, s);
  const removed = new Set<Step>();
  const replaced = new Map<Step, Step>();
  for (const step of steps) {
    const conv = step.facts;
    if (conv?.kind !== "conv" || step.outputs.length !== 1) continue;
    const output = step.outputs[0]!;
    const pool = counts.get(output) === 1 ? reader.get(output) : undefined;
    const poolFacts = pool?.facts;
    if (!pool || poolFacts?.kind !== "maxPool" || poolFacts.spatial !== conv.spatial || pool.outputs.length !== 1) continue;
    const kernel = fused.call(backend, conv.plan, conv.weight, conv.bias, poolFacts.plan);
    if (!kernel) continue;
    const spatial = conv.spatial;
    const merged: Step = {
      nodes: [...step.nodes, ...pool.nodes],
      opType: `${step.opType}+MaxPool`,
      kind: "integer",
      inputs: step.inputs,
      outputs: pool.outputs,
      run: ([t]) => {
        if (t!.dims.length !== spatial + 2) throw new Error(`input has rank ${t!.dims.length}, expected ${spatial + 2}`);
        return [lower(kernel(lift(t!, spatial)), spatial)];
      },
    };
    if (kernel.fuseOutputTable) merged.fuseOutputTable = kernel.fuseOutputTable.bind(kernel);
    removed.add(pool);
    replaced.set(step, merged);
  }
  return steps.filter((s) => !removed.has(s)).map((s) => replaced.get(s) ?? s);
}
