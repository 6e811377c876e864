/** Gemm and MatMul (ONNX semantics) and the fully connected layer built on them. */
import { floatKernels } from "./backend.js";
import { opResult, type Var } from "./tape.js";

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

function scaled(v: Float32Array, s: number): Float32Array {
  if (s === 1) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * s;
  return out;
}

/**
 * ONNX Gemm: Y[M, N] = alpha · op(A) · op(B) + beta · C, with C unidirectionally broadcast to
 * [M, N] (C of dims [], [1], [N], [1, N], [M, 1] or [M, N]).
 * Gradients: ∂op(A) = alpha · ∂Y · op(B)ᵀ, ∂op(B) = alpha · op(A)ᵀ · ∂Y, ∂C = beta · ∂Y summed over
 * the broadcast axes.
 */
export function gemm(a: Var, b: Var, c: Var | null, opts: GemmOptions = {}): Var {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 1;
  if (a.dims.length !== 2 || b.dims.length !== 2) {
    throw new Error(`gemm needs 2-D A and B, got [${a.dims.join(", ")}] and [${b.dims.join(", ")}]`);
  }
  const [m, k] = transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const [kb, n] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (k !== kb) throw new Error(`gemm: inner dimensions differ (A gives ${k}, B gives ${kb})`);
  const cShape = c ? broadcastRule(c.dims, m, n) : null;
  const kernels = floatKernels();
  const y = new Float32Array(m * n);
  kernels.gemm(m, n, k, a.data, a.dims[1]!, transA, b.data, b.dims[1]!, transB, y, n, false);
  if (alpha !== 1) for (let i = 0; i < y.length; i++) y[i]! *= alpha;
  if (c && cShape) {
    const cd = c.data;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j]! += beta * cd[(cShape.rows ? i : 0) * (cShape.cols ? n : 1) + (cShape.cols ? j : 0)]!;
  }
  const parents = c ? [a, b, c] : [a, b];
  return opResult(y, [m, n], parents, (dy) => {
    const kern = floatKernels();
    const g = scaled(dy, alpha);
    if (a.requiresGrad) {
      // op(A) = g · op(B)ᵀ; when transA, A = op(A)ᵀ = op(B) · gᵀ.
      const da = new Float32Array(a.size);
      if (!transA) kern.gemm(m, k, n, g, n, false, b.data, b.dims[1]!, !transB, da, k, false);
      else kern.gemm(k, m, n, b.data, b.dims[1]!, transB, g, n, true, da, m, false);
      a.accumulateGrad(da, true);
    }
    if (b.requiresGrad) {
      // op(B) = op(A)ᵀ · g; when transB, B = gᵀ · op(A).
      const db = new Float32Array(b.size);
      if (!transB) kern.gemm(k, n, m, a.data, a.dims[1]!, !transA, g, n, false, db, n, false);
      else kern.gemm(n, k, m, g, n, true, a.data, a.dims[1]!, transA, db, k, false);
      b.accumulateGrad(db, true);
    }
    if (c?.requiresGrad && cShape) {
      const dc = new Float32Array(c.size);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) dc[(cShape.rows ? i : 0) * (cShape.cols ? n : 1) + (cShape.cols ? j : 0)]! += beta * dy[i * n + j]!;
      }
      c.accumulateGrad(dc, true);
    }
  });
}

/** Which of C's axes run along Y's rows and columns after unidirectional broadcasting to [m, n]. */
function broadcastRule(dims: readonly number[], m: number, n: number): { rows: boolean; cols: boolean } {
  const d = dims.length === 0 ? [1, 1] : dims.length === 1 ? [1, dims[0]!] : dims.length === 2 ? [dims[0]!, dims[1]!] : null;
  if (!d || (d[0] !== 1 && d[0] !== m) || (d[1] !== 1 && d[1] !== n)) {
    throw new Error(`gemm: C of dims [${dims.join(", ")}] does not broadcast to [${m}, ${n}]`);
  }
  return { rows: d[0] === m && m !== 1, cols: d[1] === n && n !== 1 };
}

/**
 * ONNX MatMul for A of rank ≥ 1 against a 2-D B: leading axes of A are batch axes (numpy
 * matmul semantics for this case). A 1-D A is a row vector whose axis is dropped from the result.
 */
export function matmul(a: Var, b: Var): Var {
  if (b.dims.length !== 2) throw new Error(`matmul supports a 2-D right operand, got [${b.dims.join(", ")}]`);
  if (a.dims.length < 1) throw new Error("matmul needs an operand of rank ≥ 1");
  const k = a.dims[a.dims.length - 1]!;
  if (k !== b.dims[0]) throw new Error(`matmul: inner dimensions differ ([${a.dims.join(", ")}] × [${b.dims.join(", ")}])`);
  const n = b.dims[1]!;
  const m = a.size / k;
  const y = new Float32Array(m * n);
  floatKernels().gemm(m, n, k, a.data, k, false, b.data, n, false, y, n, false);
  const dims = a.dims.length === 1 ? [n] : [...a.dims.slice(0, -1), n];
  return opResult(y, dims, [a, b], (dy) => {
    const kern = floatKernels();
    if (a.requiresGrad) {
      const da = new Float32Array(a.size);
      kern.gemm(m, k, n, dy, n, false, b.data, n, true, da, k, false);
      a.accumulateGrad(da, true);
    }
    if (b.requiresGrad) {
      const db = new Float32Array(b.size);
      kern.gemm(k, n, m, a.data, k, true, dy, n, false, db, n, false);
      b.accumulateGrad(db, true);
    }
  });
}

/** Fully connected layer, y = x · wᵀ + bias with w [out, in]: ONNX Gemm with transB = 1. */
export function linear(x: Var, w: Var, bias: Var | null): Var {
  return gemm(x, w, bias, { transB: true });
}
