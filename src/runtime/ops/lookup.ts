/**
 * A chain of element-wise functions of one 8-bit tensor between a DequantizeLinear and a
 * QuantizeLinear (Relu, Clip, Sigmoid, HardSwish, x + 3 → Clip, x / 6, …) as one 256-entry table:
 *
 *   table[q] = quantize_out(f_n(…f_1(dequantize_in(q))))
 *
 * built by the reference kernels' prepareLookupTable (DequantizeLinear's float32 product,
 * QuantizeLinear's float32 division and ties to even), so the step computes exactly what the float
 * pipeline computes, with one load per element. Requantization (a DequantizeLinear →
 * QuantizeLinear pair with new params) is the empty chain.
 */
import { broadcastShapes, prepareLookupTable } from "../../kernels/reference/index.js";
import { unaryByteTable, applyUnaryTable, newInt8Data } from "../../kernels/int8/tables.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { FloatFunction } from "../compile/unary_functions.js";
import { NotInteger, runtimeQuantizedInput, type QuantizedOp } from "../compile/quantized_op.js";
import type { Int8DType } from "../../kernels/reference/common.js";
import type { Step } from "../program.js";
import type { Int8Backend } from "../backend.js";
import { type BuildContext, attachOutputTable, int8DType, integerStep, nodeNames, perTensorQParams, singleOutput } from "./context.js";

export interface LookupChain {
  fn: FloatFunction;
  /** Input slot of the first node that carries the tensor. */
  dataInput: number;
  /** Dims of constant operands, which may raise the output's rank by broadcasting. */
  constantDims: number[][];
  /** Op types in the chain, for the step's name. */
  opTypes: string[];
}

export function buildLookup(op: QuantizedOp, ctx: BuildContext, chain: LookupChain) {
  const x = runtimeQuantizedInput(op, chain.dataInput, "lookup table input");
  const out = singleOutput(op);
  const inQ = perTensorQParams(x.quant, "input");
  const outQ = perTensorQParams(out.quant, "output");
  let plan;
  try {
    plan = prepareLookupTable(chain.fn, inQ, outQ);
  } catch (e) {
    throw new NotInteger((e as Error).message);
  }
  const table = unaryByteTable(plan.inputDType, (q) => plan.table[q - plan.inputOffset]!);
  const outDType = int8DType(out.quant);
  // Size-1 constants only matter for the output's dims when they have more dims than the input.
  const rank = ctx.view.rankOf(x.value);
  const raise = chain.constantDims.filter((d) => d.length > 0 && (rank === undefined || d.length > rank));
  const name = chain.opTypes.length === 0 ? "Requantize" : `LookupTable(${chain.opTypes.join("+")})`;
  if (raise.length === 0) return tableStep(nodeNames(op), name, x.value, out.value, table, outDType, ctx.backend);
  return integerStep(ctx, op, name, [x.value], ([t]) => {
    if (t!.dtype !== x.quant.dtype) throw new Error(`input is ${t!.dtype}, expected ${x.quant.dtype}`);
    let dims = t!.dims;
    for (const d of raise) dims = broadcastShapes(dims, d, name);
    const data = newInt8Data(outDType, t!.data.length);
    applyUnaryTable(table, t!.data as Int8Array, data);
    return [{ dtype: outDType, dims: [...dims], data } as Tensor];
  });
}

/** A unary byte-table step: output = table[byte(input)], same dims. */
export function tableStep(
  nodes: string[], opType: string, input: string, output: string, table: Uint8Array, outDType: Int8DType,
  backend: Pick<Int8Backend, "newTensor" | "release">,
): Step {
  const step: Step = {
    nodes, opType, kind: "integer", inputs: [input], outputs: [output],
    run: ([t]) => {
      const y = backend.newTensor(outDType, t!.dims);
      applyUnaryTable(table, t!.data as Int8Array, y.data);
      return [y];
    },
    table: { kind: "unary", input, table, outDType },
  };
  attachOutputTable(step, backend);
  return step;
}
