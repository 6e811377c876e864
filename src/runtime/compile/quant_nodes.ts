/**
 * Reading the quantization parameters of QuantizeLinear / DequantizeLinear nodes (and of the
 * scale/zero-point inputs of QOperator nodes) into QParams, with the checks that make a malformed
 * model fail at compile time with the node's name rather than produce garbage at run time:
 * scales finite and > 0, zero points of the quantized dtype, one zero point per scale, per-axis
 * lengths equal to the tensor's dim along the axis.
 *
 * Parameters that are not constants (computed at run time) are not an error: the node then simply
 * runs in float, with its parameters read at run time.
 */
import type { Node } from "../../graph/ir.js";
import { attr, intAttr } from "../../graph/ir.js";
import type { QParams } from "../../quant/qparams.js";
import { normalizeAxis } from "../../quant/axis.js";
import { qRange } from "../../quant/dtype.js";
import { type Int8DType, isInt8DType } from "../../kernels/reference/common.js";
import { type DType, type Tensor, toFloat32, toNumbers } from "../../tensor/tensor.js";
import type { GraphView } from "./graph_view.js";

export type IntDType = "int8" | "uint8" | "int32";

/** Parameters of an 8-bit quantized tensor, or an int32 tensor (biases) with its scales. */
export interface TensorQuant {
  dtype: IntDType;
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** Set for per-axis parameters (normalized when the rank is known, else as written). */
  axis?: number;
}

export function nodeLabel(node: Node): string {
  return `node ${node.name || "(unnamed)"} (${node.domain ? node.domain + "." : ""}${node.opType})`;
}

/** The 8-bit QParams of an int8/uint8 TensorQuant. */
export function asQParams(q: TensorQuant): QParams {
  if (q.dtype === "int32") throw new Error("int32 tensors have no 8-bit qparams");
  const qp: QParams = { dtype: q.dtype, scale: q.scale, zeroPoint: q.zeroPoint };
  if (q.axis !== undefined) qp.axis = q.axis;
  return qp;
}

export function isPerTensor(q: TensorQuant): boolean {
  return q.scale.length === 1 && q.axis === undefined;
}

/** Per-tensor 8-bit params (the only ones a byte table can stand for). */
export function perTensor8(q: TensorQuant | undefined): q is TensorQuant & { dtype: Int8DType } {
  return q !== undefined && isInt8DType(q.dtype) && isPerTensor(q);
}

/** DequantizeLinear's value for every raw byte of its dtype (indexed by the byte, v & 0xff). */
export function dequantTable(q: TensorQuant & { dtype: Int8DType }): Float32Array {
  const { qmin, qmax } = qRange(q.dtype);
  const s = Math.fround(q.scale[0]!);
  const z = q.zeroPoint[0]!;
  const t = new Float32Array(256);
  for (let v = qmin; v <= qmax; v++) t[v & 0xff] = (v - z) * s;
  return t;
}

const INTEGER_TYPES: readonly DType[] = ["int8", "uint8", "int32"];

/**
 * Read scale / zero point constants. Returns undefined when the scale (or zero point) is not a
 * constant. `valueDType` is the quantized tensor's dtype when known (DequantizeLinear's input),
 * `defaultDType` the dtype to assume without a zero point (QuantizeLinear's default uint8).
 */
export function readQuantParams(
  view: GraphView, node: Node, scaleName: string | undefined, zeroPointName: string | undefined,
  opts: { valueDType?: DType; defaultDType?: DType; axisAttr?: number; valueDims?: readonly number[]; what: string },
): TensorQuant | undefined {
  const where = `${nodeLabel(node)}: ${opts.what}`;
  if (!scaleName) throw new Error(`${where}: the scale input is missing`);
  const scaleT = view.constant(scaleName);
  if (!scaleT) return undefined;
  const zpT = zeroPointName ? view.constant(zeroPointName) : undefined;
  if (zeroPointName && !zpT) return undefined;
  if (scaleT.dtype !== "float32" && scaleT.dtype !== "float16" && scaleT.dtype !== "float64") {
    throw new Error(`${where}: scale must be a float tensor, got ${scaleT.dtype}`);
  }
  if (scaleT.dims.length > 1) throw new Error(`${where}: scale must be a scalar or 1-D, got dims [${scaleT.dims.join(", ")}]`);
  const scale = Float32Array.from(toFloat32(scaleT));
  if (scale.length === 0) throw new Error(`${where}: scale is empty`);
  scale.forEach((s, i) => {
    if (!(s > 0) || !Number.isFinite(s)) throw new Error(`${where}: scale[${i}] = ${s}; scales must be finite and > 0`);
  });
  let dtype: DType | undefined = zpT?.dtype ?? opts.valueDType ?? opts.defaultDType;
  if (zpT && opts.valueDType && zpT.dtype !== opts.valueDType) {
    throw new Error(`${where}: zero point is ${zpT.dtype} but the quantized tensor is ${opts.valueDType}`);
  }
  if (dtype === undefined) throw new Error(`${where}: cannot tell the quantized dtype (no zero point and unknown input type)`);
  if (!INTEGER_TYPES.includes(dtype)) {
    return undefined; // int16, int4, float8, ...: no integer kernels; the node runs in float
  }
  if (zpT && zpT.dims.length !== scaleT.dims.length || zpT && zpT.dims[0] !== scaleT.dims[0]) {
    throw new Error(`${where}: zero point dims [${zpT!.dims.join(", ")}] differ from scale dims [${scaleT.dims.join(", ")}]`);
  }
  const zeroPoint = zpT ? Int32Array.from(toNumbers(zpT)) : new Int32Array(scale.length);
  const q: TensorQuant = { dtype: dtype as IntDType, scale, zeroPoint };
  if (scaleT.dims.length === 1 && scale.length > 1) {
    // ONNX: a 1-D scale is per-axis (axis attribute, default 1), even with one element.
    const axis = opts.axisAttr ?? intAttr(node, "axis", 1);
    if (opts.valueDims) {
      const a = normalizeAxisOrThrow(axis, opts.valueDims.length, where);
      const channels = opts.valueDims[a]!;
      if (channels !== scale.length) {
        throw new Error(`${where}: ${scale.length} scales but the tensor [${opts.valueDims.join(", ")}] has ${channels} along axis ${axis}`);
      }
      q.axis = a;
    } else {
      q.axis = axis;
    }
  }
  return q;
}

function normalizeAxisOrThrow(axis: number, rank: number, where: string): number {
  try {
    return normalizeAxis(axis, rank);
  } catch {
    throw new Error(`${where}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
}

export interface DequantizeInfo {
  node: Node;
  /** The quantized value the node reads. */
  input: string;
  /** The constant behind `input`, if it is one (weights, biases). */
  constant?: Tensor;
  quant: TensorQuant;
}

/** A DequantizeLinear node with constant parameters, or undefined (not one, or runtime params, or not 8/32-bit). */
export function readDequantize(view: GraphView, node: Node): DequantizeInfo | undefined {
  if (node.opType !== "DequantizeLinear" || (node.domain !== "" && node.domain !== "com.microsoft")) return undefined;
  const input = node.inputs[0];
  if (!input) throw new Error(`${nodeLabel(node)}: input x is missing`);
  const constant = view.constant(input);
  const quant = readQuantParams(view, node, node.inputs[1], node.inputs[2], {
    valueDType: view.dtypeOf(input), valueDims: constant?.dims ?? view.staticDims(input), what: "dequantization params",
  });
  if (!quant) return undefined;
  const info: DequantizeInfo = { node, input, quant };
  if (constant) info.constant = constant;
  return info;
}

export interface QuantizeInfo {
  node: Node;
  /** The float value quantized. */
  input: string;
  output: string;
  quant: TensorQuant;
}

/** A QuantizeLinear node with constant 8-bit parameters, or undefined. */
export function readQuantize(view: GraphView, node: Node): QuantizeInfo | undefined {
  if (node.opType !== "QuantizeLinear" || (node.domain !== "" && node.domain !== "com.microsoft")) return undefined;
  const input = node.inputs[0];
  const output = node.outputs[0];
  if (!input || !output) throw new Error(`${nodeLabel(node)}: needs an input and an output`);
  const outputDTypeCode = attr(node, "output_dtype", "int");
  const defaultDType: DType = outputDTypeCode === 3 ? "int8" : "uint8";
  const quant = readQuantParams(view, node, node.inputs[1], node.inputs[2], {
    defaultDType, valueDims: view.staticDims(input), what: "quantization params",
  });
  if (!quant || quant.dtype === "int32") return undefined;
  return { node, input, output, quant };
}

/** int8/uint8 constant tensor, or an error. */
export function int8Constant(t: Tensor, where: string): Tensor {
  if (t.dtype !== "int8" && t.dtype !== "uint8") throw new Error(`${where}: expected an int8 or uint8 tensor, got ${t.dtype}`);
  return t;
}

/** Scalar/1-D quant params read straight from QOperator inputs (QLinearConv's x_scale, …). */
export function readOperatorQuant(
  view: GraphView, node: Node, scaleIndex: number, zeroPointIndex: number, what: string, opts: { valueDType?: DType; valueDims?: readonly number[]; axis?: number } = {},
): TensorQuant | undefined {
  const zp = node.inputs[zeroPointIndex];
  const q = readQuantParams(view, node, node.inputs[scaleIndex], zp || undefined, {
    ...(opts.valueDType ? { valueDType: opts.valueDType } : {}),
    ...(opts.valueDims ? { valueDims: opts.valueDims } : {}),
    axisAttr: opts.axis ?? 0,
    defaultDType: opts.valueDType ?? "uint8",
    what,
  });
  return q;
}

export function scalarOf(t: Tensor): number {
  const v = toNumbers(t);
  if (v.length !== 1) throw new Error(`expected a single value, got ${v.length}`);
  return v[0]!;
}
