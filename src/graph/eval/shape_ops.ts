/**
 * Ops that move elements without computing new ones (Shape, Reshape, Squeeze, Concat, Slice,
 * Gather, ...), evaluated on constants with the semantics of the model's opset.
 */
import type { Node } from "../ir.js";
import { attr, intAttr } from "../ir.js";
import { sizeOf, type Tensor } from "../../tensor/tensor.js";
import { int64Tensor, numbersOf } from "../constants.js";
import { normalizeAxis, sliceArguments, splitSizes, squeezeAxes } from "../op_arguments.js";
import { broadcastDims, broadcastIndexMap, emptyOf, gatherElements, stridesOf, withDims } from "./indexing.js";
import { CannotEvaluate, requireInput, type EvalContext, type Evaluator } from "./types.js";

function reader(node: Node, inputs: (Tensor | undefined)[]) {
  const byName = new Map(node.inputs.map((n, i) => [n, inputs[i]]));
  return (name: string) => {
    const t = byName.get(name);
    return t ? numbersOf(t) : undefined;
  };
}

function where(node: Node): string {
  return `node ${node.name} (${node.opType})`;
}

/** Shape's output for input dims, honouring start/end (opset 15). */
export function shapeSlice(node: Node, dims: readonly number[]): number[] {
  const rank = dims.length;
  const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
  const start = clampAxis(attr(node, "start", "int") ?? 0);
  const end = clampAxis(attr(node, "end", "int") ?? rank);
  return dims.slice(start, Math.max(start, end));
}

/** Reshape target dims: 0 copies the input dim (unless allowzero), -1 is inferred. */
export function reshapeDims(node: Node, inDims: readonly number[], shape: readonly number[]): number[] {
  const allowzero = intAttr(node, "allowzero", 0) === 1;
  const out = shape.map((d, i) => {
    if (d === 0 && !allowzero) {
      if (i >= inDims.length) throw new Error(`${where(node)}: shape has 0 at axis ${i}, beyond the input rank ${inDims.length}`);
      return inDims[i]!;
    }
    return d;
  });
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`${where(node)}: shape [${shape.join(",")}] has more than one -1`);
  const total = sizeOf(inDims);
  if (unknown === 1) {
    const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    if (known === 0 || total % known !== 0) {
      throw new Error(`${where(node)}: cannot reshape [${inDims.join(",")}] to [${shape.join(",")}]`);
    }
    out[out.indexOf(-1)] = total / known;
  }
  if (out.some((d) => d < 0) || sizeOf(out) !== total) {
    throw new Error(`${where(node)}: cannot reshape [${inDims.join(",")}] to [${shape.join(",")}]`);
  }
  return out;
}

export function squeezedDims(node: Node, dims: readonly number[], axes: number[] | null): number[] {
  if (axes === null) return dims.filter((d) => d !== 1);
  const drop = new Set(axes.map((a) => normalizeAxis(a, dims.length, where(node))));
  for (const a of drop) {
    if (dims[a] !== 1) throw new Error(`${where(node)}: cannot squeeze axis ${a} of size ${dims[a]}`);
  }
  return dims.filter((_, i) => !drop.has(i));
}

export function unsqueezedDims(node: Node, dims: readonly number[], axes: number[]): number[] {
  const rank = dims.length + axes.length;
  const at = new Set(axes.map((a) => normalizeAxis(a, rank, where(node))));
  if (at.size !== axes.length) throw new Error(`${where(node)}: axes [${axes.join(",")}] repeat an axis`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : dims[k++]!);
  return out;
}

export interface SliceAxis {
  axis: number;
  start: number;
  step: number;
  count: number;
}

/** Per-axis start, step and element count of a Slice, with ONNX's clamping rules (Slice-13). */
export function sliceAxes(node: Node, dims: readonly number[], starts: number[], ends: number[], axes: number[] | null, steps: number[] | null): SliceAxis[] {
  const rank = dims.length;
  const ax = axes ?? starts.map((_, i) => i);
  if (starts.length !== ends.length || ax.length !== starts.length || (steps && steps.length !== starts.length)) {
    throw new Error(`${where(node)}: starts, ends, axes and steps differ in length`);
  }
  const out: SliceAxis[] = dims.map((d, axis) => ({ axis, start: 0, step: 1, count: d }));
  ax.forEach((a0, i) => {
    const axis = normalizeAxis(a0, rank, where(node));
    const d = dims[axis]!;
    const step = steps ? steps[i]! : 1;
    if (step === 0) throw new Error(`${where(node)}: step 0 on axis ${axis}`);
    let start = starts[i]!;
    let end = ends[i]!;
    if (start < 0) start += d;
    if (end < 0) end += d;
    if (step > 0) {
      start = Math.min(Math.max(start, 0), d);
      end = Math.min(Math.max(end, 0), d);
    } else {
      start = Math.min(Math.max(start, 0), d - 1);
      end = Math.min(Math.max(end, -1), d - 1);
    }
    const count = Math.max(0, Math.ceil((end - start) / step));
    out[axis] = { axis, start, step, count };
  });
  return out;
}

function concat(node: Node, ts: Tensor[]): Tensor {
  const rank = ts[0]!.dims.length;
  const axis = normalizeAxis(attr(node, "axis", "int") ?? 0, rank, where(node));
  for (const t of ts) {
    if (t.dtype !== ts[0]!.dtype) throw new Error(`${where(node)}: inputs have different dtypes`);
    if (t.dims.length !== rank || t.dims.some((d, i) => i !== axis && d !== ts[0]!.dims[i])) {
      throw new Error(`${where(node)}: input shapes ${ts.map((x) => `[${x.dims.join(",")}]`).join(", ")} do not concatenate on axis ${axis}`);
    }
  }
  const dims = [...ts[0]!.dims];
  dims[axis] = ts.reduce((s, t) => s + t.dims[axis]!, 0);
  const outer = sizeOf(dims.slice(0, axis));
  const inner = sizeOf(dims.slice(axis + 1));
  const out = emptyOf(ts[0]!.dtype, dims);
  const dst = out.data as unknown as unknown[];
  let p = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const block = t.dims[axis]! * inner;
      const src = t.data as unknown as unknown[];
      for (let j = 0; j < block; j++) dst[p++] = src[o * block + j];
    }
  }
  return out;
}

function transpose(node: Node, t: Tensor): Tensor {
  const rank = t.dims.length;
  const perm = attr(node, "perm", "ints") ?? t.dims.map((_, i) => rank - 1 - i);
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) {
    throw new Error(`${where(node)}: perm [${perm.join(",")}] is not a permutation of rank ${rank}`);
  }
  const dims = perm.map((p) => t.dims[p]!);
  const inStrides = stridesOf(t.dims);
  const outStrides = stridesOf(dims);
  return gatherElements(t, dims, (flat) => {
    let src = 0;
    let rem = flat;
    for (let a = 0; a < rank; a++) {
      const i = Math.floor(rem / outStrides[a]!);
      rem -= i * outStrides[a]!;
      src += i * inStrides[perm[a]!]!;
    }
    return src;
  });
}

function slice(node: Node, inputs: (Tensor | undefined)[], ctx: EvalContext): Tensor {
  const data = requireInput(node, inputs, 0);
  const args = sliceArguments(node, ctx.opset, reader(node, inputs));
  if (!args) throw new CannotEvaluate(node, "arguments are not constant");
  const spec = sliceAxes(node, data.dims, args.starts, args.ends, args.axes, args.steps);
  const dims = spec.map((s) => s.count);
  const inStrides = stridesOf(data.dims);
  const outStrides = stridesOf(dims);
  return gatherElements(data, dims, (flat) => {
    let src = 0;
    let rem = flat;
    for (let a = 0; a < dims.length; a++) {
      const i = Math.floor(rem / outStrides[a]!);
      rem -= i * outStrides[a]!;
      src += (spec[a]!.start + i * spec[a]!.step) * inStrides[a]!;
    }
    return src;
  });
}

function gather(node: Node, data: Tensor, indices: Tensor): Tensor {
  const rank = data.dims.length;
  const axis = normalizeAxis(attr(node, "axis", "int") ?? 0, rank, where(node));
  const d = data.dims[axis]!;
  const idx = numbersOf(indices).map((i) => {
    if (i < -d || i >= d) throw new Error(`${where(node)}: index ${i} is out of range for axis ${axis} of size ${d}`);
    return i < 0 ? i + d : i;
  });
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  const inner = sizeOf(data.dims.slice(axis + 1));
  const count = idx.length;
  return gatherElements(data, dims, (flat) => {
    const o = Math.floor(flat / (count * inner));
    const rem = flat - o * count * inner;
    const k = Math.floor(rem / inner);
    const j = rem - k * inner;
    return (o * d + idx[k]!) * inner + j;
  });
}

function split(node: Node, inputs: (Tensor | undefined)[], ctx: EvalContext): Tensor[] {
  const x = requireInput(node, inputs, 0);
  const axis = normalizeAxis(attr(node, "axis", "int") ?? 0, x.dims.length, where(node));
  const n = node.outputs.length;
  const d = x.dims[axis]!;
  let sizes = splitSizes(node, ctx.opset, reader(node, inputs));
  if (sizes === undefined) throw new CannotEvaluate(node, "split sizes are not constant");
  if (sizes === null) {
    // Equal parts; from opset 18 the last part may be smaller (ceil division).
    const part = Math.ceil(d / n);
    if (ctx.opset < 18 && d % n !== 0) throw new Error(`${where(node)}: axis of size ${d} does not split into ${n} equal parts`);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(part, d - i * part)));
  }
  if (sizes.reduce((s, v) => s + v, 0) !== d) throw new Error(`${where(node)}: split sizes [${sizes.join(",")}] do not add up to ${d}`);
  let start = 0;
  return sizes.map((s) => {
    const dims = [...x.dims];
    dims[axis] = s;
    const inner = sizeOf(x.dims.slice(axis + 1));
    const from = start;
    start += s;
    return gatherElements(x, dims, (flat) => {
      const o = Math.floor(flat / (s * inner));
      const rem = flat - o * s * inner;
      return o * d * inner + from * inner + rem;
    });
  });
}

export const shapeEvaluators: Record<string, Evaluator> = {
  Shape: (node, inputs) => [int64Tensor(shapeSlice(node, requireInput(node, inputs, 0).dims))],
  Size: (node, inputs) => [int64Tensor([sizeOf(requireInput(node, inputs, 0).dims)], [])],
  Reshape: (node, inputs) => {
    const data = requireInput(node, inputs, 0);
    return [withDims(data, reshapeDims(node, data.dims, numbersOf(requireInput(node, inputs, 1))))];
  },
  Flatten: (node, inputs) => {
    const data = requireInput(node, inputs, 0);
    const rank = data.dims.length;
    let axis = attr(node, "axis", "int") ?? 1;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) throw new Error(`${where(node)}: axis out of range for rank ${rank}`);
    return [withDims(data, [sizeOf(data.dims.slice(0, axis)), sizeOf(data.dims.slice(axis))])];
  },
  Squeeze: (node, inputs, ctx) => {
    const data = requireInput(node, inputs, 0);
    const axes = squeezeAxes(node, ctx.opset, reader(node, inputs));
    if (axes === undefined) throw new CannotEvaluate(node, "axes are not constant");
    return [withDims(data, squeezedDims(node, data.dims, axes))];
  },
  Unsqueeze: (node, inputs, ctx) => {
    const data = requireInput(node, inputs, 0);
    const axes = squeezeAxes(node, ctx.opset, reader(node, inputs));
    if (axes === undefined) throw new CannotEvaluate(node, "axes are not constant");
    if (axes === null) throw new Error(`${where(node)}: axes are required`);
    return [withDims(data, unsqueezedDims(node, data.dims, axes))];
  },
  Concat: (node, inputs) => [concat(node, inputs.filter((t): t is Tensor => t !== undefined))],
  Transpose: (node, inputs) => [transpose(node, requireInput(node, inputs, 0))],
  Slice: (node, inputs, ctx) => [slice(node, inputs, ctx)],
  Gather: (node, inputs) => [gather(node, requireInput(node, inputs, 0), requireInput(node, inputs, 1))],
  Expand: (node, inputs) => {
    const x = requireInput(node, inputs, 0);
    const dims = broadcastDims([x.dims, numbersOf(requireInput(node, inputs, 1))], where(node));
    const map = broadcastIndexMap(x.dims, dims);
    return [gatherElements(x, dims, (i) => map[i]!)];
  },
  Tile: (node, inputs) => {
    const x = requireInput(node, inputs, 0);
    const reps = numbersOf(requireInput(node, inputs, 1));
    if (reps.length !== x.dims.length) throw new Error(`${where(node)}: repeats has ${reps.length} entries for rank ${x.dims.length}`);
    const dims = x.dims.map((d, i) => d * reps[i]!);
    const inStrides = stridesOf(x.dims);
    const outStrides = stridesOf(dims);
    return [gatherElements(x, dims, (flat) => {
      let src = 0;
      let rem = flat;
      for (let a = 0; a < dims.length; a++) {
        const i = Math.floor(rem / outStrides[a]!);
        rem -= i * outStrides[a]!;
        src += (i % x.dims[a]!) * inStrides[a]!;
      }
      return src;
    })];
  },
  Split: (node, inputs, ctx) => split(node, inputs, ctx),
};
