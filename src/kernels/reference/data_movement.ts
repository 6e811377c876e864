/**
 * Data movement on quantized tensors. None of it touches values or params, so it is the same for
 * every dtype: Reshape, Flatten, Squeeze and Unsqueeze only change dims and return a view that
 * shares the input's data (row-major order is unchanged); Transpose reorders values into a new array.
 */
import { type Tensor, type TypedArray, sizeOf } from "../../tensor/tensor.js";
import { normalizeAxis } from "../../quant/axis.js";

function numericData(t: Tensor, what: string): TypedArray {
  if (Array.isArray(t.data)) throw new Error(`${what}: string tensors are not supported`);
  return t.data;
}

function view(t: Tensor, dims: number[], what: string): Tensor {
  if (sizeOf(dims) !== sizeOf(t.dims)) {
    throw new Error(`${what}: cannot view [${t.dims.join(", ")}] (${sizeOf(t.dims)} values) as [${dims.join(", ")}] (${sizeOf(dims)} values)`);
  }
  return { dtype: t.dtype, dims, data: t.data };
}

/**
 * ONNX Reshape: 0 copies the input's dim at that position (unless allowZero), −1 is inferred.
 * Returns a view sharing the data.
 */
export function reshape(t: Tensor, shape: readonly number[], allowZero = false): Tensor {
  const dims: number[] = [];
  let inferred = -1;
  shape.forEach((d, k) => {
    if (!Number.isInteger(d) || d < -1) throw new Error(`reshape: shape [${shape.join(", ")}] has an invalid entry ${d}`);
    if (d === -1) {
      if (inferred >= 0) throw new Error(`reshape: shape [${shape.join(", ")}] has more than one −1`);
      inferred = k;
      dims.push(1);
    } else if (d === 0 && !allowZero) {
      if (k >= t.dims.length) throw new Error(`reshape: shape [${shape.join(", ")}] copies dim ${k} (0) but the input has rank ${t.dims.length}`);
      dims.push(t.dims[k]!);
    } else {
      dims.push(d);
    }
  });
  if (inferred >= 0) {
    const known = sizeOf(dims);
    const total = sizeOf(t.dims);
    if (known === 0 || total % known !== 0) throw new Error(`reshape: cannot infer −1 in [${shape.join(", ")}] for ${total} values`);
    dims[inferred] = total / known;
  }
  return view(t, dims, "reshape");
}

/** ONNX Flatten: [d0 … d(axis−1)] × [d(axis) …] → 2-D view. */
export function flatten(t: Tensor, axis = 1): Tensor {
  const rank = t.dims.length;
  if (!Number.isInteger(axis) || axis < -rank || axis > rank) throw new Error(`flatten: axis ${axis} out of range for rank ${rank}`);
  const a = axis < 0 ? axis + rank : axis;
  return view(t, [sizeOf(t.dims.slice(0, a)), sizeOf(t.dims.slice(a))], "flatten");
}

/** ONNX Squeeze: drop the given axes (each of size 1), or every size-1 axis when none are given. */
export function squeeze(t: Tensor, axes?: readonly number[]): Tensor {
  const rank = t.dims.length;
  const drop = new Set((axes ?? t.dims.flatMap((d, k) => (d === 1 ? [k] : []))).map((a) => normalizeAxis(a, rank)));
  for (const a of drop) {
    if (t.dims[a] !== 1) throw new Error(`squeeze: axis ${a} has size ${t.dims[a]}, not 1`);
  }
  return view(t, t.dims.filter((_, k) => !drop.has(k)), "squeeze");
}

/** ONNX Unsqueeze: insert size-1 axes at the given positions of the output. */
export function unsqueeze(t: Tensor, axes: readonly number[]): Tensor {
  const outRank = t.dims.length + axes.length;
  const insert = new Set(axes.map((a) => normalizeAxis(a, outRank)));
  if (insert.size !== axes.length) throw new Error(`unsqueeze: axes [${axes.join(", ")}] repeat a position`);
  const dims: number[] = [];
  let next = 0;
  for (let k = 0; k < outRank; k++) dims.push(insert.has(k) ? 1 : t.dims[next++]!);
  return view(t, dims, "unsqueeze");
}

/** ONNX Transpose: output axis k is input axis perm[k] (default: reversed axes). Copies. */
export function transpose(t: Tensor, perm?: readonly number[]): Tensor {
  const data = numericData(t, "transpose");
  const rank = t.dims.length;
  const p = perm ?? t.dims.map((_, k) => rank - 1 - k);
  if (p.length !== rank || [...p].sort((a, b) => a - b).some((v, k) => v !== k)) {
    throw new Error(`transpose: perm [${p.join(", ")}] is not a permutation of 0…${rank - 1}`);
  }
  const outDims = p.map((a) => t.dims[a]!);
  const inStrides = new Array<number>(rank);
  let stride = 1;
  for (let k = rank - 1; k >= 0; k--) { inStrides[k] = stride; stride *= t.dims[k]!; }
  // Stride in the input of a step along each output axis.
  const strideOfOutAxis = p.map((a) => inStrides[a]!);
  const out = new (data.constructor as new (n: number) => TypedArray)(data.length);
  const counter = new Array<number>(rank).fill(0);
  let source = 0;
  for (let o = 0; o < data.length; o++) {
    out[o] = data[source]!;
    for (let k = rank - 1; k >= 0; k--) {
      counter[k] = counter[k]! + 1;
      source += strideOfOutAxis[k]!;
      if (counter[k]! < outDims[k]!) break;
      source -= strideOfOutAxis[k]! * counter[k]!;
      counter[k] = 0;
    }
  }
  return { dtype: t.dtype, dims: outDims, data: out };
}
