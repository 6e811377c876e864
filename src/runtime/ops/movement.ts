/**
 * Ops that move quantized values without computing on them, as integer steps: Transpose and Slice
 * as one strided copy into the backend's memory (int8/strided_copy.ts); Reshape, Flatten,
 * Squeeze, Unsqueeze, Gather, Split, Expand, Tile, Identity, DepthToSpace, SpaceToDepth on the
 * graph evaluator's own dtype-generic implementations (the shape-only ones return views); then
 * Concat, Pad and Resize on the reference kernels. Where the output's params differ from the
 * input's, the moved integers are requantized through a 256-entry table.
 */
import { attr, intAttr, stringAttr } from "../../graph/ir.js";
import { padArguments, resizeArguments, sliceArguments } from "../../graph/op_arguments.js";
import { evaluateNode } from "../../graph/eval/index.js";
import { sliceAxes } from "../../graph/eval/shape_ops.js";
import { numbersOf } from "../../graph/constants.js";
import { bytesOf } from "../../kernels/int8/tables.js";
import type { Int8DType } from "../../kernels/reference/index.js";
import {
  type CoordinateTransformationMode, type NearestMode, pad, prepareConcat, preparePad, prepareResize,
} from "../../kernels/reference/index.js";
import { type StridedPlan, slicePlan, stridedCopy, transposePlan } from "../../kernels/int8/strided_copy.js";
import { toNumbers, type Tensor } from "../../tensor/tensor.js";
import { NotInteger, constantTensor, quantizedInput, runtimeQuantizedInput, type QuantizedOp } from "../compile/quantized_op.js";
import {
  type BuildContext, applyTable, int8DType, integerStep, layerName, perTensorQParams, requantizeTable,
} from "./context.js";

export const MOVEMENT_OPS: ReadonlySet<string> = new Set([
  "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Gather", "Split", "Expand", "Tile", "Identity",
  "DepthToSpace", "SpaceToDepth",
]);

export function buildMovement(op: QuantizedOp, ctx: BuildContext) {
  const x = runtimeQuantizedInput(op, 0, `${op.opType} data`);
  const inQ = perTensorQParams(x.quant, "input");
  // Every other input is a plain value (shape, axes, indices): a constant or a runtime int64 tensor.
  const others = op.inputs.slice(1).map((i) => {
    if (!i) return undefined;
    if (i.kind === "quantized") throw new NotInteger(`${op.opType} input ${i.value} is quantized (not a plain index/shape tensor)`);
    return i;
  });
  const tables = op.outputs.map((o) => ({ table: requantizeTable(inQ, perTensorQParams(o.quant, "output")), dtype: int8DType(o.quant) }));
  const node = op.node;
  const runtimeInputs = others.filter((i) => i?.kind === "runtime").map((i) => i!.value);
  const evalCtx = { opset: ctx.view.opset };
  const strided = stridedMove(op, ctx);
  return integerStep(ctx, op, op.opType, [x.value, ...runtimeInputs], (values) => {
    const data = values[0]!;
    let r = 1;
    const inputs: (Tensor | undefined)[] = [data, ...others.map((i) => {
      if (!i) return undefined;
      return i.kind === "constant" ? i.tensor : values[r++];
    })];
    const copied = strided?.(inputs);
    const moved = copied ?? evaluateNode(node, inputs, evalCtx);
    // A fresh copy is released once requantized; an evaluator's output may be a view of the input.
    return moved.map((t, k) => applyTable(tables[k]!.table, t, tables[k]!.dtype, ctx.backend, copied !== undefined));
  }, false);
}

/**
 * Transpose and Slice as a strided copy into a new tensor of the backend (plans cached by input
 * dims); undefined for the other ops. Returns undefined at run time for inputs it does not take
 * (Slice arguments it cannot read), which then go to the evaluator.
 */
function stridedMove(op: QuantizedOp, ctx: BuildContext): ((inputs: (Tensor | undefined)[]) => Tensor[] | undefined) | undefined {
  const node = op.node;
  if (op.opType !== "Transpose" && op.opType !== "Slice") return undefined;
  if (op.outputs.length !== 1) return undefined;
  const plans = new Map<string, { plan: StridedPlan; outDims: number[] }>();
  const perm = attr(node, "perm", "ints") ?? undefined;
  return (inputs) => {
    const x = inputs[0]!;
    if (x.dtype !== "int8" && x.dtype !== "uint8") return undefined;
    let key = x.dims.join(",");
    let prepared: { plan: StridedPlan; outDims: number[] } | undefined;
    if (op.opType === "Transpose") {
      prepared = plans.get(key);
      if (!prepared) plans.set(key, prepared = transposePlan(x.dims, perm));
    } else {
      const args = sliceArguments(node, ctx.view.opset, (name) => {
        const i = node.inputs.indexOf(name);
        const t = i >= 0 ? inputs[i] : undefined;
        return t ? numbersOf(t) : undefined;
      });
      if (!args) return undefined;
      key += `|${args.starts}|${args.ends}|${args.axes ?? ""}|${args.steps ?? ""}`;
      prepared = plans.get(key);
      if (!prepared) {
        prepared = slicePlan(x.dims, sliceAxes(node, x.dims, args.starts, args.ends, args.axes, args.steps));
        if (plans.size > 64) plans.clear();
        plans.set(key, prepared);
      }
    }
    const y = ctx.backend.newTensor(x.dtype as Int8DType, prepared.outDims);
    stridedCopy(prepared.plan, bytesOf(x.data as Int8Array | Uint8Array), bytesOf(y.data));
    return [y];
  };
}

export function buildConcat(op: QuantizedOp, ctx: BuildContext) {
  const inputs = op.inputs.map((_, i) => quantizedInput(op, i, `Concat input ${i}`));
  const out = op.outputs[0]!;
  const plan = prepareConcat(intAttr(op.node, "axis", 0), inputs.map((i) => perTensorQParams(i.quant, "Concat input")),
    perTensorQParams(out.quant, "Concat output"));
  const runtime = inputs.filter((i) => !i.constant);
  const kernel = ctx.backend.concat(plan);
  return integerStep(ctx, op, "Concat", runtime.map((i) => i.value), (values) => {
    let r = 0;
    const all = inputs.map((i) => i.constant ?? values[r++]!);
    return [kernel(all)];
  });
}

export function buildPad(op: QuantizedOp, ctx: BuildContext) {
  const x = runtimeQuantizedInput(op, 0, "Pad data");
  const inQ = perTensorQParams(x.quant, "input");
  const out = op.outputs[0]!;
  const readNumbers = (name: string) => {
    const i = op.node.inputs.indexOf(name);
    const t = i >= 0 ? constantTensor(op, i) : undefined;
    if (!t) return undefined;
    if (op.inputs[i]?.kind === "quantized") {
      // A quantized constant value (DQ'd): its real value.
      const q = (op.inputs[i] as { quant: { scale: Float32Array; zeroPoint: Int32Array } }).quant;
      return toNumbers(t).map((v) => Math.fround((v - q.zeroPoint[0]!) * q.scale[0]!));
    }
    return toNumbers(t);
  };
  const args = padArguments(op.node, ctx.view.opset, readNumbers, readNumbers);
  if (!args.pads) throw new NotInteger("Pad pads are not constant");
  if (args.value === undefined) throw new NotInteger("Pad constant value is not constant");
  if (args.axes) throw new NotInteger("Pad with axes");
  const mode = args.mode;
  if (mode !== "constant" && mode !== "edge" && mode !== "reflect") throw new NotInteger(`Pad mode ${mode}`);
  const plan = preparePad({ pads: args.pads, mode, constantValue: args.value }, inQ);
  const table = requantizeTable(inQ, perTensorQParams(out.quant, "output"));
  const dtype = int8DType(out.quant);
  return integerStep(ctx, op, "Pad", [x.value], ([t]) => [applyTable(table, pad(plan, t!), dtype)]);
}

export function buildResize(op: QuantizedOp, ctx: BuildContext) {
  const x = runtimeQuantizedInput(op, 0, "Resize input");
  const inQ = perTensorQParams(x.quant, "input");
  const outQ = perTensorQParams(op.outputs[0]!.quant, "output");
  const node = op.node;
  if (ctx.view.opset < 11 || node.opType !== "Resize") throw new NotInteger("Resize before opset 11 / Upsample (different coordinate rules)");
  const mode = stringAttr(node, "mode", "nearest");
  if (mode !== "nearest" && mode !== "linear") throw new NotInteger(`Resize mode ${mode}`);
  const coordinateTransformationMode = stringAttr(node, "coordinate_transformation_mode", "half_pixel");
  const supportedModes = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"];
  if (!supportedModes.includes(coordinateTransformationMode)) throw new NotInteger(`Resize coordinate_transformation_mode ${coordinateTransformationMode}`);
  const nearestMode = stringAttr(node, "nearest_mode", "round_prefer_floor");
  if (attr(node, "antialias", "int") === 1) throw new NotInteger("Resize antialias");
  if (attr(node, "axes", "ints")) throw new NotInteger("Resize axes");
  const readConstant = (name: string) => {
    const i = node.inputs.indexOf(name);
    const t = i >= 0 ? constantTensor(op, i) : undefined;
    return t ? toNumbers(t) : undefined;
  };
  const args = resizeArguments(node, ctx.view.opset, readConstant, readConstant);
  if (args.scales === undefined || args.sizes === undefined) throw new NotInteger("Resize scales/sizes are not constant");
  const scales = args.scales ?? undefined;
  const sizes = args.sizes ?? undefined;
  if (!scales && !sizes) throw new Error(`layer ${layerName(op)}: Resize needs scales or sizes`);
  const kernels = new Map<string, (t: Tensor) => Tensor>();
  return integerStep(ctx, op, "Resize", [x.value], ([t]) => {
    const key = t!.dims.join(",");
    let kernel = kernels.get(key);
    if (!kernel) {
      const inputDims = t!.dims;
      if ((scales ?? sizes)!.length !== inputDims.length) throw new Error(`Resize scales/sizes have ${(scales ?? sizes)!.length} values for an input of rank ${inputDims.length}`);
      const outputDims = sizes ? [...sizes] : inputDims.map((d, i) => Math.floor(d * scales![i]!));
      const plan = prepareResize({
        mode, coordinateTransformationMode: coordinateTransformationMode as CoordinateTransformationMode,
        nearestMode: nearestMode as NearestMode, inputDims, outputDims, ...(scales ? { scales } : {}),
      }, inQ, outQ);
      kernel = ctx.backend.resize(plan);
      kernels.set(key, kernel);
    }
    return [kernel(t!)];
  });
}
