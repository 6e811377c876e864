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

/** Bytes of scratch one gemm call needs for its B panel (and 16 for a gather). */
export function panelBytes(k: i32): i32 {
  return ((k + 1) >> 1) * NR * 4 + 16;
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
 * Implicit im2col: the 8 bytes of im2col row (c, ky, kx) for output columns j0 … j0 + 7 (in the
 * low half of a v128), read straight from the channel plane x[c] [H][W], so that no im2col matrix
 * is ever written. The fast case — the 8 outputs on one output row, stride 1 or 2, every tap
 * inside the image — is one vector load; anything else is gathered value by value, with the zero
 * point for padding (the reference's im2col, src/kernels/reference/conv2d_gemm.ts).
 */
// @ts-ignore: decorator
@inline function im2colRow8(
  plane: usize, h: i32, w: i32, sh: i32, sw: i32, ow: i32, rowOffset: i32, colOffset: i32,
  width: i32, oy0: i32, ox0: i32, sameRow: bool, zero: i32, tmp: usize,
): v128 {
  // rowOffset = ky·DH − PT and colOffset = kx·DW − PL: the tap's offset from the output's origin.
  if (sameRow && width == 8) {
    const iy = oy0 * sh + rowOffset;
    const ix0 = ox0 * sw + colOffset;
    if (iy >= 0 && iy < h && ix0 >= 0) {
      const row = plane + <usize>(iy * w + ix0);
      if (sw == 1 && ix0 + 8 <= w) return v128.load64_zero(row);
      if (sw == 2 && ix0 + 16 <= w) {
        const v = v128.load(row);
        return i8x16.shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
      }
    }
  }
  let oy = oy0;
  let ox = ox0;
  for (let j = 0; j < 8; j++) {
    let v = zero;
    if (j < width) {
      const iy = oy * sh + rowOffset;
      const ix = ox * sw + colOffset;
      if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = <i32>load<u8>(plane + <usize>(iy * w + ix));
    }
    store<u8>(tmp + <usize>j, <u8>v);
    ox++;
    if (ox == ow) { ox = 0; oy++; }
  }
  return v128.load64_zero(tmp);
}

/**
 * packPanel for the implicit im2col matrix of the image x [C][H][W] of one channel group, with
 * the convolution's geometry as 11 i32 at `geometry`: H, W, KH, KW, SH, SW, PT, PL, DH, DW, OW.
 * Rows k = (c·KH + ky)·KW + kx are walked with counters (no division per row).
 */
// @ts-ignore: decorator
@inline function packPanelConv(x: usize, geometry: usize, k: i32, j0: i32, width: i32, zero: i32, signed: bool, panel: usize, tmp: usize): void {
  const h = load<i32>(geometry);
  const w = load<i32>(geometry, 4);
  const kh = load<i32>(geometry, 8);
  const kw = load<i32>(geometry, 12);
  const sh = load<i32>(geometry, 16);
  const sw = load<i32>(geometry, 20);
  const pt = load<i32>(geometry, 24);
  const pl = load<i32>(geometry, 28);
  const dh = load<i32>(geometry, 32);
  const dw = load<i32>(geometry, 36);
  const ow = load<i32>(geometry, 40);
  const kp = (k + 1) >> 1;
  const oy0 = j0 / ow;
  const ox0 = j0 - oy0 * ow;
  const sameRow = ox0 + 7 < ow;
  const z = i16x8.splat(<i16>zero);
  const planeBytes = <usize>(h * w);
  // Interior panels (one output row, every tap of every column inside the image, stride 1):
  // each im2col row is one 8-byte load at a pointer that advances with (c, ky, kx).
  const iyTop = oy0 * sh - pt;
  const ixLeft = ox0 * sw - pl;
  if (sameRow && width == NR && sw == 1 && iyTop >= 0 && iyTop + (kh - 1) * dh < h && ixLeft >= 0 && ixLeft + (kw - 1) * dw + NR <= w) {
    let plane = x + <usize>(iyTop * w + ixLeft);
    let rowPtr = plane;
    let ky = 0;
    let kx = 0;
    for (let p = 0; p < kp; p++) {
      const a = v128.load64_zero(rowPtr);
      if (++kx == kw) {
        kx = 0;
        if (++ky == kh) { ky = 0; plane += planeBytes; }
        rowPtr = plane + <usize>(ky * dh * w);
      } else {
        rowPtr += <usize>dw;
      }
      let b = a;
      if (2 * p + 1 < k) {
        b = v128.load64_zero(rowPtr);
        if (++kx == kw) {
          kx = 0;
          if (++ky == kh) { ky = 0; plane += planeBytes; }
          rowPtr = plane + <usize>(ky * dh * w);
        } else {
          rowPtr += <usize>dw;
        }
      }
      const mixed = i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const lo = signed ? i16x8.extend_low_i8x16_s(mixed) : i16x8.extend_low_i8x16_u(mixed);
      const hi = signed ? i16x8.extend_high_i8x16_s(mixed) : i16x8.extend_high_i8x16_u(mixed);
      v128.store(panel + <usize>(p * 32), i16x8.sub(lo, z));
      v128.store(panel + <usize>(p * 32), i16x8.sub(hi, z), 16);
    }
    return;
  }
  let plane = x;
  let ky = 0;
  let kx = 0;
  let r0 = i64x2.splat(0);
  for (let r = 0; r < k; r++) {
    const row = im2colRow8(plane, h, w, sh, sw, ow, ky * dh - pt, kx * dw - pl, width, oy0, ox0, sameRow, zero, tmp);
    if (++kx == kw) {
      kx = 0;
      if (++ky == kh) { ky = 0; plane += planeBytes; }
    }
    if ((r & 1) == 0) {
      r0 = row;
      if (r + 1 < k) continue;
    }
    // A pair (r − 1, r), or the odd last row paired with itself (its weights are zero).
    const r1 = (r & 1) == 0 ? r0 : row;
    const mixed = i8x16.shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const lo = signed ? i16x8.extend_low_i8x16_s(mixed) : i16x8.extend_low_i8x16_u(mixed);
    const hi = signed ? i16x8.extend_high_i8x16_s(mixed) : i16x8.extend_high_i8x16_u(mixed);
    const p = r >> 1;
    v128.store(panel + <usize>(p * 32), i16x8.sub(lo, z));
    v128.store(panel + <usize>(p * 32), i16x8.sub(hi, z), 16);
  }
}

/**
 * out[m·ldo + j] for m < rows, n0 ≤ j < n1: requantized Σ_k A·B + bias[m], with per-row
 * (perRow = 1) or shared multiplier / shift, then through the byte table if `table` ≠ 0.
 * `bias` may be 0 (no bias). With `geometry` ≠ 0, B is not a matrix but the image of a
 * convolution's channel group (at `b`), read as its im2col matrix without writing one.
 */
export function gemmRequantize(
  rows: i32, k: i32, a: usize,
  b: usize, ldb: i32, bZero: i32, bSigned: i32,
  n0: i32, n1: i32,
  bias: usize, multipliers: usize, shifts: usize, perRow: i32,
  outZero: i32, outMin: i32, outMax: i32, outSigned: i32,
  out: usize, ldo: i32, table: usize, geometry: usize, panel: usize,
): void {
  const kp = (k + 1) >> 1;
  const bs = bSigned != 0;
  const os = outSigned != 0;
  const tmp = panel + <usize>(kp * 32);
  for (let j0 = n0; j0 < n1; j0 += NR) {
    const width = min(NR, n1 - j0);
    if (geometry != 0) packPanelConv(b, geometry, k, j0, width, bZero, bs, panel, tmp);
    else packPanel(b, ldb, k, j0, width, bZero, bs, panel);
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
          os, width, table,
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
