/**
 * QOperator nodes (quantized ops with their scales and zero points as inputs) in the compiler's
 * common form (quantized_op.ts). Input layouts from the ONNX operator spec (QLinearConv,
 * QLinearMatMul) and ONNX Runtime's com.microsoft contrib-op spec (QLinearAdd, QLinearMul,
 * QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax, QLinearGlobalAveragePool, QLinearAveragePool,
 * QLinearConcat, QGemm).
 */
import type { Node } from "../../graph/ir.js";
import { floatAttr, intAttr } from "../../graph/ir.js";
import type { GraphView } from "./graph_view.js";
import { nodeLabel, readOperatorQuant, type TensorQuant } from "./quant_nodes.js";
import { NotInteger, type OpInput, type QuantizedInput, type QuantizedOp } from "./quantized_op.js";

/** The float op each QOperator computes. */
const FLOAT_OP: Record<string, string> = {
  QLinearConv: "Conv",
  QLinearMatMul: "MatMul",
  QLinearAdd: "Add",
  QLinearMul: "Mul",
  QLinearSigmoid: "Sigmoid",
  QLinearLeakyRelu: "LeakyRelu",
  QLinearSoftmax: "Softmax",
  QLinearGlobalAveragePool: "GlobalAveragePool",
  QLinearAveragePool: "AveragePool",
  QLinearConcat: "Concat",
  QGemm: "Gemm",
};

export function isQOperator(node: Node): boolean {
  if (node.opType === "QLinearConv" || node.opType === "QLinearMatMul") return node.domain === "" || node.domain === "com.microsoft";
  return node.domain === "com.microsoft" && node.opType in FLOAT_OP;
}

export function qOperatorFloatOp(node: Node): string {
  return FLOAT_OP[node.opType]!;
}

function quantOf(view: GraphView, node: Node, value: string, scaleIndex: number, zpIndex: number, what: string, axis?: number): TensorQuant {
  const valueDType = view.dtypeOf(value);
  const q = readOperatorQuant(view, node, scaleIndex, zpIndex, what, {
    ...(valueDType ? { valueDType } : {}),
    ...(view.staticDims(value) ? { valueDims: view.staticDims(value)! } : {}),
    ...(axis !== undefined ? { axis } : {}),
  });
  if (!q) throw new NotInteger(`${what} params are not constants`);
  return q;
}

function dataInput(view: GraphView, node: Node, index: number, scaleIndex: number, zpIndex: number, what: string, axis?: number): QuantizedInput {
  const value = node.inputs[index];
  if (!value) throw new Error(`${nodeLabel(node)}: input ${what} is missing`);
  const quant = quantOf(view, node, value, scaleIndex, zpIndex, what, axis);
  const input: QuantizedInput = { kind: "quantized", value, quant };
  const c = view.constant(value);
  if (c) input.constant = c;
  return input;
}

function outputQuant(view: GraphView, node: Node, scaleIndex: number, zpIndex: number): TensorQuant {
  const out = node.outputs[0];
  if (!out) throw new Error(`${nodeLabel(node)}: has no output`);
  const q = readOperatorQuant(view, node, scaleIndex, zpIndex, "output", {});
  if (!q) throw new NotInteger("output params are not constants");
  if (q.scale.length !== 1) throw new NotInteger("per-axis output params");
  return q;
}

/** An int32 bias on the accumulator scale `scales` (QLinearConv B, QGemm C). */
function biasInput(view: GraphView, node: Node, index: number, scales: Float32Array): OpInput | undefined {
  const value = node.inputs[index];
  if (!value) return undefined;
  const constant = view.constant(value);
  if (!constant) throw new NotInteger("bias is not a constant");
  if (constant.dtype !== "int32") throw new Error(`${nodeLabel(node)}: bias must be int32, got ${constant.dtype}`);
  return { kind: "quantized", value, constant, quant: { dtype: "int32", scale: scales, zeroPoint: new Int32Array(scales.length) } };
}

function productScales(a: Float32Array, b: Float32Array, factor = 1): Float32Array {
  return Float32Array.from(b, (s) => a[0]! * s * factor);
}

export function lowerQOperator(view: GraphView, node: Node): QuantizedOp {
  const opType = qOperatorFloatOp(node);
  const out = (q: TensorQuant) => [{ value: node.outputs[0]!, quant: q }];
  const base = { opType, node, nodes: [node] };
  switch (node.opType) {
    case "QLinearConv": {
      const x = dataInput(view, node, 0, 1, 2, "x");
      const w = dataInput(view, node, 3, 4, 5, "w", 0);
      return { ...base, inputs: [x, w, biasInput(view, node, 8, productScales(x.quant.scale, w.quant.scale))], outputs: out(outputQuant(view, node, 6, 7)) };
    }
    case "QLinearMatMul": {
      const a = dataInput(view, node, 0, 1, 2, "a");
      const bRank = view.rankOf(node.inputs[3] ?? "") ?? 2;
      const b = dataInput(view, node, 3, 4, 5, "b", bRank - 1);
      return { ...base, inputs: [a, b], outputs: out(outputQuant(view, node, 6, 7)) };
    }
    case "QLinearAdd":
    case "QLinearMul": {
      const a = dataInput(view, node, 0, 1, 2, "A");
      const b = dataInput(view, node, 3, 4, 5, "B");
      return { ...base, inputs: [a, b], outputs: out(outputQuant(view, node, 6, 7)) };
    }
    case "QLinearSigmoid":
    case "QLinearLeakyRelu":
    case "QLinearSoftmax":
    case "QLinearGlobalAveragePool":
    case "QLinearAveragePool": {
      const x = dataInput(view, node, 0, 1, 2, "X");
      return { ...base, inputs: [x], outputs: out(outputQuant(view, node, 3, 4)) };
    }
    case "QLinearConcat": {
      const inputs: QuantizedInput[] = [];
      for (let i = 2; i < node.inputs.length; i += 3) {
        inputs.push(dataInput(view, node, i, i + 1, i + 2, `input ${(i - 2) / 3}`));
      }
      return { ...base, inputs, outputs: out(outputQuant(view, node, 0, 1)) };
    }
    case "QGemm": {
      if (!node.inputs[7]) throw new NotInteger("QGemm without y_scale has a float output");
      const transB = intAttr(node, "transB", 0) === 1;
      const alpha = floatAttr(node, "alpha", 1);
      const a = dataInput(view, node, 0, 1, 2, "A");
      const b = dataInput(view, node, 3, 4, 5, "B", transB ? 0 : 1);
      return {
        ...base,
        inputs: [a, b, biasInput(view, node, 6, productScales(a.quant.scale, b.quant.scale, alpha))],
        outputs: out(outputQuant(view, node, 7, 8)),
      };
    }
  }
  throw new Error(`${nodeLabel(node)}: not a QOperator octet knows`);
}
