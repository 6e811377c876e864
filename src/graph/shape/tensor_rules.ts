/**
 * Shape rules for ops that rearrange tensors or compute shapes: Reshape, Flatten, Transpose,
 * Squeeze/Unsqueeze, Concat, Split, Slice, Gather, Pad, Resize/Upsample, Expand, Tile, Shape,
 * Size, ConstantOfShape, Range, reductions and ArgMax/ArgMin. Arguments are read per opset
 * (op_arguments.ts). Shape values (Shape → Gather/Slice → Concat) propagate element by element.
 */
import { attr, intAttr } from "../ir.js";
import type { Dim, Node } from "../ir.js";
import { constantNodeValue } from "../constants.js";
import { padArguments, reduceAxes, resizeArguments, sliceArguments, splitSizes, squeezeAxes } from "../op_arguments.js";
import {
  allNumbers, broadcastShapes, factsOfTensor, isNumber, normalizeAxisOrThrow, productDim, quotientDim, unknownOfRank,
  type ShapeRule, type ValueFacts,
} from "./facts.js";

function where(node: Node): string {
  return `node ${node.name} (${node.opType})`;
}

const INT64_BIG = 2 ** 31 - 1;

const reshape: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const s = ctx.inputs[1] ?? {};
  const out: ValueFacts = { dtype: x.dtype };
  const target = s.value;
  if (!target) {
    const len = s.shape?.[0];
    if (isNumber(len)) out.shape = unknownOfRank(len);
    return [out];
  }
  const allowzero = intAttr(ctx.node, "allowzero", 0) === 1;
  const dims: Dim[] = target.map((d, i) => (d === 0 && !allowzero ? x.shape?.[i] : d));
  const inferred = dims.indexOf(-1);
  if (inferred >= 0) {
    dims[inferred] = x.shape ? quotientDim(x.shape, dims.filter((_, i) => i !== inferred)) : undefined;
  }
  out.shape = dims;
  if (x.value && dims.length <= 1) out.value = x.value;
  return [out];
};

const flatten: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  if (!x.shape) return [{ dtype: x.dtype, shape: [undefined, undefined] }];
  const rank = x.shape.length;
  let axis = intAttr(ctx.node, "axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) throw new Error(`${where(ctx.node)}: axis out of range for rank ${rank}`);
  return [{ dtype: x.dtype, shape: [productDim(x.shape.slice(0, axis)), productDim(x.shape.slice(axis))] }];
};

const transpose: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  if (!x.shape) return [{ dtype: x.dtype }];
  const rank = x.shape.length;
  const perm = attr(ctx.node, "perm", "ints") ?? x.shape.map((_, i) => rank - 1 - i);
  if (perm.length !== rank) throw new Error(`${where(ctx.node)}: perm [${perm.join(",")}] does not match rank ${rank}`);
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape![p]) }];
};

const squeeze: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const axes = squeezeAxes(ctx.node, ctx.opset, ctx.readInts);
  const out: ValueFacts = { dtype: x.dtype };
  if (!x.shape || axes === undefined) return [out];
  if (axes === null) {
    // Without axes every 1 goes: the rank is known only if every dim is.
    if (x.shape.every((d) => d !== undefined && typeof d !== "string")) out.shape = x.shape.filter((d) => d !== 1);
  } else {
    const drop = new Set(axes.map((a) => normalizeAxisOrThrow(a, x.shape!.length, ctx.node)));
    out.shape = x.shape.filter((_, i) => !drop.has(i));
  }
  if (x.value && out.shape && out.shape.length <= 1) out.value = x.value;
  return [out];
};

const unsqueeze: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const axes = squeezeAxes(ctx.node, ctx.opset, ctx.readInts);
  const out: ValueFacts = { dtype: x.dtype };
  if (!x.shape || !axes) return [out];
  const rank = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => normalizeAxisOrThrow(a, rank, ctx.node)));
  const dims: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(at.has(i) ? 1 : x.shape[k++]);
  out.shape = dims;
  if (x.value && rank <= 1) out.value = x.value;
  return [out];
};

const concat: ShapeRule = (ctx) => {
  const present = ctx.inputs.filter((_, i) => ctx.node.inputs[i]);
  const dtype = present.find((f) => f.dtype)?.dtype;
  const ranked = present.find((f) => f.shape);
  if (!ranked?.shape) return [{ dtype }];
  const rank = ranked.shape.length;
  const axis = normalizeAxisOrThrow(attr(ctx.node, "axis", "int") ?? 0, rank, ctx.node);
  const shape: Dim[] = ranked.shape.map((_, i) => {
    if (i === axis) {
      const parts = present.map((f) => f.shape?.[i]);
      return allNumbers(parts) ? parts.reduce((s, d) => s + d, 0) : parts.length === 1 ? parts[0] : undefined;
    }
    // Non-axis dims agree; take the first known one.
    for (const f of present) if (f.shape?.[i] !== undefined) return f.shape[i];
    return undefined;
  });
  const out: ValueFacts = { dtype, shape };
  if (rank === 1 && present.every((f) => f.value)) out.value = present.flatMap((f) => f.value!);
  return [out];
};

const split: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const n = ctx.node.outputs.length;
  if (!x.shape) return ctx.node.outputs.map(() => ({ dtype: x.dtype }));
  const axis = normalizeAxisOrThrow(attr(ctx.node, "axis", "int") ?? 0, x.shape.length, ctx.node);
  const sizes = splitSizes(ctx.node, ctx.opset, ctx.readInts);
  const d = x.shape[axis];
  let parts: Dim[];
  if (sizes) parts = sizes;
  else if (sizes === null && isNumber(d)) {
    const part = Math.ceil(d / n);
    parts = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(part, d - i * part)));
  } else parts = new Array<Dim>(n).fill(undefined);
  return parts.map((p) => ({ dtype: x.dtype, shape: x.shape!.map((dim, i) => (i === axis ? p : dim)) }));
};

/** One axis of a Slice when the input dim may be symbolic: a full-range slice keeps the dim. */
function slicedDim(d: Dim, start: number, end: number, step: number): Dim {
  if (isNumber(d)) {
    let s = start < 0 ? start + d : start;
    let e = end < 0 ? end + d : end;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    return Math.max(0, Math.ceil((e - s) / step));
  }
  if (start === 0 && end >= INT64_BIG && step === 1) return d;
  // Non-negative start and end within a dim that is at least that long is still end − start,
  // but only if the dim is known to be that long: unknown here.
  return undefined;
}

const slice: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const out: ValueFacts = { dtype: x.dtype };
  if (!x.shape) return [out];
  const args = sliceArguments(ctx.node, ctx.opset, ctx.readInts);
  if (!args) {
    out.shape = unknownOfRank(x.shape.length);
    return [out];
  }
  const rank = x.shape.length;
  const axes = args.axes ?? args.starts.map((_, i) => i);
  const shape = [...x.shape];
  const ranges = new Map<number, [number, number, number]>();
  axes.forEach((a, i) => {
    const axis = normalizeAxisOrThrow(a, rank, ctx.node);
    const step = args.steps ? args.steps[i]! : 1;
    ranges.set(axis, [args.starts[i]!, args.ends[i]!, step]);
    shape[axis] = slicedDim(x.shape![axis], args.starts[i]!, args.ends[i]!, step);
  });
  out.shape = shape;
  // Slicing a 1-D shape value picks elements.
  const r = ranges.get(0);
  if (x.value && rank === 1 && r) {
    const n = x.value.length;
    let [s, e] = r;
    const step = r[2];
    if (s < 0) s += n;
    if (e < 0) e += n;
    const picked: Dim[] = [];
    if (step > 0) for (let i = Math.max(s, 0); i < Math.min(e, n); i += step) picked.push(x.value[i]);
    else for (let i = Math.min(s, n - 1); i > Math.max(e, -1); i += step) picked.push(x.value[i]);
    out.value = picked;
  }
  return [out];
};

const gather: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const idx = ctx.inputs[1] ?? {};
  const out: ValueFacts = { dtype: x.dtype };
  if (!x.shape || !idx.shape) return [out];
  const axis = normalizeAxisOrThrow(attr(ctx.node, "axis", "int") ?? 0, x.shape.length, ctx.node);
  out.shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const indices = ctx.readInts(ctx.node.inputs[1]!);
  if (x.value && x.shape.length === 1 && indices && idx.shape.length <= 1) {
    const n = x.value.length;
    out.value = indices.map((i) => x.value![i < 0 ? i + n : i]);
  }
  return [out];
};

const pad: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  if (!x.shape) return [{ dtype: x.dtype }];
  const args = padArguments(ctx.node, ctx.opset, ctx.readInts, ctx.readNumbers);
  const rank = x.shape.length;
  if (!args.pads || args.axes === undefined) return [{ dtype: x.dtype, shape: unknownOfRank(rank) }];
  const axes = args.axes ? args.axes.map((a) => normalizeAxisOrThrow(a, rank, ctx.node)) : x.shape.map((_, i) => i);
  const shape = [...x.shape];
  axes.forEach((axis, i) => {
    const d = shape[axis];
    shape[axis] = isNumber(d) ? d + args.pads![i]! + args.pads![i + axes.length]! : args.pads![i] === 0 && args.pads![i + axes.length] === 0 ? d : undefined;
  });
  return [{ dtype: x.dtype, shape }];
};

const resize: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  if (!x.shape) return [{ dtype: x.dtype }];
  const rank = x.shape.length;
  const args = resizeArguments(ctx.node, ctx.opset, ctx.readNumbers, ctx.readInts);
  const axesAttr = attr(ctx.node, "axes", "ints");
  const axes = axesAttr ? axesAttr.map((a) => normalizeAxisOrThrow(a, rank, ctx.node)) : x.shape.map((_, i) => i);
  const shape = [...x.shape];
  if (args.sizes) {
    const policy = attr(ctx.node, "keep_aspect_ratio_policy", "string") ?? "stretch";
    if (policy !== "stretch") return [{ dtype: x.dtype, shape: unknownOfRank(rank) }];
    axes.forEach((a, i) => (shape[a] = args.sizes![i]));
    return [{ dtype: x.dtype, shape }];
  }
  if (args.scales) {
    // ONNX: output_dimension = floor(input_dimension * scale) (roi only matters for tf_crop_and_resize).
    axes.forEach((a, i) => {
      const d = shape[a];
      const s = args.scales![i]!;
      shape[a] = s === 1 ? d : isNumber(d) ? Math.floor(d * s) : undefined;
    });
    return [{ dtype: x.dtype, shape }];
  }
  return [{ dtype: x.dtype, shape: unknownOfRank(rank) }];
};

const expand: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const s = ctx.inputs[1] ?? {};
  if (s.value) return [{ dtype: x.dtype, shape: broadcastShapes([x.shape, s.value], where(ctx.node)) }];
  const len = s.shape?.[0];
  if (isNumber(len) && x.shape) return [{ dtype: x.dtype, shape: unknownOfRank(Math.max(len, x.shape.length)) }];
  return [{ dtype: x.dtype }];
};

const tile: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const reps = ctx.readInts(ctx.node.inputs[1] ?? "");
  if (!x.shape) return [{ dtype: x.dtype }];
  if (!reps) return [{ dtype: x.dtype, shape: unknownOfRank(x.shape.length) }];
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (reps[i] === 1 ? d : isNumber(d) ? d * reps[i]! : undefined)) }];
};

const shapeOp: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  if (!x.shape) return [{ dtype: "int64", shape: [undefined] }];
  const rank = x.shape.length;
  const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
  const start = clamp(attr(ctx.node, "start", "int") ?? 0);
  const end = clamp(attr(ctx.node, "end", "int") ?? rank);
  const value = x.shape.slice(start, Math.max(start, end));
  return [{ dtype: "int64", shape: [value.length], value }];
};

const constantOfShape: ShapeRule = (ctx) => {
  const s = ctx.inputs[0] ?? {};
  const v = attr(ctx.node, "value", "tensor");
  const dtype = v?.dtype ?? "float32";
  if (s.value) return [{ dtype, shape: s.value }];
  const len = s.shape?.[0];
  return [{ dtype, shape: isNumber(len) ? unknownOfRank(len) : undefined }];
};

const range: ShapeRule = (ctx) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.readNumbers(ctx.node.inputs[i] ?? ""));
  const dtype = ctx.inputs[0]?.dtype;
  if (start && limit && delta && delta[0] !== 0) {
    return [{ dtype, shape: [Math.max(Math.ceil((limit[0]! - start[0]!) / delta[0]!), 0)] }];
  }
  return [{ dtype, shape: [undefined] }];
};

const reduce: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  if (!x.shape) return [{ dtype: x.dtype }];
  const rank = x.shape.length;
  const axes = reduceAxes(ctx.node, ctx.opset, ctx.readInts);
  const keep = intAttr(ctx.node, "keepdims", 1) === 1;
  if (axes === undefined) return [{ dtype: x.dtype, shape: keep ? unknownOfRank(rank) : undefined }];
  let reduced: Set<number>;
  if (axes === null || axes.length === 0) {
    if (intAttr(ctx.node, "noop_with_empty_axes", 0) === 1) return [{ dtype: x.dtype, shape: x.shape }];
    reduced = new Set(x.shape.map((_, i) => i));
  } else reduced = new Set(axes.map((a) => normalizeAxisOrThrow(a, rank, ctx.node)));
  const shape = keep ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
  return [{ dtype: x.dtype, shape }];
};

const argReduce: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  if (!x.shape) return [{ dtype: "int64" }];
  const axis = normalizeAxisOrThrow(attr(ctx.node, "axis", "int") ?? 0, x.shape.length, ctx.node);
  const keep = intAttr(ctx.node, "keepdims", 1) === 1;
  return [{ dtype: "int64", shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis) }];
};

const spaceDepth = (toDepth: boolean): ShapeRule => (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const b = intAttr(ctx.node, "blocksize", 1);
  if (!x.shape || x.shape.length !== 4) return [{ dtype: x.dtype }];
  const [n, c, h, w] = x.shape;
  const mul = (d: Dim, k: number) => (isNumber(d) ? d * k : undefined);
  const div = (d: Dim, k: number) => (isNumber(d) ? d / k : undefined);
  return [{ dtype: x.dtype, shape: toDepth ? [n, mul(c, b * b), div(h, b), div(w, b)] : [n, div(c, b * b), mul(h, b), mul(w, b)] }];
};

const REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"];

export const tensorRules: Record<string, ShapeRule> = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  Expand: expand,
  Tile: tile,
  Shape: shapeOp,
  Size: () => [{ dtype: "int64", shape: [] }],
  ConstantOfShape: constantOfShape,
  Range: range,
  ArgMax: argReduce,
  ArgMin: argReduce,
  DepthToSpace: spaceDepth(false),
  SpaceToDepth: spaceDepth(true),
  NonZero: (ctx) => [{ dtype: "int64", shape: [ctx.inputs[0]?.shape?.length, undefined] }],
  Constant: (ctx) => {
    const t = constantNodeValue(ctx.node);
    return t ? [factsOfTensor(t)] : [];
  },
  ...Object.fromEntries(REDUCE_OPS.map((op) => [op, reduce])),
};
