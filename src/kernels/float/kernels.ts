/**
 * The float kernel interface the training engine computes with, and its reference
 * implementation. The fast implementation (wasm.ts, WebAssembly SIMD, optionally two threads)
 * must agree with the reference within float tolerance (test/kernels/float/).
 */
import type { Conv2dGeometry, Pool2dGeometry } from "./geometry.js";
import {
  conv2dBackwardDataReference, conv2dBackwardFilterReference, conv2dForwardReference, gemmReference,
  maxPool2dBackwardReference, maxPool2dForwardReference, reluBackwardReference, reluForwardReference,
} from "./reference.js";

export interface ConvGradients {
  /** ∂L/∂x, [N, C, H, W]; null when not requested. */
  dx: Float32Array | null;
  /** ∂L/∂w, [M, C/group, KH, KW]; null when not requested. */
  dw: Float32Array | null;
}

export interface FloatKernels {
  readonly name: string;
  /** C[M×N] = (accumulate ? C : 0) + op(A)·op(B); see gemmReference for the exact contract. */
  gemm(
    m: number, n: number, k: number,
    a: Float32Array, lda: number, transA: boolean,
    b: Float32Array, ldb: number, transB: boolean,
    c: Float32Array, ldc: number, accumulate: boolean,
  ): void;
  /** ONNX Conv forward: x [N,C,H,W], w [M,C/group,KH,KW], bias [M] or null → y [N,M,OH,OW]. */
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry): Float32Array;
  /** Gradients of a Conv with respect to its input and/or weight, given ∂L/∂y. */
  conv2dBackward(x: Float32Array, w: Float32Array, dy: Float32Array, g: Conv2dGeometry, want: { input: boolean; weight: boolean }): ConvGradients;
  /** y = x > 0 ? x : 0 (NaN → 0). */
  reluForward(x: Float32Array): Float32Array;
  /** dx = x > 0 ? dy : 0. */
  reluBackward(x: Float32Array, dy: Float32Array): Float32Array;
  /** ONNX MaxPool over x [N, C, H, W]; argmax = input index of each window's first maximum. */
  maxPool2dForward(x: Float32Array, g: Pool2dGeometry): { y: Float32Array; argmax: Int32Array };
  /** dx[argmax[i]] += dy[i]. */
  maxPool2dBackward(dy: Float32Array, argmax: Int32Array, g: Pool2dGeometry): Float32Array;
}

export function poolSizes(g: Pool2dGeometry): { x: number; y: number } {
  const planes = g.batch * g.inChannels;
  return { x: planes * g.inHeight * g.inWidth, y: planes * g.outHeight * g.outWidth };
}

/** Throws unless `array` holds exactly `expected` values: kernels index without bounds checks. */
export function checkLength(what: string, array: Float32Array, expected: number): void {
  if (array.length !== expected) throw new Error(`${what} has ${array.length} values, expected ${expected}`);
}

export function convSizes(g: Conv2dGeometry): { x: number; w: number; y: number } {
  return {
    x: g.batch * g.inChannels * g.inHeight * g.inWidth,
    w: g.outChannels * (g.inChannels / g.group) * g.kernelHeight * g.kernelWidth,
    y: g.batch * g.outChannels * g.outHeight * g.outWidth,
  };
}

/** Checks the extents a GEMM call will read and write. */
export function checkGemm(
  m: number, n: number, k: number, a: Float32Array, lda: number, transA: boolean,
  b: Float32Array, ldb: number, transB: boolean, c: Float32Array, ldc: number,
): void {
  for (const [name, v] of [["m", m], ["n", n], ["k", k], ["lda", lda], ["ldb", ldb], ["ldc", ldc]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`gemm: ${name} must be a non-negative integer, got ${v}`);
  }
  const need = (rows: number, cols: number, ld: number) => (rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols);
  const [ar, ac] = transA ? [k, m] : [m, k];
  const [br, bc] = transB ? [n, k] : [k, n];
  if (ld(ac, lda)) throw new Error(`gemm: lda ${lda} is smaller than the ${ac} columns of A as stored`);
  if (ld(bc, ldb)) throw new Error(`gemm: ldb ${ldb} is smaller than the ${bc} columns of B as stored`);
  if (ld(n, ldc)) throw new Error(`gemm: ldc ${ldc} is smaller than the ${n} columns of C`);
  if (a.length < need(ar, ac, lda)) throw new Error(`gemm: A holds ${a.length} values, needs ${need(ar, ac, lda)}`);
  if (b.length < need(br, bc, ldb)) throw new Error(`gemm: B holds ${b.length} values, needs ${need(br, bc, ldb)}`);
  if (c.length < need(m, n, ldc)) throw new Error(`gemm: C holds ${c.length} values, needs ${need(m, n, ldc)}`);
  function ld(cols: number, stride: number) { return cols > 0 && stride < cols; }
}

/** The specification: direct loops, float64 accumulation. Slow; for tests and tiny models. */
export const referenceKernels: FloatKernels = {
  name: "reference",
  gemm(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, accumulate) {
    checkGemm(m, n, k, a, lda, transA, b, ldb, transB, c, ldc);
    gemmReference(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, accumulate);
  },
  conv2dForward(x, w, bias, g) {
    const s = convSizes(g);
    checkLength("conv input", x, s.x);
    checkLength("conv weight", w, s.w);
    if (bias) checkLength("conv bias", bias, g.outChannels);
    return conv2dForwardReference(x, w, bias, g);
  },
  conv2dBackward(x, w, dy, g, want) {
    const s = convSizes(g);
    checkLength("conv input", x, s.x);
    checkLength("conv weight", w, s.w);
    checkLength("conv output gradient", dy, s.y);
    return {
      dx: want.input ? conv2dBackwardDataReference(dy, w, g) : null,
      dw: want.weight ? conv2dBackwardFilterReference(x, dy, g) : null,
    };
  },
  reluForward(x) {
    return reluForwardReference(x);
  },
  reluBackward(x, dy) {
    checkLength("relu output gradient", dy, x.length);
    return reluBackwardReference(x, dy);
  },
  maxPool2dForward(x, g) {
    checkLength("max pool input", x, poolSizes(g).x);
    return maxPool2dForwardReference(x, g);
  },
  maxPool2dBackward(dy, argmax, g) {
    const s = poolSizes(g);
    if (dy.length !== s.y || argmax.length !== s.y) throw new Error(`max pool backward: ${dy.length} gradients and ${argmax.length} indices, expected ${s.y}`);
    return maxPool2dBackwardReference(dy, argmax, s.x);
  },
};
