// 8-bit matrix × vector with a requantizing output stage, for fully connected layers at batch 1
// (WebAssembly SIMD, AssemblyScript):
//
//   out[v·ldo + r] = requantize_r( Σ_k (w[r, k] − z_w[r]) · x_v[k] + bias_r )      r0 ≤ r < r1
//
// The GEMM (gemm.ts) multiplies 8 columns at a time: with one column (one input vector) it would
// do eight times the work and pack its panel value by value. Here the weights W [rows, K] are
// packed once as their raw bytes, 4 rows interleaved per 16 k — for row block b and chunk c, the
// 16 bytes of rows 4b, 4b + 1, 4b + 2, 4b + 3 (K padded with zeros to a multiple of 16, rows to a
// multiple of 4) — and each input vector is widened to i16 once per call. The inner step loads 8
// weights widened to i16 (v128.load8x8_s/_u) and multiplies them with 8 inputs by
// i32x4.dot_i16x8_s: products and pair sums are exact in i32 (|w|, |x| ≤ 255), and the sums wrap
// modulo 2^32 like the reference's int32 arithmetic (src/kernels/reference/matmul.ts), so the
// order of the additions does not matter.
//
// Zero points: the caller's stages already hold −z_x·Σ_k (w[r, k] − z_w[r]) in row r's bias (the
// same stages as the GEMM's, with x used raw); the weight zero point is taken out at run time as
// Σ (w − z_w)·x = Σ w·x − z_w·Σ x (Σ x once per vector; nothing when every z_w is 0, as for the
// usual symmetric int8 weights). The output stage is applied per row in scalar arithmetic, the
// same operations as requantize4Staged's general form (output_stage.ts) one lane at a time.

// @ts-ignore: decorator
@inline const ROWS: i32 = 4;
// @ts-ignore: decorator
@inline const CHUNK: i32 = 16;

/** Bytes of packed weights for `rows` rows of `k`. */
export function gemvPackedBytes(rows: i32, k: i32): i32 {
  return ((rows + ROWS - 1) / ROWS) * ((k + CHUNK - 1) / CHUNK) * ROWS * CHUNK;
}

/** Bytes of scratch one gemvRequantize call needs: the widened input vector. */
export function gemvScratchBytes(k: i32): i32 {
  return ((k + CHUNK - 1) / CHUNK) * CHUNK * 2;
}

/** Pack W: element (r, k) at src + r·rowStride + k·kStride, raw bytes; padding is 0. */
export function packGemvRows(src: usize, rows: i32, k: i32, rowStride: i32, kStride: i32, dst: usize): void {
  const chunks = (k + CHUNK - 1) / CHUNK;
  for (let rb = 0; rb < rows; rb += ROWS) {
    const block = dst + <usize>((rb / ROWS) * chunks * ROWS * CHUNK);
    for (let c = 0; c < chunks; c++) {
      for (let i = 0; i < ROWS; i++) {
        const r = rb + i;
        const to = block + <usize>((c * ROWS + i) * CHUNK);
        for (let j = 0; j < CHUNK; j++) {
          const kk = c * CHUNK + j;
          store<u8>(to + <usize>j, r < rows && kk < k ? load<u8>(src + <usize>(r * rowStride + kk * kStride)) : 0);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function low(v: v128, signed: bool): v128 {
  return signed ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_low_i8x16_u(v);
}

// @ts-ignore: decorator
@inline function high(v: v128, signed: bool): v128 {
  return signed ? i16x8.extend_high_i8x16_s(v) : i16x8.extend_high_i8x16_u(v);
}

// @ts-ignore: decorator
@inline function widenWeights(p: usize, signed: bool): v128 {
  return signed ? v128.load8x8_s(p) : v128.load8x8_u(p);
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

/**
 * `count` vectors x_v (at x + v·ldx, k bytes each) times the packed W (packGemvRows), rows
 * [r0, r1) (r0 a multiple of 4), requantized with row r's stage at stages + r·stageStride, through
 * the byte table if `table` ≠ 0, stored at out + v·ldo + r. `zeroPoints` (i32 per row, or one if
 * `perRow` is 0) are the weights' zero points, or 0 when they are all 0.
 */
export function gemvRequantize(
  rows: i32, k: i32, w: usize, wSigned: i32, zeroPoints: usize, perRow: i32,
  x: usize, ldx: i32, xSigned: i32, count: i32, r0: i32, r1: i32,
  stages: usize, stageStride: i32, out: usize, ldo: i32, table: usize, scratch: usize,
): void {
  if (wSigned != 0) gemvWith(rows, k, w, true, zeroPoints, perRow, x, ldx, xSigned, count, r0, r1, stages, stageStride, out, ldo, table, scratch);
  else gemvWith(rows, k, w, false, zeroPoints, perRow, x, ldx, xSigned, count, r0, r1, stages, stageStride, out, ldo, table, scratch);
}

// @ts-ignore: decorator
@inline function gemvWith(
  rows: i32, k: i32, w: usize, ws: bool, zeroPoints: usize, perRow: i32,
  x: usize, ldx: i32, xSigned: i32, count: i32, r0: i32, r1: i32,
  stages: usize, stageStride: i32, out: usize, ldo: i32, table: usize, scratch: usize,
): void {
  const chunks = (k + CHUNK - 1) / CHUNK;
  const blockBytes = <usize>(chunks * ROWS * CHUNK);
  const end = min(r1, rows);
  for (let v = 0; v < count; v++) {
    // The input vector widened to i16, zero past k; and Σ x when a weight zero point needs it.
    const xv = x + <usize>(v * ldx);
    let i = 0;
    if (xSigned != 0) {
      for (; i + 8 <= k; i += 8) v128.store(scratch + (<usize>i << 1), v128.load8x8_s(xv + <usize>i));
      for (; i < k; i++) store<i16>(scratch + (<usize>i << 1), <i16>load<i8>(xv + <usize>i));
    } else {
      for (; i + 8 <= k; i += 8) v128.store(scratch + (<usize>i << 1), v128.load8x8_u(xv + <usize>i));
      for (; i < k; i++) store<i16>(scratch + (<usize>i << 1), <i16>load<u8>(xv + <usize>i));
    }
    for (; i < chunks * CHUNK; i++) store<i16>(scratch + (<usize>i << 1), 0);
    let sum: i32 = 0;
    if (zeroPoints != 0) {
      for (let j = 0; j < k; j++) sum += <i32>load<i16>(scratch + (<usize>j << 1));
    }
    const dst = out + <usize>(v * ldo);
    for (let rb = r0; rb < end; rb += ROWS) {
      let pw = w + <usize>(rb / ROWS) * blockBytes;
      let px = scratch;
      const pwEnd = pw + blockBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      while (pw < pwEnd) {
        const xl = v128.load(px);
        const xh = v128.load(px, 16);
        const w0 = v128.load(pw);
        const w1 = v128.load(pw, 16);
        const w2 = v128.load(pw, 32);
        const w3 = v128.load(pw, 48);
        a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(low(w0, ws), xl), i32x4.dot_i16x8_s(high(w0, ws), xh)));
        a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(low(w1, ws), xl), i32x4.dot_i16x8_s(high(w1, ws), xh)));
        a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(low(w2, ws), xl), i32x4.dot_i16x8_s(high(w2, ws), xh)));
        a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(low(w3, ws), xl), i32x4.dot_i16x8_s(high(w3, ws), xh)));
        pw += 64;
        px += 32;
      }
      // Horizontal sums: [Σ a0, Σ a1, Σ a2, Σ a3].
      const t0 = i32x4.add(i32x4.shuffle(a0, a1, 0, 1, 4, 5), i32x4.shuffle(a0, a1, 2, 3, 6, 7));
      const t1 = i32x4.add(i32x4.shuffle(a2, a3, 0, 1, 4, 5), i32x4.shuffle(a2, a3, 2, 3, 6, 7));
      const s = i32x4.add(i32x4.shuffle(t0, t1, 0, 2, 4, 6), i32x4.shuffle(t0, t1, 1, 3, 5, 7));
      const n = min(ROWS, end - rb);
      for (let lane = 0; lane < n; lane++) {
        const r = rb + lane;
        let acc = lane == 0 ? i32x4.extract_lane(s, 0) : lane == 1 ? i32x4.extract_lane(s, 1) : lane == 2 ? i32x4.extract_lane(s, 2) : i32x4.extract_lane(s, 3);
        if (zeroPoints != 0) acc -= load<i32>(zeroPoints + (perRow != 0 ? <usize>r << 2 : 0)) * sum;
        const q = requantizeOne(acc, stages + <usize>(r * stageStride));
        store<u8>(dst + <usize>r, table != 0 ? load<u8>(table + <usize>(<u8>q)) : <u8>q);
      }
    }
  }
}
