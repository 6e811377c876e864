/** MaxPool, AveragePool and GlobalAveragePool (ONNX semantics, 2-D, ceil_mode 0) with gradients. */
import { pool2dGeometry, type Window2dOptions } from "../kernels/float/geometry.js";
import { avgPool2dBackwardReference, avgPool2dForwardReference } from "../kernels/float/reference.js";
import { floatKernels } from "./backend.js";
import { opResult, type Var } from "./tape.js";

/** The gradient flows to the (first) maximum of each window. */
export function maxPool2d(x: Var, kernel: readonly number[], opts: Window2dOptions = {}): Var {
  const g = pool2dGeometry(x.dims, kernel, opts);
  const { y, argmax } = floatKernels().maxPool2dForward(x.data, g);
  return opResult(y, [g.batch, g.inChannels, g.outHeight, g.outWidth], [x], (dy) => {
    x.accumulateGrad(floatKernels().maxPool2dBackward(dy, argmax, g), true);
  });
}

export interface AvgPoolOptions extends Window2dOptions {
  /** Divide by the full window area even where it overlaps padding (ONNX count_include_pad). */
  countIncludePad?: boolean;
}

/** Each window's gradient is shared equally among the taps it averaged. */
export function avgPool2d(x: Var, kernel: readonly number[], opts: AvgPoolOptions = {}): Var {
  const g = pool2dGeometry(x.dims, kernel, opts);
  const include = opts.countIncludePad ?? false;
  const y = avgPool2dForwardReference(x.data, g, include);
  return opResult(y, [g.batch, g.inChannels, g.outHeight, g.outWidth], [x], (dy) => {
    x.accumulateGrad(avgPool2dBackwardReference(dy, g, include), true);
  });
}

/** Mean over all spatial positions: [N, C, ...] → [N, C, 1, ...]. */
export function globalAvgPool(x: Var): Var {
  if (x.dims.length < 3) throw new Error(`globalAvgPool needs [N, C, spatial...], got [${x.dims.join(", ")}]`);
  const planes = x.dims[0]! * x.dims[1]!;
  const area = x.size / planes;
  const y = new Float32Array(planes);
  for (let p = 0; p < planes; p++) {
    let s = 0;
    for (let i = 0; i < area; i++) s += x.data[p * area + i]!;
    y[p] = s / area;
  }
  const dims = [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)];
  return opResult(y, dims, [x], (dy) => {
    const dx = new Float32Array(x.size);
    for (let p = 0; p < planes; p++) dx.fill(dy[p]! / area, p * area, (p + 1) * area);
    x.accumulateGrad(dx, true);
  });
}
