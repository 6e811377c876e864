/** Conv (ONNX semantics, 2-D: strides, pads, dilations, groups incl. depthwise) and its gradients. */
import { conv2dGeometry, type Conv2dOptions } from "../kernels/float/geometry.js";
import { floatKernels } from "./backend.js";
import { opResult, type Var } from "./tape.js";

/**
 * y = Conv(x [N, C, H, W], w [M, C/group, KH, KW], bias [M] | null).
 * Gradients: ∂x is the transposed convolution of ∂y with w, ∂w the correlation of x with ∂y,
 * ∂bias the sum of ∂y over batch and positions (all computed by the float kernels).
 */
export function conv2d(x: Var, w: Var, bias: Var | null, opts: Conv2dOptions = {}): Var {
  const g = conv2dGeometry(x.dims, w.dims, opts);
  if (bias && (bias.dims.length !== 1 || bias.dims[0] !== g.outChannels)) {
    throw new Error(`conv bias must have dims [${g.outChannels}], got [${bias.dims.join(", ")}]`);
  }
  const kernels = floatKernels();
  const y = kernels.conv2dForward(x.data, w.data, bias ? bias.data : null, g);
  const parents = bias ? [x, w, bias] : [x, w];
  return opResult(y, [g.batch, g.outChannels, g.outHeight, g.outWidth], parents, (dy) => {
    if (x.requiresGrad || w.requiresGrad) {
      const { dx, dw } = floatKernels().conv2dBackward(x.data, w.data, dy, g, { input: x.requiresGrad, weight: w.requiresGrad });
      if (dx) x.accumulateGrad(dx, true);
      if (dw) w.accumulateGrad(dw, true);
    }
    if (bias?.requiresGrad) {
      const db = new Float32Array(g.outChannels);
      const plane = g.outHeight * g.outWidth;
      for (let n = 0; n < g.batch; n++) {
        for (let m = 0; m < g.outChannels; m++) {
          let s = 0;
          const base = (n * g.outChannels + m) * plane;
          for (let p = 0; p < plane; p++) s += dy[base + p]!;
          db[m]! += s;
        }
      }
      bias.accumulateGrad(db, true);
    }
  });
}
