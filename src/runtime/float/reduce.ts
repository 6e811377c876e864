/**
 * Float32 reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd) over a contiguous
 * run of axes — LayerNorm's mean and variance over the last axis are the case that matters — as
 * loops without index maps. Any reduced set of axes that is not contiguous (after dropping size-1
 * axes, which change nothing) is left to the caller's general evaluator.
 *
 * Arithmetic is that of the graph's evaluator (graph/eval/reduce.ts): a double accumulator per
 * output, the reduced elements taken in increasing index order, the mean divided in double, one
 * rounding to float32 at the end. So the fast path and the evaluator give the same bits.
 */

export const FLOAT_REDUCE_OPS = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"] as const;
export type FloatReduceOp = (typeof FLOAT_REDUCE_OPS)[number];

export function isFloatReduceOp(op: string): op is FloatReduceOp {
  return (FLOAT_REDUCE_OPS as readonly string[]).includes(op);
}

/** The input seen as [outer, count, inner] with the middle dim reduced, or undefined. */
export interface ReduceBlock {
  outer: number;
  count: number;
  inner: number;
}

/** `axes` (normalized, distinct) of `dims` as one block, when they are contiguous once size-1 axes are ignored. */
export function reduceBlock(dims: readonly number[], axes: readonly number[]): ReduceBlock | undefined {
  const reduced = new Set(axes.filter((a) => dims[a] !== 1));
  let first = -1;
  let last = -1;
  for (let k = 0; k < dims.length; k++) {
    if (!reduced.has(k)) continue;
    if (first < 0) first = k;
    last = k;
  }
  let outer = 1;
  let count = 1;
  let inner = 1;
  for (let k = 0; k < dims.length; k++) {
    const d = dims[k]!;
    if (first >= 0 && k >= first && k <= last) {
      if (!reduced.has(k) && d !== 1) return undefined; // a kept axis inside the run
      count *= d;
    } else if (first < 0 || k < first) outer *= d;
    else inner *= d;
  }
  return { outer, count, inner };
}

/** Reduces x ([outer, count, inner]) into out ([outer, inner]). */
export function reduceFloat(op: FloatReduceOp, x: Float32Array, block: ReduceBlock, out: Float32Array): void {
  const { outer, count, inner } = block;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) out[o] = reduceRow(op, x, o * count, count);
    return;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(op === "ReduceProd" ? 1 : op === "ReduceMax" ? -Infinity : op === "ReduceMin" ? Infinity : 0);
    const base = o * count * inner;
    for (let r = 0; r < count; r++) {
      const at = base + r * inner;
      switch (op) {
        case "ReduceMean":
        case "ReduceSum": for (let i = 0; i < inner; i++) acc[i] = acc[i]! + x[at + i]!; break;
        case "ReduceProd": for (let i = 0; i < inner; i++) acc[i] = acc[i]! * x[at + i]!; break;
        case "ReduceMax": for (let i = 0; i < inner; i++) acc[i] = Math.max(acc[i]!, x[at + i]!); break;
        case "ReduceMin": for (let i = 0; i < inner; i++) acc[i] = Math.min(acc[i]!, x[at + i]!); break;
      }
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = op === "ReduceMean" ? acc[i]! / count : acc[i]!;
  }
}

function reduceRow(op: FloatReduceOp, x: Float32Array, start: number, count: number): number {
  const end = start + count;
  switch (op) {
    case "ReduceMean":
    case "ReduceSum": {
      let s = 0;
      for (let k = start; k < end; k++) s += x[k]!;
      return op === "ReduceMean" ? s / count : s;
    }
    case "ReduceProd": {
      let p = 1;
      for (let k = start; k < end; k++) p *= x[k]!;
      return p;
    }
    case "ReduceMax": {
      let m = -Infinity;
      for (let k = start; k < end; k++) m = Math.max(m, x[k]!);
      return m;
    }
    case "ReduceMin": {
      let m = Infinity;
      for (let k = start; k < end; k++) m = Math.min(m, x[k]!);
      return m;
    }
  }
}
