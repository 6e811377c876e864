/**
 * Quantized Concat: every input is requantized to the output's params (requantize.ts), then the
 * pieces are laid side by side along `axis`. Inputs whose params already equal the output's are
 * copied unchanged (quantizers usually arrange this, so Concat is then pure data movement).
 */
import type { QParams } from "../../quant/qparams.js";
import { normalizeAxis } from "../../quant/axis.js";
import type { Tensor } from "../../tensor/tensor.js";
import { type Int8Tensor, int8Data, newInt8Tensor } from "./common.js";
import { type RequantizePlan, isIdentityRequantize, prepareRequantize, requantizeValue } from "./requantize.js";

export interface ConcatPlan {
  axis: number;
  inputs: RequantizePlan[];
}

export function prepareConcat(axis: number, inputs: readonly QParams[], output: QParams): ConcatPlan {
  if (!Number.isInteger(axis)) throw new Error(`concat: axis must be an integer, got ${axis}`);
  if (inputs.length === 0) throw new Error("concat: needs at least one input");
  return { axis, inputs: inputs.map((qp) => prepareRequantize(qp, output)) };
}

export function concat(plan: ConcatPlan, inputs: readonly Tensor[]): Int8Tensor {
  if (inputs.length !== plan.inputs.length) {
    throw new Error(`concat: the plan was prepared for ${plan.inputs.length} inputs, got ${inputs.length}`);
  }
  const first = inputs[0]!;
  const rank = first.dims.length;
  const axis = normalizeAxis(plan.axis, rank);
  let axisTotal = 0;
  inputs.forEach((t, i) => {
    const p = plan.inputs[i]!;
    if (t.dtype !== p.inputDType) throw new Error(`concat: input ${i} is ${t.dtype} but the plan was prepared for ${p.inputDType}`);
    int8Data(t, `concat input ${i}`);
    if (t.dims.length !== rank) throw new Error(`concat: input ${i} has rank ${t.dims.length}, input 0 has rank ${rank}`);
    t.dims.forEach((d, k) => {
      if (k !== axis && d !== first.dims[k]) {
        throw new Error(`concat: input ${i} dims [${t.dims.join(", ")}] differ from input 0 [${first.dims.join(", ")}] off the axis ${axis}`);
      }
    });
    axisTotal += t.dims[axis]!;
  });
  const outDims = [...first.dims];
  outDims[axis] = axisTotal;
  const y = newInt8Tensor(plan.inputs[0]!.outputDType, outDims);
  let outer = 1;
  for (let k = 0; k < axis; k++) outer *= first.dims[k]!;
  let inner = 1;
  for (let k = axis + 1; k < rank; k++) inner *= first.dims[k]!;
  // Each input contributes a block of dims[axis]·inner contiguous values per outer index.
  let o = 0;
  for (let outerIndex = 0; outerIndex < outer; outerIndex++) {
    inputs.forEach((t, i) => {
      const p = plan.inputs[i]!;
      const data = t.data as Int8Array | Uint8Array;
      const block = t.dims[axis]! * inner;
      const start = outerIndex * block;
      if (isIdentityRequantize(p)) {
        y.data.set(data.subarray(start, start + block), o);
      } else {
        for (let j = 0; j < block; j++) y.data[o + j] = requantizeValue(p, data[start + j]!);
      }
      o += block;
    });
  }
  return y;
}
