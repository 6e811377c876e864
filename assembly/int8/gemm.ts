// 8-bit GEMM with a fused requantizing output stage, for WebAssembly SIMD (AssemblyScript).
//
//   out[m, j] = requantize_m( Σ_k (a[m, k] − z_a[m]) · (b[k, j] − z_b) )      for n0 ≤ j < n1
//
// A (weights: a convolution's W[C_out, K], or Bᵀ of a fully connected layer) is packed once, at
// prepare time, as i16 differences from its zero points, two k at a time and MR = 4 rows
// interleaved: for each row block and k pair p, 4 × (a[m, 2p], a[m, 2p+1]) as 4 × 32 bits.
// B (activations, [K][ldb] bytes: an im2col matrix or a 1×1 convolution's input plane) is packed
// per NR = 8 column panel into the matching layout, (b[2p, j], b[2p+1, j]) for the 8 columns j, as
// i16: the differences from z_b, or — for layers whose A is known when they are prepared
// (convolutions, fully connected layers) — the raw values, with the constant
// −z_b·Σ_k (a[m, k] − z_a[m]) folded into row m's bias instead (one subtraction less per value).
//
// The micro-kernel then needs no zero-point corrections at all (every value is exact in i16) and
// its inner step is i32x4.dot_i16x8_s, whose two 16×16-bit products and their sum are exact in
// i32: per k pair, 4 broadcast loads of A and 2 loads of B feed 8 dot products into 8 i32x4
// accumulators (4 rows × 8 columns). Sums wrap modulo 2^32 exactly like the reference kernels'
// int32 arithmetic, so the results equal theirs bit for bit (src/kernels/reference/gemm.ts,
// conv2d.ts). XNNPACK's "c2" QS8 GEMM kernels for WebAssembly SIMD use the same pairing of k for
// i32x4.dot_i16x8_s.
//
// Threads split the columns; each column's result is computed by the same operations whatever
// the split. All pointers are byte offsets into the shared linear memory (no AS runtime).

import { requantize4Staged, storeBytes8 } from "./output_stage";

// @ts-ignore: decorator
@inline const MR: i32 = 4;
// @ts-ignore: decorator
@inline const NR: i32 = 8;

/** Bytes of a packed A with `rows` rows and reduction length `k`. */
export function packedRowsBytes(rows: i32, k: i32): i32 {
  return ((rows + MR - 1) / MR) * ((k + 1) >> 1) * MR * 4;
}

/**
 * Bytes of scratch one gemm call needs: its B panel, 16 for a gather, and an im2col row's offset
 * per k (convolutions).
 */
export function panelBytes(k: i32): i32 {
  return ((k + 1) >> 1) * NR * 4 + 16 + (k + 2) * 4;
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

/** Eight bytes at p widened to i16 lanes, as int8 or uint8. */
// @ts-ignore: decorator
@inline function widen8(p: usize, signed: bool): v128 {
  return signed ? v128.load8x8_s(p) : v128.load8x8_u(p);
}

/** Rows 2p and 2p + 1 of a panel (i16x8 each) stored as their 8 column pairs at `dst`. */
// @ts-ignore: decorator
@inline function storePairs(row0: v128, row1: v128, dst: usize): void {
  v128.store(dst, i8x16.shuffle(row0, row1, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
  v128.store(dst, i8x16.shuffle(row0, row1, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
}

/**
 * Pack columns [j0, j0 + 8) of B [K][ldb] as (b[2p, j], b[2p + 1, j]) pairs, i16: less z_b when
 * `subtract`, else the raw values (the caller folded z_b into the output stages' bias). An odd
 * K's missing row pairs with zero weights (A is zero there), and so do the missing columns of a
 * narrow last panel with outputs that are never stored: any value will do.
 */
// @ts-ignore: decorator
@inline function packPanel(b: usize, ldb: i32, k: i32, j0: i32, width: i32, zero: i32, subtract: bool, signed: bool, panel: usize): void {
  const kp = (k + 1) >> 1;
  const z = i16x8.splat(<i16>(subtract ? zero : 0));
  if (width == NR) {
    for (let p = 0; p < kp; p++) {
      const row0 = b + <usize>(2 * p * ldb + j0);
      const e = i16x8.sub(widen8(row0, signed), z);
      const f = 2 * p + 1 < k ? i16x8.sub(widen8(row0 + <usize>ldb, signed), z) : e;
      storePairs(e, f, panel + <usize>(p * 32));
    }
  } else {
    const zs = subtract ? zero : 0;
    for (let p = 0; p < kp; p++) {
      for (let j = 0; j < NR; j++) {
        let v0: i32 = 0;
        let v1: i32 = 0;
        if (j < width) {
          const at = b + <usize>(2 * p * ldb + j0 + j);
          v0 = loadQ(at, signed) - zs;
          if (2 * p + 1 < k) v1 = loadQ(at + <usize>ldb, signed) - zs;
        }
        store<i32>(panel + <usize>(p * 32 + j * 4), (v0 & 0xffff) | (v1 << 16));
      }
    }
  }
}

/**
 * Planes [c0, c1) of the image x [C][H][W] with z around them, into out [C][PT + H + PB][PL + W + PR]:
 * a convolution with padding reads this copy without padding, so that all its panels but those
 * that straddle two output rows are interior ones (packPanelConv), where a panel at the image's
 * border would take the slow gathering path for every one of its K rows. Writes exactly the
 * planes' bytes (other threads write the planes around them).
 */
export function padImage(x: usize, h: i32, w: i32, c0: i32, c1: i32, pt: i32, pl: i32, pb: i32, pr: i32, zero: i32, out: usize): void {
  const wp = pl + w + pr;
  const hp = pt + h + pb;
  const z = i8x16.splat(<i8>zero);
  for (let c = c0; c < c1; c++) {
    const dst = out + <usize>(c * hp * wp);
    const src = x + <usize>(c * h * w);
    for (let r = 0; r < hp; r++) {
      const row = dst + <usize>(r * wp);
      const iy = r - pt;
      if (iy < 0 || iy >= h) {
        fillBytes(row, wp, z);
        continue;
      }
      fillBytes(row, pl, z);
      const from = src + <usize>(iy * w);
      const to = row + <usize>pl;
      let i = 0;
      for (; i + 16 <= w; i += 16) v128.store(to + <usize>i, v128.load(from + <usize>i));
      for (; i < w; i++) store<u8>(to + <usize>i, load<u8>(from + <usize>i));
      fillBytes(to + <usize>w, pr, z);
    }
  }
}

/** n bytes of z at p (16 at a time, then one by one: nothing past p + n is written). */
// @ts-ignore: decorator
@inline function fillBytes(p: usize, n: i32, z: v128): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) v128.store(p + <usize>i, z);
  for (; i < n; i++) store<u8>(p + <usize>i, i8x16.extract_lane_u(z, 0));
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
 * The im2col row offsets of a convolution (geometry as for packPanelConv): row r = (c, ky, kx) of
 * the panel whose first output reads x at `base` reads x at base + offsets[r] =
 * base + c·H·W + ky·DH·W + kx·DW. An odd K gets one more entry, a copy of the last (its pair
 * partner has zero weights).
 */
// @ts-ignore: decorator
@inline function im2colOffsets(geometry: usize, k: i32, offsets: usize): void {
  const h = load<i32>(geometry);
  const w = load<i32>(geometry, 4);
  const kh = load<i32>(geometry, 8);
  const kw = load<i32>(geometry, 12);
  const dh = load<i32>(geometry, 32);
  const dw = load<i32>(geometry, 36);
  let r = 0;
  for (let c = 0; r < k; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        store<i32>(offsets + (<usize>r << 2), c * h * w + ky * dh * w + kx * dw);
        r++;
      }
    }
  }
  store<i32>(offsets + (<usize>k << 2), load<i32>(offsets + (<usize>(k - 1) << 2)));
}

/**
 * packPanelConv's interior panels (see there): im2col rows 2p and 2p + 1 at base + offsets[2p],
 * base + offsets[2p + 1]; `stride2` for a stride of 2 along the width (the row's bytes are the
 * even ones of 16). Both flags are constants at each call site, so that the loop has no branches.
 */
// @ts-ignore: decorator
@inline function packInteriorPanel(base: usize, offsets: usize, k: i32, stride2: bool, signed: bool, panel: usize): void {
  // Pointers, not indices: fewer live values in the loop (the JIT would otherwise spill some).
  const end = offsets + <usize>(((k + 1) >> 1) << 3);
  let off = offsets;
  let dst = panel;
  while (off < end) {
    const at0 = base + <usize>load<i32>(off);
    const at1 = base + <usize>load<i32>(off, 4);
    if (stride2) {
      const mixed = i8x16.shuffle(v128.load(at0), v128.load(at1), 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
      v128.store(dst, signed ? i16x8.extend_low_i8x16_s(mixed) : i16x8.extend_low_i8x16_u(mixed));
      v128.store(dst, signed ? i16x8.extend_high_i8x16_s(mixed) : i16x8.extend_high_i8x16_u(mixed), 16);
    } else {
      storePairs(widen8(at0, signed), widen8(at1, signed), dst);
    }
    off += 8;
    dst += 32;
  }
}

/**
 * packPanel for the implicit im2col matrix of the image x [C][H][W] of one channel group, with
 * the convolution's geometry as 11 i32 at `geometry`: H, W, KH, KW, SH, SW, PT, PL, DH, DW, OW.
 * Rows k = (c·KH + ky)·KW + kx are walked with counters (no division per row). The values are raw
 * (a convolution's stages always hold the folded zero-point term), with z_x, the value of the
 * real 0, in the padding.
 */
// @ts-ignore: decorator
@inline function packPanelConv(
  x: usize, geometry: usize, offsets: usize, k: i32, j0: i32, width: i32, zero: i32, signed: bool, panel: usize, tmp: usize,
): void {
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
  const oy0 = j0 / ow;
  const ox0 = j0 - oy0 * ow;
  const sameRow = ox0 + 7 < ow;
  const planeBytes = <usize>(h * w);
  // Interior panels (one output row, every tap of every column inside the image, stride 1 or 2):
  // each im2col row is one load at its offset (im2colOffsets) — 8 bytes, or with stride 2 the 16
  // bytes whose even ones are the row (the odd ones, and the last byte, which may lie past the
  // image row, are not used: the allocator leaves over-read slack past a tensor).
  const iyTop = oy0 * sh - pt;
  const ixLeft = ox0 * sw - pl;
  if (sameRow && width == NR && (sw == 1 || sw == 2) && iyTop >= 0 && iyTop + (kh - 1) * dh < h &&
      ixLeft >= 0 && ixLeft + (kw - 1) * dw + sw * (NR - 1) < w) {
    const base = x + <usize>(iyTop * w + ixLeft);
    if (sw == 1) {
      if (signed) packInteriorPanel(base, offsets, k, false, true, panel);
      else packInteriorPanel(base, offsets, k, false, false, panel);
    } else {
      if (signed) packInteriorPanel(base, offsets, k, true, true, panel);
      else packInteriorPanel(base, offsets, k, true, false, panel);
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
    const p = r >> 1;
    v128.store(panel + <usize>(p * 32), signed ? i16x8.extend_low_i8x16_s(mixed) : i16x8.extend_low_i8x16_u(mixed));
    v128.store(panel + <usize>(p * 32), signed ? i16x8.extend_high_i8x16_s(mixed) : i16x8.extend_high_i8x16_u(mixed), 16);
  }
}

/**
 * out[m·ldo + j] for m < rows, n0 ≤ j < n1: Σ_k A·B requantized with row m's output stage at
 * stages + m·stageStride (output_stage.ts; a stride of 0 shares one stage), then through the byte
 * table if `table` ≠ 0. `short` (from prepareStages) when every row's stage takes the short form.
 * With `bZeroFolded`, the stages' bias already holds −z_b·Σ_k (a[m, k] − z_a[m]) and B is used
 * raw: Σ (a − z_a)·b plus that term is Σ (a − z_a)·(b − z_b), modulo 2^32 as the reference's sums
 * (z_b is still the value of a convolution's padding). With `geometry` ≠ 0, B is not a matrix
 * but the image of a convolution's channel group (at `b`), read as its im2col matrix without
 * writing one; `bZeroFolded` must then be 1.
 */
export function gemmRequantize(
  rows: i32, k: i32, a: usize,
  b: usize, ldb: i32, bZero: i32, bZeroFolded: i32, bSigned: i32,
  n0: i32, n1: i32,
  stages: usize, stageStride: i32, short: i32, outSigned: i32,
  out: usize, ldo: i32, table: usize, geometry: usize, panel: usize,
): void {
  // Each form of the output stage has its own copy of the loops: the output stage stays branch-free.
  if (short != 0) {
    gemmRequantizeWith(rows, k, a, b, ldb, bZero, bZeroFolded, bSigned, n0, n1, stages, stageStride, false, outSigned, out, ldo, table, geometry, panel);
  } else {
    gemmRequantizeWith(rows, k, a, b, ldb, bZero, bZeroFolded, bSigned, n0, n1, stages, stageStride, true, outSigned, out, ldo, table, geometry, panel);
  }
}

/** Requantize and store row m's 8 (or `width`) accumulators of a tile. */
// @ts-ignore: decorator
@inline function finishTileRow(
  m: i32, lo: v128, hi: v128, stages: usize, stageStride: i32, general: bool, os: bool, out: usize, ldo: i32, j0: i32, width: i32, table: usize,
): void {
  const st = stages + <usize>(m * stageStride);
  storeBytes8(out + <usize>(m * ldo + j0), requantize4Staged(lo, st, general), requantize4Staged(hi, st, general), os, width, table);
}

/** Row m's 8 (or `width`) accumulators of a tile, stored as int32 at out + (m·ldo + j0)·4. */
// @ts-ignore: decorator
@inline function storeTileRow(m: i32, lo: v128, hi: v128, out: usize, ldo: i32, j0: i32, width: i32): void {
  const dst = out + <usize>((m * ldo + j0) << 2);
  if (width == NR) {
    v128.store(dst, lo);
    v128.store(dst, hi, 16);
    return;
  }
  // extract_lane needs constant lane indices, so the tail is written out.
  if (width > 0) store<i32>(dst, i32x4.extract_lane(lo, 0));
  if (width > 1) store<i32>(dst, i32x4.extract_lane(lo, 1), 4);
  if (width > 2) store<i32>(dst, i32x4.extract_lane(lo, 2), 8);
  if (width > 3) store<i32>(dst, i32x4.extract_lane(lo, 3), 12);
  if (width > 4) store<i32>(dst, i32x4.extract_lane(hi, 0), 16);
  if (width > 5) store<i32>(dst, i32x4.extract_lane(hi, 1), 20);
  if (width > 6) store<i32>(dst, i32x4.extract_lane(hi, 2), 24);
}

/**
 * One panel's products: rows [0, rows) of A times the packed panel at `panel` (columns j0 …
 * j0 + width − 1), requantized and stored as bytes, or — with `accumulate` (a constant at each
 * call site) — stored as int32.
 */
// @ts-ignore: decorator
@inline function multiplyPanel(
  rows: i32, kp: i32, a: usize, panel: usize, j0: i32, width: i32,
  stages: usize, stageStride: i32, general: bool, os: bool, out: usize, ldo: i32, table: usize,
  accumulate: bool,
): void {
  for (let mb = 0; mb < rows; mb += MR) {
    let pa = a + <usize>((mb / MR) * kp * MR * 4);
    let pb = panel;
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    // Two k pairs per iteration (half the loop's own instructions), split into two basic blocks
    // by an always-true test: a JIT schedules a block's loads first, and the second pair's
    // operands would otherwise be live (and spilled) across the first pair's arithmetic.
    const paEnd = pa + <usize>(kp * 16);
    const paEnd2 = pa + <usize>((kp & ~1) * 16);
    while (pa < paEnd2) {
      let b0 = v128.load(pb);
      let b1 = v128.load(pb, 16);
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
      if (pb != 0) {
        b0 = v128.load(pb, 32);
        b1 = v128.load(pb, 48);
        av = v128.load32_splat(pa, 16);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(av, b0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 20);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(av, b0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 24);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(av, b0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(av, b1));
        av = v128.load32_splat(pa, 28);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(av, b0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(av, b1));
      }
      pa += 32;
      pb += 64;
    }
    if (pa < paEnd) {
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
    }
    if (accumulate) {
      storeTileRow(mb, c00, c01, out, ldo, j0, width);
      if (mb + 1 < rows) storeTileRow(mb + 1, c10, c11, out, ldo, j0, width);
      if (mb + 2 < rows) storeTileRow(mb + 2, c20, c21, out, ldo, j0, width);
      if (mb + 3 < rows) storeTileRow(mb + 3, c30, c31, out, ldo, j0, width);
    } else {
      finishTileRow(mb, c00, c01, stages, stageStride, general, os, out, ldo, j0, width, table);
      if (mb + 1 < rows) finishTileRow(mb + 1, c10, c11, stages, stageStride, general, os, out, ldo, j0, width, table);
      if (mb + 2 < rows) finishTileRow(mb + 2, c20, c21, stages, stageStride, general, os, out, ldo, j0, width, table);
      if (mb + 3 < rows) finishTileRow(mb + 3, c30, c31, stages, stageStride, general, os, out, ldo, j0, width, table);
    }
  }
}

// @ts-ignore: decorator
@inline function gemmRequantizeWith(
  rows: i32, k: i32, a: usize,
  b: usize, ldb: i32, bZero: i32, bZeroFolded: i32, bSigned: i32,
  n0: i32, n1: i32,
  stages: usize, stageStride: i32, general: bool, outSigned: i32,
  out: usize, ldo: i32, table: usize, geometry: usize, panel: usize,
): void {
  const kp = (k + 1) >> 1;
  const bs = bSigned != 0;
  const os = outSigned != 0;
  const subtract = bZeroFolded == 0;
  const tmp = panel + <usize>(kp * 32);
  const offsets = tmp + 16;
  if (geometry != 0) im2colOffsets(geometry, k, offsets);
  for (let j0 = n0; j0 < n1; j0 += NR) {
    const width = min(NR, n1 - j0);
    if (geometry != 0) packPanelConv(b, geometry, offsets, k, j0, width, bZero, bs, panel, tmp);
    else packPanel(b, ldb, k, j0, width, bZero, subtract, bs, panel);
    multiplyPanel(rows, kp, a, panel, j0, width, stages, stageStride, general, os, out, ldo, table, false);
  }
}

/**
 * The same products without the output stage: int32 accumulators out[(m·ldo + j)·4] (a bias, like
 * the rest of the output stage, is the caller's to apply later). B is a matrix, or, with `geometry` ≠ 0, the image of a convolution read
 * as its im2col matrix (z_b pads it). With `bZeroFolded`, B is used raw (Σ (a − z_a)·b: the
 * caller adds −z_b·Σ_k (a[m, k] − z_a[m]) later, as gemmRequantize's stages do); it must be 1
 * with `geometry`.
 */
export function gemmAccumulate(
  rows: i32, k: i32, a: usize,
  b: usize, ldb: i32, bZero: i32, bZeroFolded: i32, bSigned: i32,
  n0: i32, n1: i32,
  out: usize, ldo: i32, geometry: usize, panel: usize,
): void {
  const kp = (k + 1) >> 1;
  const bs = bSigned != 0;
  const tmp = panel + <usize>(kp * 32);
  const offsets = tmp + 16;
  if (geometry != 0) im2colOffsets(geometry, k, offsets);
  for (let j0 = n0; j0 < n1; j0 += NR) {
    const width = min(NR, n1 - j0);
    if (geometry != 0) packPanelConv(b, geometry, offsets, k, j0, width, bZero, bs, panel, tmp);
    else packPanel(b, ldb, k, j0, width, bZero, bZeroFolded == 0, bs, panel);
    multiplyPanel(rows, kp, a, panel, j0, width, 0, 0, false, false, out, ldo, 0, true);
  }
}
