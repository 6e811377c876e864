// Single-precision GEMM for WebAssembly SIMD (f32x4), written for AssemblyScript.
//
//   C[M×N] = (accumulate ? C : 0) + op(A)[M×K] · op(B)[K×N],   restricted to rows [m0, m1)
//                                                               and columns [n0, n1)
//
// op(A)(i,k) is A[i*lda + k], or A[k*lda + i] when transA; likewise for B. The caller hands each
// thread a different block of C and its own scratch area, so two threads never write the same
// memory. Every element of C is computed by the same sequence of operations whatever the block (the k loop is blocked identically and edge tiles use zero-padded panels), so splitting the
// work across threads leaves the result bit-identical to a single-threaded call.
//
// Structure after Goto & van de Geijn, "Anatomy of high-performance matrix multiplication"
// (ACM TOMS 34(3), 2008): pack a KC×NC panel of B and an MC×KC block of A into contiguous
// micro-panels, then run an MR×NR register-blocked micro-kernel over them. WebAssembly SIMD has no
// fused multiply-add outside relaxed SIMD, so the micro-kernel issues a mul and an add per term;
// the build with relaxed SIMD enabled (float-relaxed.wasm) uses f32x4.relaxed_madd instead.
//
// Memory layout is the caller's: all pointers are byte offsets into linear memory (no AS runtime).

// @ts-ignore: decorator
@inline const MR: i32 = 4;
// @ts-ignore: decorator
@inline const NR: i32 = 8;
// @ts-ignore: decorator
@inline const KC: i32 = 256;
// @ts-ignore: decorator
@inline const MC: i32 = 64;
// @ts-ignore: decorator
@inline const NC: i32 = 512;

/** acc + a·b: one relaxed (possibly fused) multiply-add when the build enables relaxed SIMD. */
// @ts-ignore: decorator
@inline export function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Bytes of scratch one call of `gemm` needs (packed A block + packed B panel + an edge tile). */
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/**
 * Transposes the 4×4 block whose rows are r0..r3 and stores its columns at dst, dst + stride, …
 * (each column as one vector).
 */
// @ts-ignore: decorator
@inline function storeTransposed4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/** Pack op(B)[pc:pc+kc, jc:jc+nc] as NR-wide column panels, each kc rows deep, zero padded. */
function packB(kc: i32, nc: i32, b: usize, ldb: i32, transB: bool, pc: i32, jc: i32, dst: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const width = min(NR, nc - j0);
    const panel = dst + <usize>((j0 * kc) << 2);
    let k = 0;
    if (transB && width == NR) {
      // B is stored as Bᵀ: the panel's 8 columns are 8 contiguous rows of memory. Read 4 values of
      // each, transpose in registers, write 4 packed rows: no scalar gathers.
      const row0 = b + <usize>((((jc + j0) * ldb) + pc) << 2);
      const stride = <usize>ldb << 2;
      for (; k + 4 <= kc; k += 4) {
        const src = row0 + (<usize>k << 2);
        const out = panel + <usize>((k * NR) << 2);
        storeTransposed4(v128.load(src), v128.load(src + stride), v128.load(src + 2 * stride), v128.load(src + 3 * stride), out, NR << 2);
        const src4 = src + 4 * stride;
        storeTransposed4(v128.load(src4), v128.load(src4 + stride), v128.load(src4 + 2 * stride), v128.load(src4 + 3 * stride), out + 16, NR << 2);
      }
    }
    for (; k < kc; k++) {
      const out = panel + <usize>((k * NR) << 2);
      if (!transB) {
        const row = b + <usize>((((pc + k) * ldb) + jc + j0) << 2);
        if (width == NR) {
          v128.store(out, v128.load(row));
          v128.store(out, v128.load(row, 16), 16);
        } else {
          for (let j = 0; j < NR; j++) {
            store<f32>(out + (<usize>j << 2), j < width ? load<f32>(row + (<usize>j << 2)) : 0);
          }
        }
      } else {
        for (let j = 0; j < NR; j++) {
          const v: f32 = j < width ? load<f32>(b + <usize>((((jc + j0 + j) * ldb) + pc + k) << 2)) : 0;
          store<f32>(out + (<usize>j << 2), v);
        }
      }
    }
  }
}

/** Pack op(A)[ic:ic+mc, pc:pc+kc] as MR-tall row panels, each kc columns deep, zero padded. */
function packA(mc: i32, kc: i32, a: usize, lda: i32, transA: bool, ic: i32, pc: i32, dst: usize): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const height = min(MR, mc - i0);
    const panel = dst + <usize>((i0 * kc) << 2);
    let k = 0;
    if (!transA && height == MR) {
      // The panel's 4 rows are contiguous in memory: transpose 4×4 blocks in registers.
      const row0 = a + <usize>((((ic + i0) * lda) + pc) << 2);
      const stride = <usize>lda << 2;
      for (; k + 4 <= kc; k += 4) {
        const src = row0 + (<usize>k << 2);
        storeTransposed4(v128.load(src), v128.load(src + stride), v128.load(src + 2 * stride), v128.load(src + 3 * stride),
          panel + <usize>((k * MR) << 2), MR << 2);
      }
    } else if (transA && height == MR) {
      // Aᵀ stored: the 4 values for one k are contiguous.
      for (; k < kc; k++) {
        v128.store(panel + <usize>((k * MR) << 2), v128.load(a + <usize>((((pc + k) * lda) + ic + i0) << 2)));
      }
    }
    for (; k < kc; k++) {
      const out = panel + <usize>((k * MR) << 2);
      for (let i = 0; i < MR; i++) {
        let v: f32 = 0;
        if (i < height) {
          const r = ic + i0 + i;
          const c = pc + k;
          v = transA ? load<f32>(a + <usize>((c * lda + r) << 2)) : load<f32>(a + <usize>((r * lda + c) << 2));
        }
        store<f32>(out + (<usize>i << 2), v);
      }
    }
  }
}

/**
 * MR×NR micro-kernel: tile (ldt floats per row, at `c`) = (load ? tile : 0) + Σ_k ap[k]·bp[k].
 * Eight f32x4 accumulators, two B vectors and one broadcast A value stay in registers.
 */
function microKernel(kc: i32, ap: usize, bp: usize, c: usize, ldt: i32, load: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const row = <usize>ldt << 2;
  if (load) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + row); c11 = v128.load(c + row, 16);
    c20 = v128.load(c + 2 * row); c21 = v128.load(c + 2 * row, 16);
    c30 = v128.load(c + 3 * row); c31 = v128.load(c + 3 * row, 16);
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(c00, a, b0); c01 = madd(c01, a, b1);
    a = v128.load32_splat(ap, 4);
    c10 = madd(c10, a, b0); c11 = madd(c11, a, b1);
    a = v128.load32_splat(ap, 8);
    c20 = madd(c20, a, b0); c21 = madd(c21, a, b1);
    a = v128.load32_splat(ap, 12);
    c30 = madd(c30, a, b0); c31 = madd(c31, a, b1);
    ap += MR << 2;
    bp += NR << 2;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + row, c10); v128.store(c + row, c11, 16);
  v128.store(c + 2 * row, c20); v128.store(c + 2 * row, c21, 16);
  v128.store(c + 3 * row, c30); v128.store(c + 3 * row, c31, 16);
}

export function gemm(
  m: i32, n: i32, k: i32,
  a: usize, lda: i32, transA: bool,
  b: usize, ldb: i32, transB: bool,
  c: usize, ldc: i32, accumulate: bool,
  m0: i32, m1: i32, n0: i32, n1: i32, scratch: usize,
): void {
  const ap = scratch;
  const bp = ap + <usize>(MC * KC * 4);
  const tile = bp + <usize>(KC * NC * 4);
  if (k == 0) {
    if (!accumulate) {
      for (let i = m0; i < m1; i++) for (let j = n0; j < n1; j++) store<f32>(c + <usize>((i * ldc + j) << 2), 0);
    }
    return;
  }
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const add = accumulate || pc > 0;
      packB(kc, nc, b, ldb, transB, pc, jc, bp);
      for (let ic = m0; ic < m1; ic += MC) {
        const mc = min(MC, m1 - ic);
        packA(mc, kc, a, lda, transA, ic, pc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const width = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const height = min(MR, mc - ir);
            const apanel = ap + <usize>((ir * kc) << 2);
            const bpanel = bp + <usize>((jr * kc) << 2);
            const ct = c + <usize>((((ic + ir) * ldc) + jc + jr) << 2);
            if (width == NR && height == MR) {
              microKernel(kc, apanel, bpanel, ct, ldc, add);
            } else {
              // Edge tile: run the same kernel on a full-size scratch tile, copy the valid part.
              for (let i = 0; i < MR; i++) {
                for (let j = 0; j < NR; j++) {
                  const v: f32 = add && i < height && j < width ? load<f32>(ct + <usize>((i * ldc + j) << 2)) : 0;
                  store<f32>(tile + <usize>((i * NR + j) << 2), v);
                }
              }
              microKernel(kc, apanel, bpanel, tile, NR, true);
              for (let i = 0; i < height; i++) {
                for (let j = 0; j < width; j++) {
                  store<f32>(ct + <usize>((i * ldc + j) << 2), load<f32>(tile + <usize>((i * NR + j) << 2)));
                }
              }
            }
          }
        }
      }
    }
  }
}
