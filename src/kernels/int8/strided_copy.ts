/**
 * Slice and Transpose of 8-bit tensors as one strided copy: the output, read in row-major order,
 * visits the input at offset + Σ_k index_k·stride_k. Slice takes stride_k = step·input stride
 * (offset: the starts), Transpose the input strides in permuted order. Before copying, output axes
 * of size 1 are dropped and neighbours that are contiguous in the input are merged, so that e.g.
 * slicing the first of three heads out of [3, 1, 8, 40, 15] is one block copy, and [1, 40, 120] →
 * [1, 120, 40] is a two-axis loop. An innermost stride of 1 copies runs with TypedArray.set.
 *
 * Same values as the reference Transpose (kernels/reference/data_movement.ts) and the graph
 * evaluator's Slice: both only move elements.
 */
import { normalizeAxis } from "../../quant/axis.js";
import type { SliceAxis } from "../../graph/eval/shape_ops.js";
import { stridesOf } from "../../graph/eval/indexing.js";

export interface StridedPlan {
  offset: number;
  /** Output extents and input strides, outermost first, after merging. */
  counts: number[];
  strides: number[];
  size: number;
}

/** Drops extent-1 axes and merges axis k into k+1 where stride_k = stride_{k+1}·count_{k+1}. */
export function simplifyStrides(offset: number, counts: readonly number[], strides: readonly number[]): StridedPlan {
  const c: number[] = [];
  const s: number[] = [];
  let size = 1;
  for (let k = 0; k < counts.length; k++) {
    size *= counts[k]!;
    if (counts[k] === 1) continue;
    c.push(counts[k]!);
    s.push(strides[k]!);
  }
  if (size === 0) return { offset, counts: [0], strides: [1], size: 0 };
  for (let k = c.length - 2; k >= 0; k--) {
    if (s[k] === s[k + 1]! * c[k + 1]!) {
      c[k + 1] = c[k]! * c[k + 1]!;
      c.splice(k, 1);
      s.splice(k, 1);
    }
  }
  if (c.length === 0) return { offset, counts: [1], strides: [1], size: 1 };
  return { offset, counts: c, strides: s, size };
}

export function transposePlan(dims: readonly number[], perm: readonly number[] | undefined): { plan: StridedPlan; outDims: number[] } {
  const rank = dims.length;
  const p = perm ?? dims.map((_, k) => rank - 1 - k);
  if (p.length !== rank || [...p].sort((a, b) => a - b).some((v, k) => v !== k)) {
    throw new Error(`transpose: perm [${p.join(", ")}] is not a permutation of 0…${rank - 1}`);
  }
  const inStrides = stridesOf(dims);
  const outDims = p.map((a) => dims[a]!);
  return { plan: simplifyStrides(0, outDims, p.map((a) => inStrides[a]!)), outDims };
}

/** A Slice given its per-axis start, step and count (graph/eval/shape_ops.ts sliceAxes). */
export function slicePlan(dims: readonly number[], axes: readonly SliceAxis[]): { plan: StridedPlan; outDims: number[] } {
  const inStrides = stridesOf(dims);
  const counts = dims.map(() => 0);
  const strides = dims.map(() => 0);
  let offset = 0;
  for (const a of axes) {
    const k = normalizeAxis(a.axis, dims.length);
    counts[k] = a.count;
    strides[k] = a.step * inStrides[k]!;
    if (a.count > 0) offset += a.start * inStrides[k]!;
  }
  return { plan: simplifyStrides(offset, counts, strides), outDims: counts };
}

/** dst[i] = src[offset + Σ index_k·stride_k] over the plan's output, in row-major order. */
export function stridedCopy(plan: StridedPlan, src: Uint8Array, dst: Uint8Array): void {
  if (plan.size === 0) return;
  const { counts, strides } = plan;
  const rank = counts.length;
  const innerCount = counts[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const outerRank = rank - 1;
  const index = new Array<number>(outerRank).fill(0);
  let from = plan.offset;
  for (let o = 0; o < plan.size; o += innerCount) {
    if (innerStride === 1 && innerCount >= 64) dst.set(src.subarray(from, from + innerCount), o);
    else for (let j = 0, at = from; j < innerCount; j++, at += innerStride) dst[o + j] = src[at]!;
    // Odometer over the outer axes.
    for (let k = outerRank - 1; k >= 0; k--) {
      index[k]!++;
      from += strides[k]!;
      if (index[k]! < counts[k]!) break;
      from -= strides[k]! * counts[k]!;
      index[k] = 0;
    }
  }
}
