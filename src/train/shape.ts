/** Flatten, Reshape and Concat (ONNX semantics). Their gradients only move values back. */
import { sizeOf } from "../tensor/tensor.js";
import { opResult, type Var } from "./tape.js";

/** ONNX Flatten: [d0 … d(axis−1)] and [d(axis) …] become the two axes of a matrix. */
export function flatten(x: Var, axis = 1): Var {
  const r = x.dims.length;
  if (!Number.isInteger(axis) || axis < -r || axis > r) throw new Error(`flatten axis ${axis} is out of range for rank ${r}`);
  const a = axis < 0 ? axis + r : axis;
  const outer = sizeOf(x.dims.slice(0, a));
  return reshape(x, [outer, x.size / (outer || 1)]);
}

/**
 * ONNX Reshape (allowzero = 0): a 0 copies the input's dim at that position, one −1 is inferred.
 * The data is shared, not copied: Vars are never modified in place.
 */
export function reshape(x: Var, shape: readonly number[]): Var {
  const dims = shape.map((d, i) => {
    if (d === 0) {
      if (i >= x.dims.length) throw new Error(`reshape: 0 at position ${i} has no input dim to copy`);
      return x.dims[i]!;
    }
    return d;
  });
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1 || dims.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new Error(`reshape: invalid target shape [${shape.join(", ")}]`);
  }
  if (unknown === 1) {
    const known = sizeOf(dims.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot infer −1 in [${shape.join(", ")}] for ${x.size} values`);
    dims[dims.indexOf(-1)] = x.size / known;
  }
  if (sizeOf(dims) !== x.size) {
    throw new Error(`reshape: [${x.dims.join(", ")}] (${x.size} values) cannot become [${dims.join(", ")}]`);
  }
  return opResult(x.data, dims, [x], (dy) => x.accumulateGrad(dy));
}

/** ONNX Concat along `axis`; each input's gradient is its slice of the output gradient. */
export function concat(xs: readonly Var[], axis: number): Var {
  if (xs.length === 0) throw new Error("concat needs at least one input");
  const first = xs[0]!;
  const r = first.dims.length;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) throw new Error(`concat axis ${axis} is out of range for rank ${r}`);
  const a = axis < 0 ? axis + r : axis;
  for (const x of xs) {
    if (x.dims.length !== r || x.dims.some((d, i) => i !== a && d !== first.dims[i])) {
      throw new Error(`concat: [${x.dims.join(", ")}] does not match [${first.dims.join(", ")}] outside axis ${a}`);
    }
  }
  const outer = sizeOf(first.dims.slice(0, a));
  const inner = sizeOf(first.dims.slice(a + 1));
  const total = xs.reduce((s, x) => s + x.dims[a]!, 0);
  const dims = [...first.dims];
  dims[a] = total;
  const y = new Float32Array(sizeOf(dims));
  const row = total * inner;
  let offset = 0;
  const offsets: number[] = [];
  for (const x of xs) {
    const chunk = x.dims[a]! * inner;
    offsets.push(offset);
    for (let o = 0; o < outer; o++) y.set(x.data.subarray(o * chunk, (o + 1) * chunk), o * row + offset);
    offset += chunk;
  }
  return opResult(y, dims, xs, (dy) => {
    xs.forEach((x, i) => {
      if (!x.requiresGrad) return;
      const chunk = x.dims[a]! * inner;
      const g = new Float32Array(x.size);
      for (let o = 0; o < outer; o++) g.set(dy.subarray(o * row + offsets[i]!, o * row + offsets[i]! + chunk), o * chunk);
      x.accumulateGrad(g, true);
    });
  });
}
