/**
 * The reference kernels that move values or average them (Concat, nearest Resize,
 * GlobalAveragePool) on the WebAssembly module, for the same prepared plans and with the same
 * results bit for bit: the reference computes requantization value by value (requantizeValue);
 * here it is a 256-entry byte table filled by that same function, and the loops walk rows instead
 * of an odometer. Anything outside the fast cases calls the reference kernel.
 */
import {
  type ConcatPlan, type GlobalAveragePoolPlan, type Int8Tensor, type RequantizePlan, type ResizePlan, concat, globalAveragePool,
  int8Data, isIdentityRequantize, requantizeValue, resize, roundingDivide,
} from "../reference/index.js";
import { clamp } from "../reference/common.js";
import { multiplyWithHeadroom } from "../../quant/fixed_point.js";
import { normalizeAxis } from "../../quant/axis.js";
import type { Tensor } from "../../tensor/tensor.js";
import { type ByteTable, unaryByteTable } from "./tables.js";
import type { Int8Wasm } from "./wasm.js";

/** The requantization as a byte table, or undefined for the identity. */
export function requantizeByteTable(plan: RequantizePlan): ByteTable | undefined {
  if (isIdentityRequantize(plan)) return undefined;
  return unaryByteTable(plan.inputDType, (q) => requantizeValue(plan, q));
}

// Each reads and writes resident tensors (wasm.ts).

function tableInMemory(wasm: Int8Wasm, table: ByteTable | undefined): number {
  if (!table) return 0;
  const at = wasm.persistent(256);
  wasm.u8.set(table, at);
  return at;
}

export function wasmConcat(wasm: Int8Wasm, plan: ConcatPlan): (inputs: readonly Tensor[]) => Int8Tensor {
  const tables = plan.inputs.map((p) => tableInMemory(wasm, requantizeByteTable(p)));
  return (inputs) => {
    if (inputs.length !== plan.inputs.length) return concat(plan, inputs);
    const first = inputs[0]!;
    const rank = first.dims.length;
    const axis = normalizeAxis(plan.axis, rank);
    for (const [i, t] of inputs.entries()) {
      if (t.dtype !== plan.inputs[i]!.inputDType || t.dims.length !== rank || t.dims.some((d, k) => k !== axis && d !== first.dims[k])) {
        return concat(plan, inputs);
      }
    }
    const outDims = [...first.dims];
    outDims[axis] = inputs.reduce((s, t) => s + t.dims[axis]!, 0);
    const y = wasm.newTensor(plan.inputs[0]!.outputDType, outDims);
    let outer = 1;
    for (let k = 0; k < axis; k++) outer *= first.dims[k]!;
    let inner = 1;
    for (let k = axis + 1; k < rank; k++) inner *= first.dims[k]!;
    wasm.beginCall();
    try {
      const at = inputs.map((t, i) => wasm.putBytes(int8Data(t, `concat input ${i}`)));
      let o = wasm.offsetOf(y.data)!;
      for (let outerIndex = 0; outerIndex < outer; outerIndex++) {
        inputs.forEach((t, i) => {
          const block = t.dims[axis]! * inner;
          wasm.exports.mapBytes(at[i]! + outerIndex * block, o, block, tables[i]!);
          o += block;
        });
      }
    } finally {
      wasm.endCall();
    }
    return y;
  };
}

export function wasmResize(wasm: Int8Wasm, plan: ResizePlan): (x: Tensor) => Int8Tensor {
  const rank = plan.inputDims.length;
  const planar = plan.mode === "nearest" && rank >= 2 &&
    plan.nearestIndex.slice(0, rank - 2).every((t, axis) => t.length === plan.inputDims[axis] && t.every((v, i) => v === i));
  if (!planar) return (x) => resize(plan, x);
  const table = tableInMemory(wasm, requantizeByteTable(plan.requantize));
  const rows = wasm.persistentInt32(plan.nearestIndex[rank - 2]!);
  const cols = wasm.persistentInt32(plan.nearestIndex[rank - 1]!);
  const inH = plan.inputDims[rank - 2]!;
  const inW = plan.inputDims[rank - 1]!;
  const outH = plan.outputDims[rank - 2]!;
  const outW = plan.outputDims[rank - 1]!;
  return (x) => {
    if (x.dtype !== plan.inputDType || x.dims.length !== rank || x.dims.some((d, k) => d !== plan.inputDims[k])) return resize(plan, x);
    const y = wasm.newTensor(plan.outputDType, plan.outputDims);
    wasm.beginCall();
    try {
      const src = wasm.putBytes(int8Data(x, "resize input"));
      wasm.exports.resizeNearest(src, x.data.length / (inH * inW), inH, inW, rows, cols, outH, outW, table, wasm.offsetOf(y.data)!);
    } finally {
      wasm.endCall();
    }
    return y;
  };
}

export function wasmGlobalAveragePool(wasm: Int8Wasm, plan: GlobalAveragePoolPlan): (x: Tensor) => Int8Tensor {
  const r = plan.rescale;
  return (x) => {
    if (x.dtype !== r.inputDType || x.dims.length < 3) return globalAveragePool(plan, x);
    const data = int8Data(x, "globalAveragePool input");
    const planes = x.dims[0]! * x.dims[1]!;
    const size = planes === 0 ? 0 : data.length / planes;
    if (size === 0 || (plan.spatialSize !== 0 && size !== plan.spatialSize)) return globalAveragePool(plan, x);
    const y = wasm.newTensor(r.outputDType, [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)]);
    const z = r.inputZeroPoint;
    const m = r.sameParams ? undefined : r.multipliers[size - 1]!;
    wasm.beginCall();
    try {
      const src = wasm.putBytes(data);
      const sums = wasm.arena(planes * 4);
      wasm.exports.planeSums(src, size, x.dtype === "int8" ? 1 : 0, 0, planes, sums);
      const view = wasm.i32;
      for (let p = 0; p < planes; p++) {
        const acc = view[(sums >> 2) + p]! - z * size;
        const scaled = m ? multiplyWithHeadroom(acc, m) : roundingDivide(acc, size);
        y.data[p] = clamp(r.outputZeroPoint + scaled, r.qmin, r.qmax);
      }
    } finally {
      wasm.endCall();
    }
    return y;
  };
}
