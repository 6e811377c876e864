// 8-bit matrix × vector with a requantizing output stage, for fully connected layers at batch 1
// (WebAssembly SIMD, AssemblyScript):
//
//   out[v·ldo + r] = requantize_r( Σ_k (w[r, k] − z_w[r]) · x_v[k] + bias_r )      r0 ≤ r < r1
//
// The GEMM (gemm.ts) multiplies 8 columns at a time: with one column (one input vector) it would
// do eight times the work and pack its panel value by value. This kernel reads the GEMM's own
// packed weights (packRows: i16 differences w − z_w, for each block of 4 rows and k pair p the 4
// rows' (w[r, 2p], w[r, 2p + 1]) as 4 × 32 bits) the other way round: one i32x4.dot_i16x8_s of a
// block's k pair with the input pair (x[2p], x[2p + 1]) broadcast to every lane gives each of the
// 4 rows its two products, summed — lane i accumulates row 4b + i, so no horizontal sums are
// needed. Products and pair sums are exact in i32 (|w − z_w|, |x| ≤ 255) and the sums wrap modulo
// 2^32 like the reference's int32 arithmetic (src/kernels/reference/matmul.ts), so the order of
// the additions does not matter.
//
// Symmetric int8 weights (every zero point 0, octet's default) can instead stay bytes
// (packNarrowRows): half the memory to read, which is what a batch-1 layer waits on when its
// weights are not in the cache; one load widened twice gives the same i16 pairs.
//
// Zero points: the weights' are in the packed differences; the input's, as for the GEMM, is
// folded into the stages' bias by the caller (−z_x·Σ_k (w[r, k] − z_w[r]); x is used raw). The
// output stage is applied per row in scalar arithmetic, the same operations as requantize4Staged's
// general form (output_stage.ts) one lane at a time.

import { roundingDivideByPOT, srdhm } from "./output_stage";

// @ts-ignore: decorator
@inline const MR: i32 = 4;

/**
 * Bytes of scratch one gemvRequantize call needs: the input vector widened to i16, k rounded up to
 * a multiple of 4 (the narrow layout reads two pairs at a time).
 */
export function gemvScratchBytes(k: i32): i32 {
  return ((k + 3) >> 2) * 8;
}

/** Bytes of packNarrowRows's layout of `rows` × `k` weights. */
export function narrowRowsBytes(rows: i32, k: i32): i32 {
  return ((rows + MR - 1) / MR) * ((k + 3) >> 2) * 16;
}

/**
 * The narrow layout, for int8 weights whose zero points are all 0 (symmetric, octet's default):
 * w − z_w = w fits a byte, so the weights stay bytes — half the memory traffic of packRows's i16
 * pairs, which a batch-1 fully connected layer is bound by once its weights leave the cache. For
 * each block of 4 rows and k quad q, 16 bytes: the 4 rows' (w[r, 4q], w[r, 4q + 1]), then their
 * (w[r, 4q + 2], w[r, 4q + 3]); i16x8.extend_low / extend_high of one load are then packRows's
 * layout of pairs 2q and 2q + 1. Zeros past k and past `rows`. Element (m, j) at
 * src + m·rowStride + j·kStride.
 */
export function packNarrowRows(src: usize, rows: i32, k: i32, rowStride: i32, kStride: i32, dst: usize): void {
  const quads = (k + 3) >> 2;
  for (let mb = 0; mb < rows; mb += MR) {
    const block = dst + <usize>((mb / MR) * quads * 16);
    for (let q = 0; q < quads; q++) {
      for (let half = 0; half < 2; half++) {
        for (let r = 0; r < MR; r++) {
          for (let e = 0; e < 2; e++) {
            const m = mb + r;
            const j = 4 * q + 2 * half + e;
            const v: i8 = m < rows && j < k ? load<i8>(src + <usize>(m * rowStride + j * kStride)) : 0;
            store<i8>(block + <usize>(q * 16 + half * 8 + r * 2 + e), v);
          }
        }
      }
    }
  }
}

/** Row r's output stage (output_stage.ts layout) applied to one accumulator, scalar. */
// @ts-ignore: decorator
@inline function requantizeOne(acc: i32, st: usize): i32 {
  let x = roundingDivideByPOT(srdhm((acc + load<i32>(st)) << load<i32>(st, 160), load<i32>(st, 16)), load<i32>(st, 164));
  x = min(max(x, load<i32>(st, 64)), load<i32>(st, 80));
  return x + load<i32>(st, 96);
}

/** Requantize row r's sum and store it. */
// @ts-ignore: decorator
@inline function finishRow(acc: i32, r: i32, stages: usize, stageStride: i32, dst: usize, table: usize): void {
  const q = requantizeOne(acc, stages + <usize>(r * stageStride));
  store<u8>(dst + <usize>r, table != 0 ? load<u8>(table + <usize>(<u8>q)) : <u8>q);
}

/** The rows rb … rb + 3 (those before `end`) of a block's sums, lane i for row rb + i. */
// @ts-ignore: decorator
@inline function finishBlock(s: v128, rb: i32, end: i32, stages: usize, stageStride: i32, dst: usize, table: usize): void {
  // extract_lane needs constant lane indices, so the rows are written out.
  finishRow(i32x4.extract_lane(s, 0), rb, stages, stageStride, dst, table);
  if (rb + 1 < end) finishRow(i32x4.extract_lane(s, 1), rb + 1, stages, stageStride, dst, table);
  if (rb + 2 < end) finishRow(i32x4.extract_lane(s, 2), rb + 2, stages, stageStride, dst, table);
  if (rb + 3 < end) finishRow(i32x4.extract_lane(s, 3), rb + 3, stages, stageStride, dst, table);
}

/**
 * `count` vectors x_v (at x + v·ldx, k bytes each) times the packed W (`rows` rows: packRows in
 * gemm.ts, or with `narrow` packNarrowRows), rows [r0, r1) (r0 a multiple of 4), requantized with
 * row r's stage at stages + r·stageStride, through the byte table if `table` ≠ 0, stored at
 * out + v·ldo + r.
 */
export function gemvRequantize(
  rows: i32, k: i32, w: usize, narrow: i32, x: usize, ldx: i32, xSigned: i32, count: i32, r0: i32, r1: i32,
  stages: usize, stageStride: i32, out: usize, ldo: i32, table: usize, scratch: usize,
): void {
  for (let v = 0; v < count; v++) {
    // The input vector widened to i16, with zeros past k up to a multiple of 4 (their weights are
    // zero too).
    const xv = x + <usize>(v * ldx);
    let i = 0;
    if (xSigned != 0) {
      for (; i + 8 <= k; i += 8) v128.store(scratch + (<usize>i << 1), v128.load8x8_s(xv + <usize>i));
      for (; i < k; i++) store<i16>(scratch + (<usize>i << 1), <i16>load<i8>(xv + <usize>i));
    } else {
      for (; i + 8 <= k; i += 8) v128.store(scratch + (<usize>i << 1), v128.load8x8_u(xv + <usize>i));
      for (; i < k; i++) store<i16>(scratch + (<usize>i << 1), <i16>load<u8>(xv + <usize>i));
    }
    for (; i & 3; i++) store<i16>(scratch + (<usize>i << 1), 0);
    const dst = out + <usize>(v * ldo);
    if (narrow != 0) multiplyRows(true, k, w, scratch, r0, min(r1, rows), stages, stageStride, dst, table);
    else multiplyRows(false, k, w, scratch, r0, min(r1, rows), stages, stageStride, dst, table);
  }
}

/**
 * Rows [r0, end) of the packed weights at `w` (packRows's i16 layout, or with `narrow` — a constant
 * at each call site — packNarrowRows's bytes) times the widened vector at `xs`. Each loop step
 * takes 16 bytes of a block: one k pair of i16 weights, or two k pairs of bytes.
 */
// @ts-ignore: decorator
@inline function multiplyRows(
  narrow: bool, k: i32, w: usize, xs: usize, r0: i32, end: i32, stages: usize, stageStride: i32, dst: usize, table: usize,
): void {
  const blockBytes = <usize>(narrow ? ((k + 3) >> 2) * 16 : ((k + 1) >> 1) * 16);
  const xStep: usize = narrow ? 8 : 4;
  let rb = r0;
  // Four blocks (16 rows) at a time: each input pair is broadcast once for all four, and the
  // four sums are independent chains.
  for (; rb + 4 * MR <= end; rb += 4 * MR) {
    let pw = w + <usize>(rb / MR) * blockBytes;
    let px = xs;
    const pwEnd = pw + blockBytes;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    while (pw < pwEnd) {
      const xa = v128.load32_splat(px);
      const xb = narrow ? v128.load32_splat(px, 4) : xa;
      a0 = multiplyAdd(narrow, a0, v128.load(pw), xa, xb);
      a1 = multiplyAdd(narrow, a1, v128.load(pw + blockBytes), xa, xb);
      a2 = multiplyAdd(narrow, a2, v128.load(pw + 2 * blockBytes), xa, xb);
      a3 = multiplyAdd(narrow, a3, v128.load(pw + 3 * blockBytes), xa, xb);
      pw += 16;
      px += xStep;
    }
    finishBlock(a0, rb, end, stages, stageStride, dst, table);
    finishBlock(a1, rb + MR, end, stages, stageStride, dst, table);
    finishBlock(a2, rb + 2 * MR, end, stages, stageStride, dst, table);
    finishBlock(a3, rb + 3 * MR, end, stages, stageStride, dst, table);
  }
  for (; rb < end; rb += MR) {
    let pw = w + <usize>(rb / MR) * blockBytes;
    let px = xs;
    const pwEnd = pw + blockBytes;
    let a0 = i32x4.splat(0);
    while (pw < pwEnd) {
      const xa = v128.load32_splat(px);
      a0 = multiplyAdd(narrow, a0, v128.load(pw), xa, narrow ? v128.load32_splat(px, 4) : xa);
      pw += 16;
      px += xStep;
    }
    finishBlock(a0, rb, end, stages, stageStride, dst, table);
  }
}

/**
 * acc plus 16 bytes of a block times the broadcast input pairs: one i16 k pair times xa, or (narrow)
 * two byte k pairs widened, times xa and xb.
 */
// @ts-ignore: decorator
@inline function multiplyAdd(narrow: bool, acc: v128, bytes: v128, xa: v128, xb: v128): v128 {
  if (!narrow) return i32x4.add(acc, i32x4.dot_i16x8_s(bytes, xa));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(bytes), xa));
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(bytes), xb));
}
