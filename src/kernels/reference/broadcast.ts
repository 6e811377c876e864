/**
 * Multidirectional (numpy-style) broadcasting, as ONNX defines it for Add/Mul/MatMul batch dims:
 * shapes are aligned at the end; each pair of dims must be equal or contain a 1.
 */

export function broadcastShapes(a: readonly number[], b: readonly number[], what = "broadcast"): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${what}: shapes [${a.join(", ")}] and [${b.join(", ")}] cannot be broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * For every flat (row-major) index of `outDims`, the flat index of the element of an input of
 * dims `inDims` that broadcasting maps to it.
 */
export function broadcastIndices(inDims: readonly number[], outDims: readonly number[]): Int32Array {
  const rank = outDims.length;
  if (inDims.length > rank) throw new Error(`cannot broadcast [${inDims.join(", ")}] to the lower rank [${outDims.join(", ")}]`);
  // Stride of each output axis in the input, 0 where the input is broadcast along it.
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = inDims[inDims.length - rank + i] ?? 1;
    const od = outDims[i]!;
    if (d !== od && d !== 1) throw new Error(`cannot broadcast [${inDims.join(", ")}] to [${outDims.join(", ")}]`);
    strides[i] = d === 1 ? 0 : stride;
    stride *= d;
  }
  let total = 1;
  for (const d of outDims) total *= d;
  const map = new Int32Array(total);
  const counter = new Array<number>(rank).fill(0);
  let index = 0;
  for (let o = 0; o < total; o++) {
    map[o] = index;
    // Advance the odometer over the output dims, keeping the input index in step.
    for (let axis = rank - 1; axis >= 0; axis--) {
      counter[axis]! += 1;
      index += strides[axis]!;
      if (counter[axis]! < outDims[axis]!) break;
      index -= strides[axis]! * counter[axis]!;
      counter[axis] = 0;
    }
  }
  return map;
}
