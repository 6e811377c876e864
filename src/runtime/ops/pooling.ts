/**
 * MaxPool, AveragePool and GlobalAveragePool (QDQ, QLinearAveragePool, QLinearGlobalAveragePool)
 * on the reference pooling kernels. GlobalAveragePool with differing input/output params needs a
 * multiplier per spatial size, prepared on first use of each size.
 */
import { attr, intAttr, intsAttr, stringAttr } from "../../graph/ir.js";
import {
  type AveragePool2dAttributes, prepareAveragePool2d, prepareGlobalAveragePool, prepareMaxPool2d,
} from "../../kernels/reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import { NotInteger, runtimeQuantizedInput, type QuantizedOp } from "../compile/quantized_op.js";
import { type BuildContext, integerStep, layerName, lift, lower, perTensorQParams, singleOutput } from "./context.js";

function windowAttrs(op: QuantizedOp): { spatial: number; attrs: AveragePool2dAttributes } {
  const node = op.node;
  const kernel = intsAttr(node, "kernel_shape", []);
  const spatial = kernel.length;
  if (spatial !== 1 && spatial !== 2) throw new NotInteger(`${spatial}-D pooling`);
  const autoPad = stringAttr(node, "auto_pad", "NOTSET");
  if (autoPad !== "NOTSET" && autoPad !== "VALID") throw new NotInteger(`pooling with auto_pad ${autoPad}`);
  const strides = intsAttr(node, "strides", new Array<number>(spatial).fill(1));
  const dilations = intsAttr(node, "dilations", new Array<number>(spatial).fill(1));
  const pads = autoPad === "VALID" ? new Array<number>(2 * spatial).fill(0) : intsAttr(node, "pads", new Array<number>(2 * spatial).fill(0));
  const ceilMode = intAttr(node, "ceil_mode", 0) === 1;
  const countIncludePad = intAttr(node, "count_include_pad", 0) === 1;
  if (spatial === 2) return { spatial, attrs: { kernelShape: kernel, strides, dilations, pads, ceilMode, countIncludePad } };
  return {
    spatial,
    attrs: {
      kernelShape: [1, kernel[0]!], strides: [1, strides[0]!], dilations: [1, dilations[0]!],
      pads: [0, pads[0]!, 0, pads[1]!], ceilMode, countIncludePad,
    },
  };
}

export function buildMaxPool(op: QuantizedOp, ctx: BuildContext) {
  if (op.node.outputs.filter((o) => o).length > 1) throw new NotInteger("MaxPool with an Indices output");
  if (attr(op.node, "storage_order", "int")) throw new NotInteger("MaxPool storage_order");
  const x = runtimeQuantizedInput(op, 0, "MaxPool input");
  const out = singleOutput(op);
  const { spatial, attrs } = windowAttrs(op);
  const plan = prepareMaxPool2d(attrs, perTensorQParams(x.quant, "input"), perTensorQParams(out.quant, "output"));
  const kernel = ctx.backend.maxPool(plan);
  const step = integerStep(ctx, op, "MaxPool", [x.value], ([t]) => [lower(kernel(lift(t!, spatial)), spatial)]);
  step.facts = { kind: "maxPool", plan, spatial };
  return step;
}

export function buildAveragePool(op: QuantizedOp, ctx: BuildContext) {
  const x = runtimeQuantizedInput(op, 0, "AveragePool input");
  const out = singleOutput(op);
  const { spatial, attrs } = windowAttrs(op);
  const kernel = ctx.backend.averagePool(prepareAveragePool2d(attrs, perTensorQParams(x.quant, "input"), perTensorQParams(out.quant, "output")));
  return integerStep(ctx, op, "AveragePool", [x.value], ([t]) => [lower(kernel(lift(t!, spatial)), spatial)]);
}

export function buildGlobalAveragePool(op: QuantizedOp, ctx: BuildContext) {
  if (op.node.domain === "com.microsoft" && intAttr(op.node, "channels_last", 0) === 1) {
    throw new NotInteger("QLinearGlobalAveragePool with channels_last");
  }
  const x = runtimeQuantizedInput(op, 0, "GlobalAveragePool input");
  const out = singleOutput(op);
  const inQ = perTensorQParams(x.quant, "input");
  const outQ = perTensorQParams(out.quant, "output");
  const plans = new Map<number, (t: Tensor) => Tensor>();
  const layer = layerName(op);
  return integerStep(ctx, op, "GlobalAveragePool", [x.value], ([t]) => {
    if (t!.dims.length < 3) throw new Error(`layer ${layer}: input must be [N, C, spatial…], got [${t!.dims.join(", ")}]`);
    const size = t!.dims.slice(2).reduce((p, d) => p * d, 1);
    let kernel = plans.get(size);
    if (!kernel) {
      kernel = ctx.backend.globalAveragePool(prepareGlobalAveragePool(inQ, outQ, size));
      plans.set(size, kernel);
    }
    return [kernel(t!)];
  });
}
