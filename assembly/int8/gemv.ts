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
// Zero points: the weights' are in the packed differences; the input's, as for the GEMM, is
// folded into the stages' bias by the caller (−z_x·Σ_k (w[r, k] − z_w[r]); x is used raw). The
// output stage is applied per row in scalar arithmetic, the same operations as requantize4Staged's
// general form (output_stage.ts) one lane at a time.

// @ts-ignore: decorator
@inline const MR: i32 = 4;

/** Bytes of scratch one gemvRequantize call needs: the input vector widened to i16, k rounded up to even. */
export function gemvScratchBytes(k: i32): i32 {
  return ((k + 1) >> 1) * 4;
}

/** Row r's output stage (output_stage.ts layout) applied to one accumulator, scalar. */
// @ts-ignore: decorator
@inline function requantizeOne(acc: i32, st: usize): i32 {
  let x = acc + load<i32>(st);
  x = x << load<i32>(st, 160);
  // SaturatingRoundingDoublingHighMul with M0 ∈ [0, 2^31): floor((x·M0 + 2^30) / 2^31), low 32 bits.
  x = <i32>((<i64>x * <i64>load<i32>(st, 16) + (<i64>1 << 30)) >> 31);
  // RoundingDivideByPOT (gemmlowp): ties away from zero.
  const right = load<i32>(st, 164);
  const mask = (1 << right) - 1;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  x = (x >> right) + ((x & mask) > threshold ? 1 : 0);
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
 * `count` vectors x_v (at x + v·ldx, k bytes each) times the packed W (packRows in gemm.ts, `rows`
 * rows), rows [r0, r1) (r0 a multiple of 4), requantized with row r's stage at
 * stages + r·stageStride, through the byte table if `table` ≠ 0, stored at out + v·ldo + r.
 */
export function gemvRequantize(
  rows: i32, k: i32, w: usize, x: usize, ldx: i32, xSigned: i32, count: i32, r0: i32, r1: i32,
  stages: usize, stageStride: i32, out: usize, ldo: i32, table: usize, scratch: usize,
): void {
  const kp = (k + 1) >> 1;
  const blockBytes = <usize>(kp * MR * 4);
  const end = min(r1, rows);
  for (let v = 0; v < count; v++) {
    // The input vector widened to i16, with a zero past an odd k (its weights are zero too).
    const xv = x + <usize>(v * ldx);
    let i = 0;
    if (xSigned != 0) {
      for (; i + 8 <= k; i += 8) v128.store(scratch + (<usize>i << 1), v128.load8x8_s(xv + <usize>i));
      for (; i < k; i++) store<i16>(scratch + (<usize>i << 1), <i16>load<i8>(xv + <usize>i));
    } else {
      for (; i + 8 <= k; i += 8) v128.store(scratch + (<usize>i << 1), v128.load8x8_u(xv + <usize>i));
      for (; i < k; i++) store<i16>(scratch + (<usize>i << 1), <i16>load<u8>(xv + <usize>i));
    }
    if (k & 1) store<i16>(scratch + (<usize>k << 1), 0);
    const dst = out + <usize>(v * ldo);
    let rb = r0;
    // Four blocks (16 rows) at a time: each input pair is broadcast once for all four, and the
    // four sums are independent chains.
    for (; rb + 4 * MR <= end; rb += 4 * MR) {
      let pw = w + <usize>(rb / MR) * blockBytes;
      let px = scratch;
      const pwEnd = pw + blockBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      while (pw < pwEnd) {
        const xp = v128.load32_splat(px);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(pw), xp));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(pw + blockBytes), xp));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load(pw + 2 * blockBytes), xp));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load(pw + 3 * blockBytes), xp));
        pw += 16;
        px += 4;
      }
      finishBlock(a0, rb, end, stages, stageStride, dst, table);
      finishBlock(a1, rb + MR, end, stages, stageStride, dst, table);
      finishBlock(a2, rb + 2 * MR, end, stages, stageStride, dst, table);
      finishBlock(a3, rb + 3 * MR, end, stages, stageStride, dst, table);
    }
    for (; rb < end; rb += MR) {
      let pw = w + <usize>(rb / MR) * blockBytes;
      let px = scratch;
      const pwEnd = pw + blockBytes;
      const pwEnd4 = pw + <usize>((kp & ~3) * MR * 4);
      // Four k pairs per iteration into two accumulators: independent chains for the JIT.
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
      while (pw < pwEnd4) {
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(pw), v128.load32_splat(px)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(pw, 16), v128.load32_splat(px, 4)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(pw, 32), v128.load32_splat(px, 8)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(pw, 48), v128.load32_splat(px, 12)));
        pw += 64;
        px += 16;
      }
      while (pw < pwEnd) {
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(pw), v128.load32_splat(px)));
        pw += 16;
        px += 4;
      }
      finishBlock(i32x4.add(a0, a1), rb, end, stages, stageStride, dst, table);
    }
  }
}
