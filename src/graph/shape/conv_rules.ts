/**
 * Shape rules for Conv, ConvTranspose, pooling, Gemm and MatMul. Output sizes follow the ONNX
 * operator docs: out = floor((in + pad_begin + pad_end − ((k − 1)·dilation + 1)) / stride) + 1
 * (ceil with ceil_mode, dropping a last window that would start in the end padding, as ONNX
 * Runtime and PyTorch do); SAME_* auto_pad gives ceil(in / stride); ConvTranspose gives
 * stride·(in − 1) + output_padding + (k − 1)·dilation + 1 − pad_begin − pad_end.
 */
import { attr, intAttr, stringAttr } from "../ir.js";
import type { Dim, Node } from "../ir.js";
import { broadcastShapes, isNumber, unknownOfRank, type RuleContext, type ShapeRule } from "./facts.js";

function where(node: Node): string {
  return `node ${node.name} (${node.opType})`;
}

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
}

function windowOf(node: Node, kernel: number[]): Window {
  const n = kernel.length;
  const strides = attr(node, "strides", "ints") ?? new Array<number>(n).fill(1);
  const dilations = attr(node, "dilations", "ints") ?? new Array<number>(n).fill(1);
  const pads = attr(node, "pads", "ints") ?? new Array<number>(2 * n).fill(0);
  if (strides.length !== n || dilations.length !== n || pads.length !== 2 * n) {
    throw new Error(`${where(node)}: strides/dilations/pads do not match ${n} spatial dims`);
  }
  return { kernel, strides, dilations, pads, autoPad: stringAttr(node, "auto_pad", "NOTSET") };
}

/** Output size of one sliding-window axis. */
export function windowOutputSize(input: Dim, axis: number, w: Window, ceilMode = false): Dim {
  if (!isNumber(input)) return undefined;
  const s = w.strides[axis]!;
  if (w.autoPad === "SAME_UPPER" || w.autoPad === "SAME_LOWER") return Math.ceil(input / s);
  const extent = (w.kernel[axis]! - 1) * w.dilations[axis]! + 1;
  const padBegin = w.autoPad === "VALID" ? 0 : w.pads[axis]!;
  const padEnd = w.autoPad === "VALID" ? 0 : w.pads[axis + w.kernel.length]!;
  const span = input + padBegin + padEnd - extent;
  if (!ceilMode) return Math.floor(span / s) + 1;
  let out = Math.ceil(span / s) + 1;
  if ((out - 1) * s >= input + padBegin) out--;
  return out;
}

function convLike(ctx: RuleContext, outChannels: Dim): ReturnType<ShapeRule> {
  const x = ctx.inputs[0] ?? {};
  const w = ctx.inputs[1] ?? {};
  const kernelAttr = attr(ctx.node, "kernel_shape", "ints");
  const spatialRank = kernelAttr?.length ?? (w.shape ? w.shape.length - 2 : x.shape ? x.shape.length - 2 : undefined);
  if (spatialRank === undefined) return [{ dtype: x.dtype }];
  const kernel = kernelAttr ?? (w.shape?.slice(2) as Dim[]);
  if (!kernel.every(isNumber) || !x.shape) return [{ dtype: x.dtype, shape: [x.shape?.[0], outChannels, ...unknownOfRank(spatialRank)] }];
  const win = windowOf(ctx.node, kernel as number[]);
  return [{ dtype: x.dtype, shape: [x.shape[0], outChannels, ...x.shape.slice(2).map((d, i) => windowOutputSize(d, i, win))] }];
}

const conv: ShapeRule = (ctx) => convLike(ctx, ctx.inputs[1]?.shape?.[0]);

const convTranspose: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const w = ctx.inputs[1] ?? {};
  const group = intAttr(ctx.node, "group", 1);
  const perGroup = w.shape?.[1];
  const channels: Dim = isNumber(perGroup) ? perGroup * group : undefined;
  if (!x.shape) return [{ dtype: x.dtype }];
  const spatial = x.shape.slice(2);
  const outputShape = attr(ctx.node, "output_shape", "ints");
  if (outputShape) return [{ dtype: x.dtype, shape: [x.shape[0], channels, ...outputShape.slice(-spatial.length)] }];
  const kernel = attr(ctx.node, "kernel_shape", "ints") ?? (w.shape?.slice(2) as Dim[] | undefined);
  if (!kernel || !kernel.every(isNumber)) return [{ dtype: x.dtype, shape: [x.shape[0], channels, ...unknownOfRank(spatial.length)] }];
  const win = windowOf(ctx.node, kernel as number[]);
  const outPad = attr(ctx.node, "output_padding", "ints") ?? new Array<number>(spatial.length).fill(0);
  const dims = spatial.map((d, i) => {
    if (!isNumber(d)) return undefined;
    const s = win.strides[i]!;
    if (win.autoPad === "SAME_UPPER" || win.autoPad === "SAME_LOWER") return d * s;
    const extent = (win.kernel[i]! - 1) * win.dilations[i]! + 1;
    const pads = win.autoPad === "VALID" ? 0 : win.pads[i]! + win.pads[i + spatial.length]!;
    return s * (d - 1) + outPad[i]! + extent - pads;
  });
  return [{ dtype: x.dtype, shape: [x.shape[0], channels, ...dims] }];
};

const pool: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  const kernel = attr(ctx.node, "kernel_shape", "ints");
  if (!kernel) throw new Error(`${where(ctx.node)}: attribute kernel_shape is required`);
  if (!x.shape) return [{ dtype: x.dtype }];
  const win = windowOf(ctx.node, kernel);
  const ceilMode = intAttr(ctx.node, "ceil_mode", 0) === 1;
  const shape = [x.shape[0], x.shape[1], ...x.shape.slice(2).map((d, i) => windowOutputSize(d, i, win, ceilMode))];
  // MaxPool's optional second output (indices) has the same shape, int64.
  return [{ dtype: x.dtype, shape }, { dtype: "int64", shape }];
};

const globalPool: ShapeRule = (ctx) => {
  const x = ctx.inputs[0] ?? {};
  return [{ dtype: x.dtype, shape: x.shape ? [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] : undefined }];
};

const gemm: ShapeRule = (ctx) => {
  const a = ctx.inputs[0] ?? {};
  const b = ctx.inputs[1] ?? {};
  const m = a.shape ? (intAttr(ctx.node, "transA", 0) ? a.shape[1] : a.shape[0]) : undefined;
  const n = b.shape ? (intAttr(ctx.node, "transB", 0) ? b.shape[0] : b.shape[1]) : undefined;
  return [{ dtype: a.dtype, shape: [m, n] }];
};

/** numpy.matmul: 1-D operands are promoted and the added axis removed; batch axes broadcast. */
const matmul: ShapeRule = (ctx) => {
  const a = ctx.inputs[0] ?? {};
  const b = ctx.inputs[1] ?? {};
  if (!a.shape || !b.shape) return [{ dtype: a.dtype }];
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error(`${where(ctx.node)}: MatMul operands must have rank ≥ 1`);
  const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)], where(ctx.node));
  const shape: Dim[] = [...(batch ?? []), as[as.length - 2], bs[bs.length - 1]];
  if (a.shape.length === 1) shape.splice(shape.length - 2, 1);
  if (b.shape.length === 1) shape.pop();
  return [{ dtype: a.dtype, shape }];
};

export const convRules: Record<string, ShapeRule> = {
  Conv: conv,
  ConvInteger: (ctx) => [{ ...conv(ctx)[0], dtype: "int32" }],
  QLinearConv: (ctx) => {
    const x = ctx.inputs[0] ?? {};
    const w = ctx.inputs[3] ?? {};
    const shifted = { ...ctx, inputs: [x, w] };
    return [{ ...convLike(shifted, w.shape?.[0])[0], dtype: ctx.inputs[7]?.dtype ?? x.dtype }];
  },
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: matmul,
  MatMulInteger: (ctx) => [{ ...matmul(ctx)[0], dtype: "int32" }],
  QLinearMatMul: (ctx) => {
    const shifted = { ...ctx, inputs: [ctx.inputs[0] ?? {}, ctx.inputs[3] ?? {}] };
    return [{ ...matmul(shifted)[0], dtype: ctx.inputs[7]?.dtype ?? ctx.inputs[0]?.dtype }];
  },
};
