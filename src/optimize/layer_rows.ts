/**
 * A linear layer's input seen as the rows of a matrix product: for a Conv, the im2col patches
 * (one row per output position, holding every input channel's kernel window, zeros in the
 * padding); for Gemm/MatMul, the input's rows. Then the layer's output at a position is W·row
 * (per group), which is what bias correction averages and AdaRound reconstructs.
 *
 * Row layout: element c·taps + t is input channel c at kernel tap t (t = ky·kW + kx), so a weight
 * element with input channel inIndex[i] and tap i mod taps multiplies row[inIndex[i]·taps + i mod taps],
 * whatever the group (LinearLayer's inIndex already accounts for it).
 */
import { intAttr, intsAttr, stringAttr } from "../graph/ir.js";
import { conv2dGeometry, type Conv2dGeometry } from "../kernels/float/geometry.js";
import type { Tensor } from "../tensor/tensor.js";
import type { LinearLayer } from "./linear_layer.js";

export interface RowGeometry {
  /** Values per row: inChannels · taps. */
  width: number;
  /** Kernel taps per input channel (1 for Gemm/MatMul). */
  taps: number;
  /** Rows in the batch this geometry was made for. */
  rows: number;
  /** Output positions per sample (OH·OW for a conv, 1 for Gemm, the inner dims' product for MatMul). */
  rowsPerSample: number;
  conv?: Conv2dGeometry;
}

/** The row geometry of `layer` for an input batch of dims `xDims`. */
export function rowGeometry(layer: LinearLayer, xDims: readonly number[]): RowGeometry {
  if (layer.opType === "Conv") {
    const conv = convGeometry(layer, xDims);
    const taps = conv.kernelHeight * conv.kernelWidth;
    const rowsPerSample = conv.outHeight * conv.outWidth;
    return { width: conv.inChannels * taps, taps, rows: conv.batch * rowsPerSample, rowsPerSample, conv };
  }
  const features = xDims[xDims.length - 1]!;
  if (features !== layer.inChannels) throw new Error(`${layer.node.name}: input has ${features} features, weight expects ${layer.inChannels}`);
  const rows = xDims.slice(0, -1).reduce((a, d) => a * d, 1);
  const rowsPerSample = layer.opType === "Gemm" ? 1 : xDims.slice(1, -1).reduce((a, d) => a * d, 1);
  return { width: features, taps: 1, rows, rowsPerSample };
}

/** Conv geometry from the node's attributes (2-D, or 1-D as height 1), auto_pad resolved. */
function convGeometry(layer: LinearLayer, xDims: readonly number[]): Conv2dGeometry {
  const node = layer.node;
  const w = layer.weight.dims;
  const spatial = w.length - 2;
  if (spatial !== 1 && spatial !== 2) throw new Error(`${node.name}: only 1-D and 2-D convolutions are handled, this one is ${spatial}-D`);
  if (xDims.length !== w.length) throw new Error(`${node.name}: input of rank ${xDims.length} for a weight of rank ${w.length}`);
  const lift = (v: number[], one: number) => (spatial === 1 ? [one, ...v] : v);
  const x4 = spatial === 1 ? [xDims[0]!, xDims[1]!, 1, xDims[2]!] : [...xDims];
  const w4 = spatial === 1 ? [w[0]!, w[1]!, 1, w[2]!] : [...w];
  const strides = lift(intsAttr(node, "strides", Array(spatial).fill(1)), 1);
  const dilations = lift(intsAttr(node, "dilations", Array(spatial).fill(1)), 1);
  let pads = intsAttr(node, "pads", Array(2 * spatial).fill(0));
  if (spatial === 1) pads = [0, pads[0]!, 0, pads[1]!];
  const autoPad = stringAttr(node, "auto_pad", "NOTSET");
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    // ONNX Conv: output = ceil(in / stride); the total padding is split, the odd one at the end (UPPER) or start (LOWER).
    pads = [0, 0, 0, 0];
    for (let d = 0; d < 2; d++) {
      const size = x4[2 + d]!, k = w4[2 + d]!, s = strides[d]!, dil = dilations[d]!;
      const total = Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * dil + 1 - size);
      const small = Math.floor(total / 2);
      pads[d] = autoPad === "SAME_UPPER" ? small : total - small;
      pads[d + 2] = total - pads[d]!;
    }
  } else if (autoPad === "VALID") {
    pads = [0, 0, 0, 0];
  } else if (autoPad !== "NOTSET") {
    throw new Error(`${node.name}: unknown auto_pad ${autoPad}`);
  }
  return conv2dGeometry(x4, w4, { strides, dilations, pads, group: intAttr(node, "group", 1) });
}

/** Writes row `r` of the batch `x` into `out` (length geometry.width). */
export function readRow(x: Float32Array, g: RowGeometry, r: number, out: Float32Array | Float64Array): void {
  const conv = g.conv;
  if (!conv) {
    const base = r * g.width;
    for (let k = 0; k < g.width; k++) out[k] = x[base + k]!;
    return;
  }
  const { inChannels: C, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW, outWidth: OW } = conv;
  const n = Math.floor(r / g.rowsPerSample);
  const p = r % g.rowsPerSample;
  const oy = Math.floor(p / OW);
  const ox = p % OW;
  let k = 0;
  for (let c = 0; c < C; c++) {
    const plane = (n * C + c) * H * W;
    for (let ky = 0; ky < KH; ky++) {
      const iy = oy * conv.strideH - conv.padTop + ky * conv.dilationH;
      for (let kx = 0; kx < KW; kx++, k++) {
        const ix = ox * conv.strideW - conv.padLeft + kx * conv.dilationW;
        out[k] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[plane + iy * W + ix]! : 0;
      }
    }
  }
}

/** Adds every row of the batch into `sums` (length geometry.width): Σ_rows row. */
export function addRowSums(x: Float32Array, g: RowGeometry, sums: Float64Array): void {
  const conv = g.conv;
  if (!conv) {
    for (let r = 0; r < g.rows; r++) {
      const base = r * g.width;
      for (let k = 0; k < g.width; k++) sums[k]! += x[base + k]!;
    }
    return;
  }
  // Per (channel, tap): the sum of the input over the output positions whose window tap lands inside.
  const { batch: N, inChannels: C, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW, outHeight: OH, outWidth: OW } = conv;
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        let s = 0;
        for (let n = 0; n < N; n++) {
          const plane = (n * C + c) * H * W;
          for (let oy = 0; oy < OH; oy++) {
            const iy = oy * conv.strideH - conv.padTop + ky * conv.dilationH;
            if (iy < 0 || iy >= H) continue;
            for (let ox = 0; ox < OW; ox++) {
              const ix = ox * conv.strideW - conv.padLeft + kx * conv.dilationW;
              if (ix >= 0 && ix < W) s += x[plane + iy * W + ix]!;
            }
          }
        }
        sums[(c * KH + ky) * KW + kx]! += s;
      }
    }
  }
}

/** Checks a captured layer input is float32 and returns its values. */
export function layerInputValues(t: Tensor | undefined, layer: LinearLayer): Float32Array {
  if (!t) throw new Error(`${layer.node.name}: its input ${layer.node.inputs[0]} was not produced by the model`);
  if (t.dtype !== "float32") throw new Error(`${layer.node.name}: input ${layer.node.inputs[0]} is ${t.dtype}, not float32`);
  return t.data as Float32Array;
}
