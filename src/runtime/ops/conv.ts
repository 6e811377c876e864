/**
 * Conv and ConvTranspose (QDQ DequantizeLinear → Conv → [Relu|Clip] → QuantizeLinear, or
 * QLinearConv) as integer steps. 1-D convolutions run as 2-D ones over a height of 1.
 * auto_pad SAME_UPPER / SAME_LOWER pads depend on the input size, so those layers are prepared per
 * input size on first use (and cached).
 */
import { attr, intAttr, intsAttr, stringAttr } from "../../graph/ir.js";
import {
  type Conv2dAttributes, type ConvTranspose2dAttributes, prepareConv2d, prepareConvTranspose2d,
} from "../../kernels/reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import { NotInteger, quantizedInput, runtimeQuantizedInput, type QuantizedOp } from "../compile/quantized_op.js";
import { checkAccumulatorRange, resolveBias } from "./bias.js";
import { type BuildContext, eightBitQParams, integerStep, layerName, lift, lower, perTensorQParams, singleOutput } from "./context.js";

interface SpatialAttrs {
  /** Rank of the spatial part: 1 or 2. */
  spatial: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [top, left, bottom, right] for 2-D (1-D padded with zeros on the height axis). */
  pads?: number[];
  autoPad: string;
}

function readSpatialAttrs(op: QuantizedOp, weightDims: readonly number[]): SpatialAttrs {
  const node = op.node;
  const spatial = weightDims.length - 2;
  if (spatial !== 1 && spatial !== 2) throw new NotInteger(`${spatial}-D convolution (only 1-D and 2-D run on integers)`);
  const kernel = intsAttr(node, "kernel_shape", weightDims.slice(2));
  const strides = intsAttr(node, "strides", new Array<number>(spatial).fill(1));
  const dilations = intsAttr(node, "dilations", new Array<number>(spatial).fill(1));
  const autoPad = stringAttr(node, "auto_pad", "NOTSET");
  const padsAttr = attr(node, "pads", "ints");
  if (kernel.length !== spatial || strides.length !== spatial || dilations.length !== spatial) {
    throw new Error(`${layerName(op)}: kernel_shape/strides/dilations must have ${spatial} values`);
  }
  kernel.forEach((k, i) => {
    if (k !== weightDims[2 + i]) throw new Error(`layer ${layerName(op)}: kernel_shape [${kernel.join(", ")}] differs from the weight dims [${weightDims.join(", ")}]`);
  });
  const result: SpatialAttrs = { spatial, kernel, strides, dilations, autoPad };
  if (autoPad === "NOTSET") result.pads = padsAttr ?? new Array<number>(2 * spatial).fill(0);
  else if (autoPad === "VALID") result.pads = new Array<number>(2 * spatial).fill(0);
  else if (autoPad !== "SAME_UPPER" && autoPad !== "SAME_LOWER") throw new Error(`layer ${layerName(op)}: unknown auto_pad ${autoPad}`);
  if (result.pads && result.pads.length !== 2 * spatial) throw new Error(`layer ${layerName(op)}: pads must have ${2 * spatial} values`);
  return result;
}

/** 2-D attributes (1-D lifted to a height of 1). */
function to2d(a: SpatialAttrs, pads: number[]): { strides: number[]; dilations: number[]; pads: number[] } {
  if (a.spatial === 2) return { strides: a.strides, dilations: a.dilations, pads };
  return { strides: [1, a.strides[0]!], dilations: [1, a.dilations[0]!], pads: [0, pads[0]!, 0, pads[1]!] };
}

/** SAME_UPPER/SAME_LOWER pads for one axis (ONNX Conv spec). */
export function samePads(inSize: number, kernel: number, stride: number, dilation: number, upper: boolean): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - inSize);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}

export function buildConv(op: QuantizedOp, ctx: BuildContext) {
  const x = runtimeQuantizedInput(op, 0, "Conv input");
  const w = quantizedInput(op, 1, "Conv weight");
  if (!w.constant) throw new NotInteger("Conv weight is not a constant");
  const out = singleOutput(op);
  const inputQ = perTensorQParams(x.quant, "Conv input");
  const outputQ = perTensorQParams(out.quant, "Conv output");
  const weightQ = eightBitQParams(w.quant, "Conv weight");
  if (weightQ.axis !== undefined && weightQ.axis !== 0) throw new NotInteger(`Conv weight params along axis ${weightQ.axis} (expected 0)`);
  const wDims = w.constant.dims;
  const a = readSpatialAttrs(op, wDims);
  const group = intAttr(op.node, "group", 1);
  const layer = layerName(op);
  const outChannels = wDims[0]!;
  if (!Number.isInteger(group) || group < 1 || outChannels % group !== 0) {
    throw new Error(`layer ${layer}: group ${group} does not divide the ${outChannels} output channels of the weight [${wDims.join(", ")}]`);
  }
  const inputChannels = ctx.view.staticDim(x.value, 1);
  if (inputChannels !== undefined && inputChannels !== wDims[1]! * group) {
    throw new Error(`layer ${layer}: the input has ${inputChannels} channels but the weight [${wDims.join(", ")}] with group ${group} expects ${wDims[1]! * group}`);
  }
  const bias = resolveBias(op.inputs[2], inputQ.scale[0]!, weightQ.scale, outChannels, layer, ctx);
  const reduction = wDims.slice(1).reduce((p, d) => p * d, 1);
  const wData = w.constant.data as Int8Array | Uint8Array;
  checkAccumulatorRange(outChannels, reduction, (c, k) => wData[c * reduction + k]!,
    (c) => weightQ.zeroPoint[weightQ.zeroPoint.length === 1 ? 0 : c]!,
    inputQ.dtype as "int8" | "uint8", inputQ.zeroPoint[0]!, bias, layer, ctx);
  const weight2d = lift(w.constant, a.spatial);
  const quant = { input: inputQ, weight: weightQ, output: outputQ, ...(op.activation ? { activation: op.activation } : {}) };
  const planFor = (pads: number[]) => prepareConv2d({ ...to2d(a, pads), group } satisfies Conv2dAttributes, quant);
  const kernelFor = (pads: number[]) => ctx.backend.conv2d(planFor(pads), weight2d, bias);
  let run: (t: Tensor) => Tensor;
  let fixedKernel: ReturnType<typeof kernelFor> | undefined;
  let fixedPlan: ReturnType<typeof planFor> | undefined;
  if (a.pads) {
    fixedPlan = planFor(a.pads);
    const kernel = ctx.backend.conv2d(fixedPlan, weight2d, bias);
    fixedKernel = kernel;
    run = (t) => kernel(t);
  } else {
    const bySize = new Map<string, (t: Tensor) => Tensor>();
    const upper = a.autoPad === "SAME_UPPER";
    run = (t) => {
      const sizes = t.dims.slice(2);
      const key = sizes.join("x");
      let k = bySize.get(key);
      if (!k) {
        const begin: number[] = [];
        const end: number[] = [];
        sizes.forEach((s, i) => {
          const [b, e] = samePads(s, a.kernel[i]!, a.strides[i]!, a.dilations[i]!, upper);
          begin.push(b);
          end.push(e);
        });
        k = kernelFor([...begin, ...end]);
        bySize.set(key, k);
      }
      return k(t);
    };
  }
  const step = integerStep(ctx, op, "Conv", [x.value], ([t]) => {
    if (t!.dims.length !== a.spatial + 2) throw new Error(`input has rank ${t!.dims.length}, expected ${a.spatial + 2}`);
    return [lower(run(lift(t!, a.spatial)), a.spatial)];
  }, true, fixedKernel);
  if (fixedPlan) step.facts = { kind: "conv", plan: fixedPlan, weight: weight2d, bias, spatial: a.spatial };
  return step;
}

export function buildConvTranspose(op: QuantizedOp, ctx: BuildContext) {
  const x = runtimeQuantizedInput(op, 0, "ConvTranspose input");
  const w = quantizedInput(op, 1, "ConvTranspose weight");
  if (!w.constant) throw new NotInteger("ConvTranspose weight is not a constant");
  const out = singleOutput(op);
  const inputQ = perTensorQParams(x.quant, "ConvTranspose input");
  const outputQ = perTensorQParams(out.quant, "ConvTranspose output");
  const weightQ = eightBitQParams(w.quant, "ConvTranspose weight");
  if (weightQ.axis !== undefined && weightQ.axis !== 1) throw new NotInteger(`ConvTranspose weight params along axis ${weightQ.axis} (expected 1)`);
  const wDims = w.constant.dims;
  const a = readSpatialAttrs(op, wDims);
  if (!a.pads) throw new NotInteger(`ConvTranspose with auto_pad ${a.autoPad}`);
  if (attr(op.node, "output_shape", "ints")) throw new NotInteger("ConvTranspose with output_shape");
  const group = intAttr(op.node, "group", 1);
  const outputPadding = intsAttr(op.node, "output_padding", new Array<number>(a.spatial).fill(0));
  const layer = layerName(op);
  const outPerGroup = wDims[1]!;
  const outChannels = outPerGroup * group;
  // Weight scales run along axis 1 (C_out/group) and repeat in every group.
  const perGroupScales = weightQ.scale;
  const channelScales = perGroupScales.length === 1 ? perGroupScales
    : Float32Array.from({ length: outChannels }, (_, c) => perGroupScales[c % outPerGroup]!);
  const bias = resolveBias(op.inputs[2], inputQ.scale[0]!, channelScales, outChannels, layer, ctx);
  const attrs: ConvTranspose2dAttributes = {
    ...to2d(a, a.pads), group, outputPadding: a.spatial === 2 ? outputPadding : [0, outputPadding[0]!],
  };
  const plan = prepareConvTranspose2d(attrs, {
    input: inputQ, weight: weightQ, output: outputQ, ...(op.activation ? { activation: op.activation } : {}),
  });
  const kernel = ctx.backend.convTranspose2d(plan, lift(w.constant, a.spatial), bias);
  return integerStep(ctx, op, "ConvTranspose", [x.value], ([t]) => [lower(kernel(lift(t!, a.spatial)), a.spatial)], true, kernel);
}
