/** Reductions on constants (ReduceSum/Prod/Min/Max/Mean), axes read per opset. */
import type { Node } from "../ir.js";
import { intAttr } from "../ir.js";
import { sizeOf } from "../../tensor/tensor.js";
import { numbersOf, tensorFromNumbers } from "../constants.js";
import { normalizeAxis, reduceAxes } from "../op_arguments.js";
import { forEachIndex, stridesOf } from "./indexing.js";
import { CannotEvaluate, requireInput, type EvalContext, type Evaluator } from "./types.js";

/** The axes a Reduce* node reduces over (null: it is the identity, noop_with_empty_axes). */
export function reducedAxes(node: Node, rank: number, ctx: EvalContext, readInts: (name: string) => number[] | undefined): number[] | null | undefined {
  const axes = reduceAxes(node, ctx.opset, readInts);
  if (axes === undefined) return undefined;
  if (axes === null || axes.length === 0) {
    return intAttr(node, "noop_with_empty_axes", 0) === 1 ? null : Array.from({ length: rank }, (_, i) => i);
  }
  return [...new Set(axes.map((a) => normalizeAxis(a, rank, `node ${node.name} (${node.opType})`)))];
}

function reduction(init: number, step: (acc: number, v: number) => number, finish: (acc: number, count: number) => number = (a) => a): Evaluator {
  return (node, inputs, ctx) => {
    const x = requireInput(node, inputs, 0);
    if (x.dtype === "string" || x.dtype === "float16") throw new CannotEvaluate(node, `${x.dtype} inputs are not evaluated`);
    const byName = new Map(node.inputs.map((n, i) => [n, inputs[i]]));
    const axes = reducedAxes(node, x.dims.length, ctx, (name) => {
      const t = byName.get(name);
      return t ? numbersOf(t) : undefined;
    });
    if (axes === undefined) throw new CannotEvaluate(node, "axes are not constant");
    if (axes === null) return [x];
    const keep = intAttr(node, "keepdims", 1) === 1;
    const reduced = new Set(axes);
    const keptDims = x.dims.map((d, i) => (reduced.has(i) ? 1 : d));
    const outStrides = stridesOf(keptDims);
    const acc = new Float64Array(sizeOf(keptDims)).fill(init);
    const values = numbersOf(x);
    forEachIndex(x.dims, (idx, flat) => {
      let o = 0;
      for (let a = 0; a < idx.length; a++) if (!reduced.has(a)) o += idx[a]! * outStrides[a]!;
      acc[o] = step(acc[o]!, values[flat]!);
    });
    const count = axes.reduce((p, a) => p * x.dims[a]!, 1);
    const out = Array.from(acc, (a) => finish(a, count));
    const dims = keep ? keptDims : x.dims.filter((_, i) => !reduced.has(i));
    return [tensorFromNumbers(x.dtype, dims, out)];
  };
}

export const reduceEvaluators: Record<string, Evaluator> = {
  ReduceSum: reduction(0, (a, v) => a + v),
  ReduceProd: reduction(1, (a, v) => a * v),
  ReduceMin: reduction(Infinity, (a, v) => Math.min(a, v)),
  ReduceMax: reduction(-Infinity, (a, v) => Math.max(a, v)),
  ReduceMean: reduction(0, (a, v) => a + v, (a, n) => a / n),
};

