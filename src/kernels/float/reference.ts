/**
 * Plain-TypeScript float kernels: the specification the WebAssembly kernels are tested against.
 * Written for clarity, not speed: direct loops, sums accumulated in float64 (JavaScript numbers)
 * and rounded to float32 once when stored.
 *
 * Layouts are row-major: matrices [rows, cols] with a leading dimension (`lda` = the stride between
 * rows as stored), images NCHW, conv weights [M, C/group, KH, KW] (ONNX Conv).
 */
import type { Conv2dGeometry, Pool2dGeometry } from "./geometry.js";

/**
 * C[M×N] = (accumulate ? C : 0) + op(A)·op(B), where op(A)(i,k) = A[i·lda + k] or, if transA,
 * A[k·lda + i] (likewise B). This is BLAS sgemm with alpha = 1 and beta ∈ {0, 1}.
 */
export function gemmReference(
  m: number, n: number, k: number,
  a: Float32Array, lda: number, transA: boolean,
  b: Float32Array, ldb: number, transB: boolean,
  c: Float32Array, ldc: number, accumulate: boolean,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = accumulate ? c[i * ldc + j]! : 0;
      let dot = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i]! : a[i * lda + p]!;
        const bv = transB ? b[j * ldb + p]! : b[p * ldb + j]!;
        dot += av * bv;
      }
      s += dot;
      c[i * ldc + j] = s;
    }
  }
}

/**
 * Column matrix of a batch for the channels [c0, c0 + cCount) (one convolution group):
 * row r = (c·KH + ki)·KW + kj, column q = n·OH·OW + oh·OW + ow, zero where the window is in the
 * padding. `col` has ldcol = N·OH·OW columns. Same layout as assembly/float/im2col.ts.
 */
export function im2colReference(x: Float32Array, g: Conv2dGeometry, c0: number, cCount: number, col: Float32Array): void {
  const { batch, inChannels: C, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW, outHeight: OH, outWidth: OW } = g;
  const ldcol = batch * OH * OW;
  for (let c = 0; c < cCount; c++) {
    for (let ki = 0; ki < KH; ki++) {
      for (let kj = 0; kj < KW; kj++) {
        const r = (c * KH + ki) * KW + kj;
        for (let n = 0; n < batch; n++) {
          for (let oh = 0; oh < OH; oh++) {
            const iy = oh * g.strideH - g.padTop + ki * g.dilationH;
            for (let ow = 0; ow < OW; ow++) {
              const ix = ow * g.strideW - g.padLeft + kj * g.dilationW;
              const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
              col[r * ldcol + (n * OH + oh) * OW + ow] = inside ? x[((n * C + c0 + c) * H + iy) * W + ix]! : 0;
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2colReference: dx[...] += each column entry that im2col copied from there. */
export function col2imReference(col: Float32Array, g: Conv2dGeometry, c0: number, cCount: number, dx: Float32Array): void {
  const { batch, inChannels: C, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW, outHeight: OH, outWidth: OW } = g;
  const ldcol = batch * OH * OW;
  for (let c = 0; c < cCount; c++) {
    for (let ki = 0; ki < KH; ki++) {
      for (let kj = 0; kj < KW; kj++) {
        const r = (c * KH + ki) * KW + kj;
        for (let n = 0; n < batch; n++) {
          for (let oh = 0; oh < OH; oh++) {
            const iy = oh * g.strideH - g.padTop + ki * g.dilationH;
            if (iy < 0 || iy >= H) continue;
            for (let ow = 0; ow < OW; ow++) {
              const ix = ow * g.strideW - g.padLeft + kj * g.dilationW;
              if (ix < 0 || ix >= W) continue;
              dx[((n * C + c0 + c) * H + iy) * W + ix]! += col[r * ldcol + (n * OH + oh) * OW + ow]!;
            }
          }
        }
      }
    }
  }
}

/** Visits every (output position, weight tap, input position) triple of a convolution. */
function forEachTap(g: Conv2dGeometry, visit: (yIndex: number, wIndex: number, xIndex: number) => void): void {
  const Cg = g.inChannels / g.group;
  const Mg = g.outChannels / g.group;
  for (let n = 0; n < g.batch; n++) {
    for (let m = 0; m < g.outChannels; m++) {
      const grp = Math.floor(m / Mg);
      for (let oh = 0; oh < g.outHeight; oh++) {
        for (let ow = 0; ow < g.outWidth; ow++) {
          const yIndex = ((n * g.outChannels + m) * g.outHeight + oh) * g.outWidth + ow;
          for (let c = 0; c < Cg; c++) {
            for (let ki = 0; ki < g.kernelHeight; ki++) {
              const iy = oh * g.strideH - g.padTop + ki * g.dilationH;
              if (iy < 0 || iy >= g.inHeight) continue;
              for (let kj = 0; kj < g.kernelWidth; kj++) {
                const ix = ow * g.strideW - g.padLeft + kj * g.dilationW;
                if (ix < 0 || ix >= g.inWidth) continue;
                const wIndex = ((m * Cg + c) * g.kernelHeight + ki) * g.kernelWidth + kj;
                const xIndex = ((n * g.inChannels + grp * Cg + c) * g.inHeight + iy) * g.inWidth + ix;
                visit(yIndex, wIndex, xIndex);
              }
            }
          }
        }
      }
    }
  }
}

/** y[n,m,oh,ow] = bias[m] + Σ_{c,ki,kj} w[m,c,ki,kj]·x[n, group(m)·C/group + c, ih, iw]  (ONNX Conv). */
export function conv2dForwardReference(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry): Float32Array {
  const ySize = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const acc = new Float64Array(ySize);
  forEachTap(g, (yi, wi, xi) => { acc[yi]! += w[wi]! * x[xi]!; });
  const y = new Float32Array(ySize);
  const plane = g.outHeight * g.outWidth;
  for (let i = 0; i < ySize; i++) y[i] = acc[i]! + (bias ? bias[Math.floor(i / plane) % g.outChannels]! : 0);
  return y;
}

/** ∂L/∂x = Σ over the taps that read x of w·∂L/∂y (the transposed convolution). */
export function conv2dBackwardDataReference(dy: Float32Array, w: Float32Array, g: Conv2dGeometry): Float32Array {
  const acc = new Float64Array(g.batch * g.inChannels * g.inHeight * g.inWidth);
  forEachTap(g, (yi, wi, xi) => { acc[xi]! += w[wi]! * dy[yi]!; });
  return Float32Array.from(acc);
}

/** ∂L/∂w = Σ over the taps that use w of x·∂L/∂y. */
export function conv2dBackwardFilterReference(x: Float32Array, dy: Float32Array, g: Conv2dGeometry): Float32Array {
  const acc = new Float64Array(g.outChannels * (g.inChannels / g.group) * g.kernelHeight * g.kernelWidth);
  forEachTap(g, (yi, wi, xi) => { acc[wi]! += x[xi]! * dy[yi]!; });
  return Float32Array.from(acc);
}

/** ReLU: y = x > 0 ? x : 0 (so NaN and −0 give +0). */
export function reluForwardReference(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! > 0 ? x[i]! : 0;
  return y;
}

/** ReLU gradient: dx = x > 0 ? dy : 0 (the derivative at 0 taken as 0, as PyTorch does). */
export function reluBackwardReference(x: Float32Array, dy: Float32Array): Float32Array {
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0;
  return dx;
}

/** Visits every pooling window: its output index and the input indices inside the image. */
function forEachWindow(g: Pool2dGeometry, visit: (yIndex: number, xIndices: number[]) => void): void {
  const taps: number[] = [];
  for (let nc = 0; nc < g.batch * g.inChannels; nc++) {
    for (let oh = 0; oh < g.outHeight; oh++) {
      for (let ow = 0; ow < g.outWidth; ow++) {
        taps.length = 0;
        for (let ki = 0; ki < g.kernelHeight; ki++) {
          const iy = oh * g.strideH - g.padTop + ki * g.dilationH;
          if (iy < 0 || iy >= g.inHeight) continue;
          for (let kj = 0; kj < g.kernelWidth; kj++) {
            const ix = ow * g.strideW - g.padLeft + kj * g.dilationW;
            if (ix < 0 || ix >= g.inWidth) continue;
            taps.push((nc * g.inHeight + iy) * g.inWidth + ix);
          }
        }
        visit((nc * g.outHeight + oh) * g.outWidth + ow, taps);
      }
    }
  }
}

/**
 * MaxPool: y = max over the window (padding never wins, as in ONNX). `argmax` receives the input
 * index of the winner (the first one on ties), which routes the gradient in the backward pass.
 */
export function maxPool2dForwardReference(x: Float32Array, g: Pool2dGeometry): { y: Float32Array; argmax: Int32Array } {
  const size = g.batch * g.inChannels * g.outHeight * g.outWidth;
  const y = new Float32Array(size);
  const argmax = new Int32Array(size);
  forEachWindow(g, (yi, taps) => {
    let best = -Infinity;
    let at = -1;
    for (const t of taps) if (x[t]! > best || at < 0) { best = x[t]!; at = t; }
    y[yi] = best;
    argmax[yi] = at;
  });
  return { y, argmax };
}

/** dx[argmax[i]] += dy[i]. */
export function maxPool2dBackwardReference(dy: Float32Array, argmax: Int32Array, inputSize: number): Float32Array {
  const dx = new Float32Array(inputSize);
  for (let i = 0; i < dy.length; i++) dx[argmax[i]!]! += dy[i]!;
  return dx;
}

/**
 * AveragePool: the window sum divided by the window area (countIncludePad) or by the number of
 * taps inside the image (ONNX count_include_pad = 0, the default).
 */
export function avgPool2dForwardReference(x: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): Float32Array {
  const y = new Float32Array(g.batch * g.inChannels * g.outHeight * g.outWidth);
  forEachWindow(g, (yi, taps) => {
    let s = 0;
    for (const t of taps) s += x[t]!;
    y[yi] = s / (countIncludePad ? g.kernelHeight * g.kernelWidth : taps.length);
  });
  return y;
}

export function avgPool2dBackwardReference(dy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): Float32Array {
  const dx = new Float32Array(g.batch * g.inChannels * g.inHeight * g.inWidth);
  forEachWindow(g, (yi, taps) => {
    const share = dy[yi]! / (countIncludePad ? g.kernelHeight * g.kernelWidth : taps.length);
    for (const t of taps) dx[t]! += share;
  });
  return dx;
}
