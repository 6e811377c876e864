/**
 * What every op builder receives, and small helpers they share: per-tensor params as QParams,
 * the requantization table from one set of params to another, and the step record.
 */
import type { Node } from "../../graph/ir.js";
import type { QParams } from "../../quant/qparams.js";
import {
  type Int8DType, type Int8Tensor, isInt8DType, isIdentityRequantize, prepareRequantize, requantizeValue,
} from "../../kernels/reference/index.js";
import { type ByteTable, applyUnaryTable, newInt8Data, unaryByteTable } from "../../kernels/int8/tables.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Int8Backend } from "../backend.js";
import type { GraphView } from "../compile/graph_view.js";
import { asQParams, nodeLabel, type TensorQuant } from "../compile/quant_nodes.js";
import { NotInteger, type QuantizedOp } from "../compile/quantized_op.js";
import type { Step } from "../program.js";

export interface BuildContext {
  view: GraphView;
  backend: Int8Backend;
  /** Record a compile-time warning (e.g. int32 overflow risk), naming the layer. */
  warn(message: string): void;
}

export type OpBuilder = (op: QuantizedOp, ctx: BuildContext) => Step;

/** 8-bit per-tensor QParams of a TensorQuant, or NotInteger. */
export function perTensorQParams(q: TensorQuant, what: string): QParams {
  if (q.dtype === "int32") throw new NotInteger(`${what} is int32, not 8-bit`);
  if (q.scale.length !== 1) throw new NotInteger(`${what} has per-axis params (${q.scale.length} scales)`);
  return { dtype: q.dtype, scale: q.scale, zeroPoint: q.zeroPoint };
}

/** 8-bit QParams (per-tensor or per-axis). */
export function eightBitQParams(q: TensorQuant, what: string): QParams {
  if (q.dtype === "int32") throw new NotInteger(`${what} is int32, not 8-bit`);
  return asQParams(q);
}

export function int8DType(q: TensorQuant): Int8DType {
  if (!isInt8DType(q.dtype)) throw new NotInteger(`expected int8/uint8 params, got ${q.dtype}`);
  return q.dtype;
}

/** A requantization from `input` to `output` params as a byte table, or undefined when it is the identity. */
export function requantizeTable(input: QParams, output: QParams): ByteTable | undefined {
  const plan = prepareRequantize(input, output);
  if (isIdentityRequantize(plan)) return undefined;
  return unaryByteTable(plan.inputDType, (q) => requantizeValue(plan, q));
}

/**
 * The tensor through a byte table (into a new tensor of the backend, the input released when
 * `owned` — a kernel's fresh output that nothing else holds), or the same tensor when no table.
 */
export function applyTable(table: ByteTable | undefined, x: Tensor, dtype: Int8DType, backend?: Pick<Int8Backend, "newTensor" | "release">, owned = false): Tensor {
  if (!table) return x.dtype === dtype ? x : { ...x, dtype };
  const y = backend ? backend.newTensor(dtype, x.dims) : { dtype, dims: [...x.dims], data: newInt8Data(dtype, x.data.length) };
  applyUnaryTable(table, x.data as Int8Tensor["data"], y.data);
  if (owned) backend?.release(x);
  return y;
}

export function nodeNames(op: QuantizedOp): string[] {
  return op.nodes.map((n) => n.name || n.opType);
}

export function layerName(op: QuantizedOp): string {
  return op.node.name || op.node.outputs[0] || op.opType;
}

export function label(node: Node): string {
  return nodeLabel(node);
}

/** The single output of an op, or NotInteger. */
export function singleOutput(op: QuantizedOp) {
  if (op.outputs.length !== 1) throw new NotInteger(`expected one output, got ${op.outputs.length}`);
  return op.outputs[0]!;
}

/**
 * An integer step. Steps whose kernel allocates a fresh output (every kernel but the data-movement
 * views) can take a byte table on their output (Step.fuseOutputTable), applied in place.
 */
export function integerStep(
  ctx: BuildContext, op: QuantizedOp, opType: string, inputs: string[], run: Step["run"], freshOutput = true,
  kernel?: { fuseOutputTable?(table: Uint8Array, dtype: Int8DType): void },
): Step {
  const step: Step = { nodes: nodeNames(op), opType, kind: "integer", inputs, outputs: op.outputs.map((o) => o.value), run };
  if (op.outputs.length !== 1) return step;
  if (kernel?.fuseOutputTable) {
    // The kernel applies the table as it stores its output: no extra pass.
    const fuse = kernel.fuseOutputTable.bind(kernel);
    step.fuseOutputTable = (table, dtype) => fuse(table, dtype);
  } else if (freshOutput) {
    attachOutputTable(step, ctx.backend);
  }
  return step;
}

/**
 * Give a step with one freshly allocated 8-bit output the ability to apply a byte table to it:
 * in place, or into a new tensor when the table changes the dtype.
 */
export function attachOutputTable(step: Step, backend: Pick<Int8Backend, "newTensor" | "release">): void {
  let post: { table: Uint8Array; dtype: Int8DType } | undefined;
  const inner = step.run;
  step.run = (inputs) => {
    const outputs = inner(inputs);
    if (!post) return outputs;
    const y = outputs[0]!;
    const data = y.data as Int8Tensor["data"];
    if (post.dtype === y.dtype) {
      applyUnaryTable(post.table, data, data);
      return outputs;
    }
    const z = backend.newTensor(post.dtype, y.dims);
    applyUnaryTable(post.table, data, z.data);
    backend.release(y);
    return [z, ...outputs.slice(1)];
  };
  step.fuseOutputTable = (table, dtype) => {
    post = post ? { table: Uint8Array.from(post.table, (b) => table[b]!), dtype } : { table, dtype };
  };
}

/** A 1-D (N, C, W) tensor seen as 2-D (N, C, 1, W), so that the 2-D kernels run it; 2-D ones as they are. */
export function lift(t: Tensor, spatial: number): Tensor {
  return spatial === 2 ? t : { ...t, dims: [t.dims[0]!, t.dims[1]!, 1, t.dims[2]!] };
}

/** The inverse of lift: a 2-D kernel's (N, C, 1, W) output back to (N, C, W). */
export function lower(t: Tensor, spatial: number): Tensor {
  return spatial === 2 ? t : { ...t, dims: [t.dims[0]!, t.dims[1]!, t.dims[3]!] };
}
