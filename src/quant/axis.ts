/**
 * Per-axis addressing of a row-major tensor. Viewing dims as [outer, channels, inner] around `axis`,
 * the flat index of element (o, c, i) is (o·channels + c)·inner + i, so a loop over o, c, i visits
 * the data in memory order while knowing each element's channel c without a division per element.
 */

export interface AxisLayout {
  /** Product of the dims before the axis. */
  outer: number;
  /** dims[axis]: the number of channels, i.e. of scales/zero points. */
  channels: number;
  /** Product of the dims after the axis. */
  inner: number;
}

/** ONNX-style axis: an integer in [−rank, rank − 1]; negative counts from the end. Returns it in [0, rank). */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`axis ${axis} is out of range for a tensor of rank ${rank} (expected an integer in [${-rank}, ${rank - 1}])`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function checkDims(dims: readonly number[]): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`dims [${dims.join(", ")}] must be non-negative integers`);
  }
}

export function axisLayout(dims: readonly number[], axis: number): AxisLayout {
  checkDims(dims);
  const a = normalizeAxis(axis, dims.length);
  let outer = 1;
  let inner = 1;
  for (let k = 0; k < a; k++) outer *= dims[k]!;
  for (let k = a + 1; k < dims.length; k++) inner *= dims[k]!;
  return { outer, channels: dims[a]!, inner };
}
