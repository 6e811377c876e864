// 8-bit GEMM with a fused requantizing output stage, for WebAssembly SIMD (AssemblyScript).
//
//   out[m, j] = requantize_m( Σ_k (a[m, k] − z_a[m]) · (b[k, j] − z_b) )      for n0 ≤ j < n1
//
// A (weights: a convolution's W[C_out, K], or Bᵀ of a fully connected layer) is packed once, at
// prepare time, as i16 differences from its zero points, two k at a time and MR = 4 rows
// interleaved: for each row block and k pair p, 4 × (a[m, 2p], a[m, 2p+1]) as 4 × 32 bits.
// B (activations, [K][ldb] bytes: an im2col matrix or a 1×1 convolution's input plane) is packed
// per NR = 8 column panel into the matching layout, (b[2p, j], b[2p+1, j]) for the 8 columns j, as
// i16 differences from z_b.
//
// The micro-kernel then needs no zero-point corrections at all (the differences are exact in
// i16: |q − z| ≤ 255) and its inner step is i32x4.dot_i16x8_s, whose two 16×16-bit products and
// their sum are exact in i32: per k pair, 4 broadcast loads of A and 2 loads of B feed 8 dot
// products into 8 i32x4 accumulators (4 rows × 8 columns). Sums wrap modulo 2^32 exactly like the
// reference kernels' int32 arithmetic, so the results equal theirs bit for bit
// (src/kernels/reference/gemm.ts, conv2d.ts). XNNPACK's "c2" QS8 GEMM kernels for WebAssembly SIMD
// use the same pairing of k for i32x4.dot_i16x8_s.
//
// Threads split the columns; each column's result is computed by the same operations whatever
// the split. All pointers are byte offsets into the shared linear memory (no AS runtime).

import { requantize4, storeBytes8 } from "./output_stage";

// @ts-ignore: decorator
@inline const MR: i32 = 4;
// @ts-ignore: decorator
@inline const NR: i32 = 8;

/** Bytes of a packed A with `rows` rows and reduction length `k`. */
export function packedRowsBytes(rows: i32, k: i32): i32 {
  return ((rows + MR - 1) / MR) * ((k + 1) >> 1) * MR * 4;
}

/** Bytes of scratch one gemm call needs for its B panel. */
export function panelBytes(k: i32): i32 {
  return ((k + 1) >> 1) * NR * 4;
}

// @ts-ignore: decorator
@inline function loadQ(p: usize, signed: bool): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

/**
 * Pack rows of an 8-bit matrix: element (m, k) is at src + m·rowStride + k·kStride. Zero points
 * are per row (perRow = 1) or a single value. Rows past `rows` and the odd k are zero.
 */
export function packRows(
  src: usize, rows: i32, k: i32, rowStride: i32, kStride: i32, zeroPoints: usize, perRow: i32, signed: i32, dst: usize,
): void {
  const kp = (k + 1) >> 1;
  const s = signed != 0;
  for (let mb = 0; mb < rows; mb += MR) {
    const block = dst + <usize>((mb / MR) * kp * MR * 4);
    for (let p = 0; p < kp; p++) {
      for (let r = 0; r < MR; r++) {
        const m = mb + r;
        let lo: i32 = 0;
        let hi: i32 = 0;
        if (m < rows) {
          const z = load<i32>(zeroPoints + (perRow != 0 ? (<usize>m << 2) : 0));
          const base = src + <usize>(m * rowStride);
          const k0 = 2 * p;
          lo = loadQ(base + <usize>(k0 * kStride), s) - z;
          if (k0 + 1 < k) hi = loadQ(base + <usize>((k0 + 1) * kStride), s) - z;
        }
        store<i32>(block + <usize>((p * MR + r) << 2), (lo & 0xffff) | (hi << 16));
      }
    }
  }
}

/** Pack columns [j0, j0 + 8) of B [K][ldb] as (b[2p, j], b[2p + 1, j]) − z_b pairs, i16. */
// @ts-ignore: decorator
@inline function packPanel(b: usize, ldb: i32, k: i32, j0: i32, width: i32, zero: i32, signed: bool, panel: usize): void {
  const kp = (k + 1) >> 1;
  const z = i16x8.splat(<i16>zero);
  if (width == NR) {
    for (let p = 0; p < kp; p++) {
      const row0 = b + <usize>(2 * p * ldb + j0);
      const r0 = v128.load64_zero(row0);
      // An odd K's missing row pairs with zero weights (A is zero there): any value will do.
      const r1 = 2 * p + 1 < k ? v128.load64_zero(row0 + <usize>ldb) : r0;
      const mixed = i8x16.shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const lo = signed ? i16x8.extend_low_i8x16_s(mixed) : i16x8.extend_low_i8x16_u(mixed);
      const hi = signed ? i16x8.extend_high_i8x16_s(mixed) : i16x8.extend_high_i8x16_u(mixed);
      v128.store(panel + <usize>(p * 32), i16x8.sub(lo, z));
      v128.store(panel + <usize>(p * 32), i16x8.sub(hi, z), 16);
    }
  } else {
    for (let p = 0; p < kp; p++) {
      for (let j = 0; j < NR; j++) {
        let v0: i32 = 0;
        let v1: i32 = 0;
        if (j < width) {
          const at = b + <usize>(2 * p * ldb + j0 + j);
          v0 = loadQ(at, signed) - zero;
          if (2 * p + 1 < k) v1 = loadQ(at + <usize>ldb, signed) - zero;
        }
        store<i32>(panel + <usize>(p * 32 + j * 4), (v0 & 0xffff) | (v1 << 16));
      }
    }
  }
}

/**
 * out[m·ldo + j] for m < rows, n0 ≤ j < n1: requantized Σ_k A·B + bias[m], with per-row
 * (perRow = 1) or shared multiplier / shift. `bias` may be 0 (no bias).
 */
export function gemmRequantize(
  rows: i32, k: i32, a: usize,
  b: usize, ldb: i32, bZero: i32, bSigned: i32,
  n0: i32, n1: i32,
  bias: usize, multipliers: usize, shifts: usize, perRow: i32,
  outZero: i32, outMin: i32, outMax: i32, outSigned: i32,
  out: usize, ldo: i32, panel: usize,
): void {
  const kp = (k + 1) >> 1;
  const bs = bSigned != 0;
  const os = outSigned != 0;
  for (let j0 = n0; j0 < n1; j0 += NR) {
    const width = min(NR, n1 - j0);
    packPanel(b, ldb, k, j0, width, bZero, bs, panel);
    for (let mb = 0; mb < rows; mb += MR) {
      let pa = a + <usize>((mb / MR) * kp * MR * 4);
      let pb = panel;
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
      let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
      for (let p = 0; p < kp; p++) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        let av = v128.load32_splat(pa);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(av, b0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 4);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(av, b0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 8);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(av, b0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 12);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(av, b0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(av, b1));
        pa += 16;
        pb += 32;
      }
      const valid = min(MR, rows - mb);
      for (let r = 0; r < valid; r++) {
        const m = mb + r;
        const at = perRow != 0 ? <usize>m << 2 : 0;
        const bv = bias != 0 ? load<i32>(bias + (<usize>m << 2)) : 0;
        const mv = load<i32>(multipliers + at);
        const sv = load<i32>(shifts + at);
        const lo = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30;
        const hi = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31;
        storeBytes8(
          out + <usize>(m * ldo + j0),
          requantize4(lo, bv, mv, sv, outMin, outMax, outZero),
          requantize4(hi, bv, mv, sv, outMin, outMax, outZero),
          os, width,
        );
      }
    }
  }
}

/** The same products without the output stage: int32 accumulators acc[m·ldo + j] (+ bias[m] if given). */
export function gemmAccumulate(
  rows: i32, k: i32, a: usize,
  b: usize, ldb: i32, bZero: i32, bSigned: i32,
  n0: i32, n1: i32, bias: usize,
  out: usize, ldo: i32, panel: usize,
): void {
  const kp = (k + 1) >> 1;
  const bs = bSigned != 0;
  for (let j0 = n0; j0 < n1; j0 += NR) {
    const width = min(NR, n1 - j0);
    packPanel(b, ldb, k, j0, width, bZero, bs, panel);
    for (let mb = 0; mb < rows; mb += MR) {
      let pa = a + <usize>((mb / MR) * kp * MR * 4);
      let pb = panel;
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
      let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
      for (let p = 0; p < kp; p++) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        let av = v128.load32_splat(pa);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(av, b0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 4);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(av, b0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 8);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(av, b0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 12);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(av, b0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(av, b1));
        pa += 16;
        pb += 32;
      }
      const valid = min(MR, rows - mb);
      for (let r = 0; r < valid; r++) {
        const m = mb + r;
        const bv = i32x4.splat(bias != 0 ? load<i32>(bias + (<usize>m << 2)) : 0);
        const lo = i32x4.add(r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30, bv);
        const hi = i32x4.add(r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31, bv);
        const dst = out + <usize>((m * ldo + j0) << 2);
        if (width == NR) {
          v128.store(dst, lo);
          v128.store(dst, hi, 16);
        } else {
          // extract_lane needs constant lane indices, so the tail is written out.
          if (width > 0) store<i32>(dst, i32x4.extract_lane(lo, 0));
          if (width > 1) store<i32>(dst, i32x4.extract_lane(lo, 1), 4);
          if (width > 2) store<i32>(dst, i32x4.extract_lane(lo, 2), 8);
          if (width > 3) store<i32>(dst, i32x4.extract_lane(lo, 3), 12);
          if (width > 4) store<i32>(dst, i32x4.extract_lane(hi, 0), 16);
          if (width > 5) store<i32>(dst, i32x4.extract_lane(hi, 1), 20);
          if (width > 6) store<i32>(dst, i32x4.extract_lane(hi, 2), 24);
        }
      }
    }
  }
}
