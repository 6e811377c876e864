/**
 * Max pooling without the reference's per-window closures or data-dependent branches (pooling is memory-bound and runs in
 * JavaScript; the tests hold it equal to maxPool2dForwardReference). Same contract: ties go to
 * the first tap in row-major window order, padding never wins.
 */
import type { Pool2dGeometry } from "./geometry.js";

export function maxPool2dForward(x: Float32Array, g: Pool2dGeometry): { y: Float32Array; argmax: Int32Array } {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, kernelHeight: KH, kernelWidth: KW } = g;
  const planes = g.batch * g.inChannels;
  const y = new Float32Array(planes * OH * OW);
  const argmax = new Int32Array(planes * OH * OW);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const y0 = oh * g.strideH - g.padTop;
      for (let ow = 0; ow < OW; ow++, o++) {
        const x0 = ow * g.strideW - g.padLeft;
        let at = -1;
        for (let ki = 0; ki < KH; ki++) {
          const iy = y0 + ki * g.dilationH;
          if (iy < 0 || iy >= H) continue;
          const row = base + iy * W;
          for (let kj = 0; kj < KW; kj++) {
            const ix = x0 + kj * g.dilationW;
            if (ix < 0 || ix >= W) continue;
            const c = row + ix;
            if (at < 0) {
              at = c;
            } else {
              // Branch-free select of the index (mask = −1 when the tap is strictly larger):
              // comparisons of mixed data mispredict often, and ReLU outputs are full of ties.
              const m = -+(x[c]! > x[at]!);
              at = (c & m) | (at & ~m);
            }
          }
        }
        y[o] = at < 0 ? -Infinity : x[at]!;
        argmax[o] = at;
      }
    }
  }
  return { y, argmax };
}
