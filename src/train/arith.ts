/**
 * Add and Mul with numpy (ONNX multidirectional) broadcasting. The gradient of a broadcast input
 * is the output gradient summed over the axes it was broadcast along.
 */
import { sizeOf } from "../tensor/tensor.js";
import { opResult, type Var } from "./tape.js";

/** Output dims of broadcasting `a` with `b` (right-aligned; each pair equal or one of them 1). */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`cannot broadcast [${a.join(", ")}] with [${b.join(", ")}]`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each output index, the index of the input value it reads under broadcasting. */
function broadcastIndex(inDims: readonly number[], outDims: readonly number[]): Int32Array {
  const rank = outDims.length;
  const dims = [...Array(rank - inDims.length).fill(1), ...inDims] as number[];
  const strides = new Array<number>(rank).fill(0);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = dims[i] === 1 ? 0 : s;
    s *= dims[i]!;
  }
  const n = sizeOf(outDims);
  const index = new Int32Array(n);
  const counter = new Array<number>(rank).fill(0);
  let at = 0;
  for (let o = 0; o < n; o++) {
    index[o] = at;
    for (let i = rank - 1; i >= 0; i--) {
      counter[i]!++;
      at += strides[i]!;
      if (counter[i]! < outDims[i]!) break;
      at -= strides[i]! * counter[i]!;
      counter[i] = 0;
    }
  }
  return index;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function binary(a: Var, b: Var, f: (x: number, y: number) => number, grads: (ga: Float32Array | null, gb: Float32Array | null, dy: Float32Array, ia: (o: number) => number, ib: (o: number) => number) => void): Var {
  const dims = broadcastDims(a.dims, b.dims);
  const ia = same(a.dims, dims) ? null : broadcastIndex(a.dims, dims);
  const ib = same(b.dims, dims) ? null : broadcastIndex(b.dims, dims);
  const y = new Float32Array(sizeOf(dims));
  const ad = a.data;
  const bd = b.data;
  for (let o = 0; o < y.length; o++) y[o] = f(ad[ia ? ia[o]! : o]!, bd[ib ? ib[o]! : o]!);
  return opResult(y, dims, [a, b], (dy) => {
    const ga = a.requiresGrad ? new Float32Array(a.size) : null;
    const gb = b.requiresGrad ? new Float32Array(b.size) : null;
    grads(ga, gb, dy, (o) => (ia ? ia[o]! : o), (o) => (ib ? ib[o]! : o));
    if (ga) a.accumulateGrad(ga, true);
    if (gb) b.accumulateGrad(gb, true);
  });
}

export function add(a: Var, b: Var): Var {
  return binary(a, b, (x, y) => x + y, (ga, gb, dy, ia, ib) => {
    for (let o = 0; o < dy.length; o++) {
      if (ga) ga[ia(o)]! += dy[o]!;
      if (gb) gb[ib(o)]! += dy[o]!;
    }
  });
}

export function mul(a: Var, b: Var): Var {
  const ad = a.data;
  const bd = b.data;
  return binary(a, b, (x, y) => x * y, (ga, gb, dy, ia, ib) => {
    for (let o = 0; o < dy.length; o++) {
      const i = ia(o);
      const j = ib(o);
      if (ga) ga[i]! += dy[o]! * bd[j]!;
      if (gb) gb[j]! += dy[o]! * ad[i]!;
    }
  });
}
