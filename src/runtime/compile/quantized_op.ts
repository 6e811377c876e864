/**
 * The compiler's common description of one integer operation, whatever the model wrote it as:
 *
 *   QDQ:        DequantizeLinear(q_x) ─┐
 *               DequantizeLinear(w)  ──┼─ Conv ─ [Relu | Clip] ─ QuantizeLinear ─▶ q_y
 *               DequantizeLinear(b)  ──┘
 *   QOperator:  QLinearConv(q_x, s_x, z_x, w, s_w, z_w, s_y, z_y, b) ─▶ q_y
 *
 * both become { opType: "Conv", inputs: [q_x with (s_x, z_x), w with (s_w, z_w), b], output: q_y
 * with (s_y, z_y), activation }. The op builders (ops/) only ever see this form.
 *
 * Quantization parameters belong to the reading side: a DequantizeLinear whose scale differs from
 * that of the QuantizeLinear before it (a "scale fold") simply gives the reader other params for
 * the same integers, which is exactly what the float graph computes.
 */
import type { Node } from "../../graph/ir.js";
import type { FusedActivation } from "../../kernels/reference/common.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { TensorQuant } from "./quant_nodes.js";

/** An integer tensor with its params: a runtime value, or a constant (weights, biases). */
export interface QuantizedInput {
  kind: "quantized";
  /** The integer value's name (what a step reads at run time). */
  value: string;
  quant: TensorQuant;
  constant?: Tensor;
}

/** A plain constant (a float bias, Clip bounds, a shape, Resize scales). */
export interface ConstantInput {
  kind: "constant";
  value: string;
  tensor: Tensor;
}

/** A runtime value that is not quantized (e.g. a shape tensor computed from Shape). */
export interface RuntimeInput {
  kind: "runtime";
  value: string;
}

export type OpInput = QuantizedInput | ConstantInput | RuntimeInput;

export interface QuantizedOutput {
  value: string;
  /** Per-tensor 8-bit params. */
  quant: TensorQuant;
}

export interface QuantizedOp {
  /** The float op whose semantics the integer step computes (Conv, MatMul, Add, …). */
  opType: string;
  /** The node whose attributes apply (the float op, or the QOperator node). */
  node: Node;
  /** Every node the step replaces, for the report. */
  nodes: Node[];
  /** One entry per input slot of the float op; undefined for an omitted optional input. */
  inputs: (OpInput | undefined)[];
  outputs: QuantizedOutput[];
  activation?: FusedActivation;
}

/** Thrown by a builder when an op cannot run on integers; the compiler then runs it in float. */
export class NotInteger extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "NotInteger";
  }
}

export function quantizedInput(op: QuantizedOp, index: number, what: string): QuantizedInput {
  const i = op.inputs[index];
  if (!i || i.kind !== "quantized") throw new NotInteger(`${what} is not a quantized tensor`);
  return i;
}

export function runtimeQuantizedInput(op: QuantizedOp, index: number, what: string): QuantizedInput {
  const i = quantizedInput(op, index, what);
  if (i.constant) throw new NotInteger(`${what} is a constant (expected a runtime tensor)`);
  return i;
}

/** A constant input's tensor, whether plain or quantized; undefined when the slot is empty. */
export function constantTensor(op: QuantizedOp, index: number): Tensor | undefined {
  const i = op.inputs[index];
  if (!i) return undefined;
  if (i.kind === "constant") return i.tensor;
  if (i.kind === "quantized" && i.constant) return i.constant;
  return undefined;
}
