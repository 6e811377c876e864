/** Row-major index arithmetic shared by the constant evaluators: strides, broadcasting, copying. */
import { arrayTypeOf, sizeOf, type DType, type Tensor, type TypedArray } from "../../tensor/tensor.js";

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i]!;
  }
  return s;
}

/** Multidirectional (numpy) broadcasting of several shapes; throws naming the shapes when they clash. */
export function broadcastDims(shapes: readonly (readonly number[])[], where: string): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else if (out[o] !== d) {
        throw new Error(`${where}: shapes ${shapes.map((x) => `[${x.join(",")}]`).join(" and ")} do not broadcast`);
      }
    }
  }
  return out;
}

/** For each flat index of `out`, the flat index into a tensor of `dims` broadcast to `out`. */
export function broadcastIndexMap(dims: readonly number[], out: readonly number[]): Int32Array {
  const n = sizeOf(out);
  const map = new Int32Array(n);
  const rank = out.length;
  const inStrides = stridesOf(dims);
  // Stride 0 along broadcast axes, so the same element is read again.
  const eff = new Array<number>(rank).fill(0);
  for (let i = 0; i < dims.length; i++) {
    const o = rank - dims.length + i;
    eff[o] = dims[i] === 1 ? 0 : inStrides[i]!;
  }
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let f = 0; f < n; f++) {
    map[f] = src;
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]!++;
      src += eff[a]!;
      if (idx[a]! < out[a]!) break;
      src -= eff[a]! * idx[a]!;
      idx[a] = 0;
    }
  }
  return map;
}

/** Calls `f` with each multi-index of `dims` in row-major order. */
export function forEachIndex(dims: readonly number[], f: (idx: readonly number[], flat: number) => void): void {
  const n = sizeOf(dims);
  const idx = new Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(idx, flat);
    for (let a = dims.length - 1; a >= 0; a--) {
      idx[a]!++;
      if (idx[a]! < dims[a]!) break;
      idx[a] = 0;
    }
  }
}

/** A new tensor of `dims` whose element i is element `source(i)` of `t` (any dtype, strings too). */
export function gatherElements(t: Tensor, dims: readonly number[], source: (flat: number) => number): Tensor {
  const n = sizeOf(dims);
  if (Array.isArray(t.data)) {
    const src = t.data;
    return { dtype: t.dtype, dims: [...dims], data: Array.from({ length: n }, (_, i) => src[source(i)]!) };
  }
  const src = t.data as TypedArray;
  const out = new (arrayTypeOf(t.dtype))(n) as TypedArray;
  for (let i = 0; i < n; i++) (out as unknown as unknown[])[i] = (src as unknown as unknown[])[source(i)];
  return { dtype: t.dtype, dims: [...dims], data: out };
}

/** Same elements, new dims (no copy). */
export function withDims(t: Tensor, dims: readonly number[]): Tensor {
  return { dtype: t.dtype, dims: [...dims], data: t.data };
}

export function emptyOf(dtype: DType, dims: readonly number[]): Tensor {
  if (dtype === "string") return { dtype, dims: [...dims], data: new Array<string>(sizeOf(dims)).fill("") };
  return { dtype, dims: [...dims], data: new (arrayTypeOf(dtype))(sizeOf(dims)) };
}
