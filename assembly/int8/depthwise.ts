// Depthwise 8-bit convolution (group = C_in = C_out) with the fused output stage, for
// AssemblyScript. Per channel c of one image:
//
//   acc[oy, ox] = Σ_{ky, kx} (w[c, ky, kx] − z_w[c]) · (x[c, iy, ix] − z_x)      (padding: x − z_x = 0)
//   iy = oy·SH − PT + ky·DH,  ix = ox·SW − PL + kx·DW
//
// equal bit for bit to the reference conv2d (src/kernels/reference/conv2d.ts) with group = C.
//
// The kernel computes the same sum as Σ (w − z_w)·x − z_x·Σ (w − z_w) with the padding holding
// z_x: the second term is a per-channel constant that the caller folds into the bias of the
// channel's output stage (stages + c·stageStride, output_stage.ts), and the sum is taken over the
// raw 8-bit values. Every step is int32 arithmetic modulo 2^32, as the reference's, so the results
// are equal bit for bit (the products and pair sums are exact: |w − z_w| ≤ 255, |x| ≤ 255).
//
// Taps are taken two at a time along a kernel row, (kx, kx + 1), so that the inner step is
// i32x4.dot_i16x8_s — two 16×16-bit products and their sum, exact in i32 — as in the GEMM
// (gemm.ts): per tap pair, one broadcast weight pair (w[kx], w[kx+1]) and, for 4 outputs, one load
// of the matching input pairs (x[ix], x[ix + DW]). An odd kernel width pairs its last tap with a
// zero weight (0 · anything = 0, so what the second half reads does not matter).
//
// The input pairs come from "pair rows", one per input row, written once per row as i16: phase
// φ ∈ [0, SW) of a pair row holds P_φ[m] = (xp[SW·m + φ], xp[SW·m + φ + DW]) for the padded row xp
// (z_x in the padding). Tap pair kx of outputs ox … ox + 3 is then 16 contiguous bytes: phase
// (kx·DW) mod SW, from m = ox + ⌊kx·DW / SW⌋. Any stride or dilation becomes a contiguous load,
// and the inner loop has no boundary tests.
//
// Pair rows live in a ring of (KH − 1)·DH + 1 rows (the rows one output row reads), filled as the
// output rows advance, so each input row is converted once and the working set stays in L1;
// padding rows all point at one row of z_x. Sixteen outputs (four accumulators) share each
// weight broadcast, and their output stage ends in one 16-byte store. What is left of a row after
// its whole blocks is one more block of 16 (or 8, for a rest of at most 8) ending at the row's end:
// it overlaps the block before, whose outputs it writes again with the same values, so only rows
// narrower than a block need a partial store.
//
// Unit dilation along the width with strides 1 or 2 (every depthwise layer of the usual mobile
// networks) puts tap pair kx at the constant byte offset 4·kx / SW in its pair row: 3×3 kernels
// then run fully unrolled with their six weight pairs in registers, and 5-wide kernels unrolled
// along the kernel row. Other geometries walk a table of tap-pair addresses.
//
// A note on the code's shape: a JIT (V8's TurboFan) schedules the loads of a basic block first
// and its arithmetic as late as it can, so a whole 3×3 block in one basic block keeps all 24 input
// vectors live and spills them. A branch per kernel row (`if (p != 0)`, always true) ends the
// block there and keeps each row's loads next to their use.

import { requantize4Staged, stageIsShort, storeBytes16, storeBytes8 } from "./output_stage";

/** Outputs computed per block: four i32x4 accumulators. */
// @ts-ignore: decorator
@inline const BLOCK: i32 = 16;

// The scratch layout of one thread, shared by depthwiseScratchBytes and depthwiseConv.

// @ts-ignore: decorator
@inline function outputWidth(w: i32, kw: i32, sw: i32, pl: i32, pr: i32, dw: i32): i32 {
  return (w + pl + pr - (kw - 1) * dw - 1) / sw + 1;
}

/**
 * Pairs per pair-row phase, a multiple of 8: every block's 16 outputs plus the widest tap pair's
 * offset, and the PL + W + 8 pairs that convertRow writes.
 */
// @ts-ignore: decorator
@inline function pairWidth(ow: i32, kw: i32, sw: i32, pl: i32, w: i32, dw: i32): i32 {
  return (max(max(ow, BLOCK) + ((kw - 1) * dw) / sw + 1, pl + w + 8) + 7) & ~7;
}

/** Bytes of the padded byte row: everything the pair-row builders read, and room for 16-byte copies. */
// @ts-ignore: decorator
@inline function paddedRowBytes(wq: i32, sw: i32, dw: i32): i32 {
  return (sw * wq + dw + 48) & ~15;
}

/** Bytes of one pair row (all its phases). */
// @ts-ignore: decorator
@inline function pairRowBytes(wq: i32, sw: i32): i32 {
  return sw * wq * 4;
}

// @ts-ignore: decorator
@inline function tapPairs(kh: i32, kw: i32): i32 {
  return kh * ((kw + 1) >> 1);
}

/** Scratch bytes of one thread (see depthwiseConv for the layout). */
export function depthwiseScratchBytes(h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, dh: i32, dw: i32): i32 {
  const ow = outputWidth(w, kw, sw, pl, pr, dw);
  const wq = pairWidth(ow, kw, sw, pl, w, dw);
  const ring = (kh - 1) * dh + 1;
  return paddedRowBytes(wq, sw, dw) + (ring + 1) * pairRowBytes(wq, sw) + tapPairs(kh, kw) * 8 + kh * 4 + 16;
}

/** Eight bytes at p widened to i16 lanes, as int8 or uint8. */
// @ts-ignore: decorator
@inline function widen8(p: usize, signed: bool): v128 {
  return signed ? v128.load8x8_s(p) : v128.load8x8_u(p);
}

/**
 * Pair row of input row `src` (W bytes) into `dst`, a pair row that already holds z_x wherever
 * this function does not write (ring rows are filled with z_x once per call): phase φ at
 * dst + φ·wq·4, or, for SW = 2 and DW = 1, where the two phases are one i16 row read from offsets
 * 0 and 2 bytes (P_φ[m] = (xp[2m + φ], xp[2m + φ + 1])), that row.
 *
 * Unit dilation reads the row directly with 8-byte widening loads; the last ones run up to 8 bytes
 * past the row (into the next row, or the allocator's over-read slack past the tensor), and the
 * pairs they spoil past the row's end are written back. Other geometries go through the padded
 * byte row `tb` (z_x in the padding).
 */
// @ts-ignore: decorator
@inline function convertRow(
  src: usize, w: i32, pl: i32, wq: i32, sw: i32, dw: i32, xZero: i32, signed: bool, tb: usize, dst: usize,
): void {
  const z16 = i16x8.splat(<i16>xZero);
  if (sw == 1 && dw == 1) {
    // (x[i], x[i + 1]) for 8 i: interleave the i16 lanes of two widened loads; pair m = PL + i.
    const row = dst + <usize>(pl << 2);
    for (let i = 0; i < w; i += 8) {
      const e = widen8(src + <usize>i, signed);
      const f = widen8(src + <usize>(i + 1), signed);
      v128.store(row + <usize>(i << 2), i8x16.shuffle(e, f, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
      v128.store(row + <usize>(i << 2), i8x16.shuffle(e, f, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
    }
    // The pairs straddling the padding: (x[W − 1], z) and, with left padding, (z, x[0]); then z.
    const z = xZero & 0xffff;
    const first = signed ? <i32>load<i8>(src) : <i32>load<u8>(src);
    const last = signed ? <i32>load<i8>(src + <usize>(w - 1)) : <i32>load<u8>(src + <usize>(w - 1));
    v128.store(row + <usize>(w << 2), z16);
    v128.store(row + <usize>(w << 2), z16, 16);
    store<i32>(row + <usize>((w - 1) << 2), (last & 0xffff) | (z << 16));
    if (pl > 0) store<i32>(row - 4, z | (first << 16));
  } else if (sw == 2 && dw == 1) {
    // The padded row itself as i16, x[i] at entry PL + i.
    const row = dst + <usize>(pl << 1);
    for (let i = 0; i < w; i += 8) v128.store(row + <usize>(i << 1), widen8(src + <usize>i, signed));
    v128.store(row + <usize>(w << 1), z16);
  } else {
    // Through the padded byte row, whose padding holds z_x: [PL, PL + W + 16) is rewritten here.
    const bytes = tb + <usize>pl;
    for (let i = 0; i < w; i += 16) v128.store(bytes + <usize>i, v128.load(src + <usize>i));
    v128.store(bytes + <usize>w, i8x16.splat(<i8>xZero));
    if (sw == 1) {
      // (xp[m], xp[m + DW]) for 8 m.
      for (let m = 0; m < wq; m += 8) {
        const e = widen8(tb + <usize>m, signed);
        const f = widen8(tb + <usize>(m + dw), signed);
        v128.store(dst + <usize>(m << 2), i8x16.shuffle(e, f, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
        v128.store(dst + <usize>(m << 2), i8x16.shuffle(e, f, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
      }
    } else if (sw == 2) {
      // (xp[2m + φ], xp[2m + φ + DW]) for 8 m: the even bytes of two loads, interleaved, widened.
      for (let phase = 0; phase < 2; phase++) {
        const row = dst + <usize>(phase * wq * 4);
        for (let m = 0; m < wq; m += 8) {
          const a = v128.load(tb + <usize>(2 * m + phase));
          const b = v128.load(tb + <usize>(2 * m + phase + dw));
          const mixed = i8x16.shuffle(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
          v128.store(row + <usize>(m << 2), signed ? i16x8.extend_low_i8x16_s(mixed) : i16x8.extend_low_i8x16_u(mixed));
          v128.store(row + <usize>(m << 2), signed ? i16x8.extend_high_i8x16_s(mixed) : i16x8.extend_high_i8x16_u(mixed), 16);
        }
      }
    } else {
      for (let phase = 0; phase < sw; phase++) {
        const row = dst + <usize>(phase * wq * 4);
        for (let m = 0; m < wq; m++) {
          const at = tb + <usize>(sw * m + phase);
          const a = signed ? <i32>load<i8>(at) : <i32>load<u8>(at);
          const b = signed ? <i32>load<i8>(at + <usize>dw) : <i32>load<u8>(at + <usize>dw);
          store<i32>(row + <usize>(m << 2), (a & 0xffff) | (b << 16));
        }
      }
    }
  }
}

/**
 * Requantize a block's accumulators with the channel's stage at `st` and store them: all four
 * (16 outputs) when `wide`, else the first two (8 outputs). `count` < the block's width only for
 * rows narrower than one block.
 */
// @ts-ignore: decorator
@inline function finishBlock(
  dst: usize, a0: v128, a1: v128, a2: v128, a3: v128, wide: bool,
  st: usize, general: bool, signed: bool, count: i32, table: usize, tmp: usize,
): void {
  if (wide) {
    storeBytes16(dst, requantize4Staged(a0, st, general), requantize4Staged(a1, st, general), requantize4Staged(a2, st, general),
      requantize4Staged(a3, st, general), signed, count, table, tmp);
  } else {
    storeBytes8(dst, requantize4Staged(a0, st, general), requantize4Staged(a1, st, general), signed, count, table);
  }
}

/**
 * Block of a 3×3 kernel with DW = 1 at output ox: pair rows r0, r1, r2 (kernel rows 0, 1, 2), the
 * second tap pair `step` = 8 / SW bytes after the first, weight pairs w00 … w21.
 */
// @ts-ignore: decorator
@inline function block3x3(
  r0: usize, r1: usize, r2: usize, step: usize, w00: v128, w01: v128, w10: v128, w11: v128, w20: v128, w21: v128,
  ox: i32, wide: bool, dst: usize, st: usize, general: bool, signed: bool, count: i32, table: usize, tmp: usize,
): void {
  const o = <usize>(ox << 2);
  let p = r0 + o;
  let q = p + step;
  let a0 = i32x4.add(i32x4.dot_i16x8_s(v128.load(p), w00), i32x4.dot_i16x8_s(v128.load(q), w01));
  let a1 = i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 16), w00), i32x4.dot_i16x8_s(v128.load(q, 16), w01));
  let a2 = a0;
  let a3 = a1;
  if (wide) {
    a2 = i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 32), w00), i32x4.dot_i16x8_s(v128.load(q, 32), w01));
    a3 = i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 48), w00), i32x4.dot_i16x8_s(v128.load(q, 48), w01));
  }
  p = r1 + o;
  if (p != 0) {
    q = p + step;
    a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(v128.load(p), w10), i32x4.dot_i16x8_s(v128.load(q), w11)));
    a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 16), w10), i32x4.dot_i16x8_s(v128.load(q, 16), w11)));
    if (wide) {
      a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 32), w10), i32x4.dot_i16x8_s(v128.load(q, 32), w11)));
      a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 48), w10), i32x4.dot_i16x8_s(v128.load(q, 48), w11)));
    }
  }
  p = r2 + o;
  if (p != 0) {
    q = p + step;
    a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(v128.load(p), w20), i32x4.dot_i16x8_s(v128.load(q), w21)));
    a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 16), w20), i32x4.dot_i16x8_s(v128.load(q, 16), w21)));
    if (wide) {
      a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 32), w20), i32x4.dot_i16x8_s(v128.load(q, 32), w21)));
      a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 48), w20), i32x4.dot_i16x8_s(v128.load(q, 48), w21)));
    }
  }
  finishBlock(dst + <usize>ox, a0, a1, a2, a3, wide, st, general, signed, count, table, tmp);
}

/** One output row of a 3×3 kernel with DW = 1 (block3x3), weight pairs at `wp` (row-major, 2 per row). */
// @ts-ignore: decorator
@inline function row3x3(
  r0: usize, r1: usize, r2: usize, step: usize, wp: usize, ow: i32,
  dst: usize, st: usize, general: bool, signed: bool, table: usize, tmp: usize,
): void {
  const w00 = v128.load32_splat(wp), w01 = v128.load32_splat(wp, 4);
  const w10 = v128.load32_splat(wp, 8), w11 = v128.load32_splat(wp, 12);
  const w20 = v128.load32_splat(wp, 16), w21 = v128.load32_splat(wp, 20);
  let ox = 0;
  for (; ox + BLOCK <= ow; ox += BLOCK) {
    block3x3(r0, r1, r2, step, w00, w01, w10, w11, w20, w21, ox, true, dst, st, general, signed, BLOCK, table, tmp);
  }
  const rest = ow - ox;
  if (rest > 8) {
    block3x3(r0, r1, r2, step, w00, w01, w10, w11, w20, w21, max(ow - BLOCK, 0), true, dst, st, general, signed, min(ow, BLOCK), table, tmp);
  } else if (rest > 0) {
    block3x3(r0, r1, r2, step, w00, w01, w10, w11, w20, w21, max(ow - 8, 0), false, dst, st, general, signed, min(ow, 8), table, tmp);
  }
}

/**
 * Block of a KH×5 kernel with DW = 1 at output ox: the pair row of kernel row ky at rows[ky], tap
 * pairs `step` = 8 / SW bytes apart, weight pairs at `wp` (row-major, 3 per row).
 */
// @ts-ignore: decorator
@inline function block5(
  rows: usize, kh: i32, step: usize, wp: usize,
  ox: i32, wide: bool, dst: usize, st: usize, general: bool, signed: bool, count: i32, table: usize, tmp: usize,
): void {
  const o = <usize>(ox << 2);
  let a0 = i32x4.splat(0);
  let a1 = i32x4.splat(0);
  let a2 = i32x4.splat(0);
  let a3 = i32x4.splat(0);
  for (let ky = 0; ky < kh; ky++) {
    const p = load<usize>(rows + (<usize>ky << 2)) + o;
    const q = p + step;
    const r = q + step;
    const w = wp + <usize>(ky * 12);
    const w0 = v128.load32_splat(w), w1 = v128.load32_splat(w, 4), w2 = v128.load32_splat(w, 8);
    a0 = i32x4.add(a0, i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(p), w0), i32x4.dot_i16x8_s(v128.load(q), w1)),
      i32x4.dot_i16x8_s(v128.load(r), w2)));
    a1 = i32x4.add(a1, i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 16), w0), i32x4.dot_i16x8_s(v128.load(q, 16), w1)),
      i32x4.dot_i16x8_s(v128.load(r, 16), w2)));
    if (wide) {
      a2 = i32x4.add(a2, i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 32), w0), i32x4.dot_i16x8_s(v128.load(q, 32), w1)),
        i32x4.dot_i16x8_s(v128.load(r, 32), w2)));
      a3 = i32x4.add(a3, i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 48), w0), i32x4.dot_i16x8_s(v128.load(q, 48), w1)),
        i32x4.dot_i16x8_s(v128.load(r, 48), w2)));
    }
  }
  finishBlock(dst + <usize>ox, a0, a1, a2, a3, wide, st, general, signed, count, table, tmp);
}

/** One output row of a KH×5 kernel with DW = 1 (block5). */
// @ts-ignore: decorator
@inline function row5(
  rows: usize, kh: i32, step: usize, wp: usize, ow: i32,
  dst: usize, st: usize, general: bool, signed: bool, table: usize, tmp: usize,
): void {
  let ox = 0;
  for (; ox + BLOCK <= ow; ox += BLOCK) block5(rows, kh, step, wp, ox, true, dst, st, general, signed, BLOCK, table, tmp);
  const rest = ow - ox;
  if (rest > 8) block5(rows, kh, step, wp, max(ow - BLOCK, 0), true, dst, st, general, signed, min(ow, BLOCK), table, tmp);
  else if (rest > 0) block5(rows, kh, step, wp, max(ow - 8, 0), false, dst, st, general, signed, min(ow, 8), table, tmp);
}

/** Block of any kernel at output ox: tap pair i at address load(pairs + 8i) + 4·ox, weight pair at +4. */
// @ts-ignore: decorator
@inline function blockAnyKernel(
  pairs: usize, n: i32, ox: i32, wide: bool, dst: usize, st: usize, general: bool, signed: bool, count: i32, table: usize, tmp: usize,
): void {
  const o = <usize>(ox << 2);
  const end = pairs + <usize>(n << 3);
  let a0 = i32x4.splat(0);
  let a1 = i32x4.splat(0);
  let a2 = i32x4.splat(0);
  let a3 = i32x4.splat(0);
  for (let info = pairs; info < end; info += 8) {
    const p = load<usize>(info) + o;
    const w = v128.load32_splat(info, 4);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(p), w));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(p, 16), w));
    if (wide) {
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load(p, 32), w));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load(p, 48), w));
    }
  }
  finishBlock(dst + <usize>ox, a0, a1, a2, a3, wide, st, general, signed, count, table, tmp);
}

/** One output row of any kernel (blockAnyKernel). */
// @ts-ignore: decorator
@inline function rowAnyKernel(
  pairs: usize, n: i32, ow: i32, dst: usize, st: usize, general: bool, signed: bool, table: usize, tmp: usize,
): void {
  let ox = 0;
  for (; ox + BLOCK <= ow; ox += BLOCK) blockAnyKernel(pairs, n, ox, true, dst, st, general, signed, BLOCK, table, tmp);
  const rest = ow - ox;
  if (rest > 8) blockAnyKernel(pairs, n, max(ow - BLOCK, 0), true, dst, st, general, signed, min(ow, BLOCK), table, tmp);
  else if (rest > 0) blockAnyKernel(pairs, n, max(ow - 8, 0), false, dst, st, general, signed, min(ow, 8), table, tmp);
}

/**
 * Channels [c0, c1) of one image x [C][H][W] into out [C][OH][OW]. `weights`: per channel, its
 * tap pairs (ky, kx), (ky, kx + 1) for ky < KH and even kx < KW, row-major, as i32 pairs of i16
 * (w[c, ky, kx] − z_w, w[c, ky, kx + 1] − z_w) (0 past the kernel's width). Channel c's output
 * stage at stages + c·stageStride, its bias holding −z_x·Σ (w − z_w) (see above). `scratch`:
 * depthwiseScratchBytes(…) bytes of this thread's own.
 */
export function depthwiseConv(
  x: usize, h: i32, w: i32, c0: i32, c1: i32, xZero: i32, xSigned: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  weights: usize, stages: usize, stageStride: i32, outSigned: i32, out: usize, table: usize, scratch: usize,
): void {
  const wq = pairWidth(ow, kw, sw, pl, w, dw);
  const rowBytes = pairRowBytes(wq, sw);
  const ring = (kh - 1) * dh + 1;
  const pairs = tapPairs(kh, kw);
  const xs = xSigned != 0;
  const os = outSigned != 0;
  // Scratch: the padded byte row | the pair row of a padding row (z_x everywhere) | the ring of
  // pair rows | per tap pair, its address for the current output row and its weight pair | per
  // kernel row, its pair row for the current output row | 16 bytes for partial stores.
  const tb = scratch;
  const padRow = tb + <usize>paddedRowBytes(wq, sw, dw);
  const ringRows = padRow + <usize>rowBytes;
  const pairNow = ringRows + <usize>(ring * rowBytes);
  const rowPtrs = pairNow + <usize>(pairs * 8);
  const partial = rowPtrs + <usize>(kh * 4);
  // z_x everywhere: the padded byte row's padding, the padding rows, and every pair row where
  // convertRow does not write.
  memory.fill(tb, <u8>xZero, <usize>paddedRowBytes(wq, sw, dw));
  const z16 = i16x8.splat(<i16>xZero);
  for (let i = 0; i < (ring + 1) * rowBytes; i += 16) v128.store(padRow + <usize>i, z16);
  // Byte offset of tap pair kx within a pair row: phase (kx·DW) mod SW, pair ⌊kx·DW / SW⌋.
  const phaseStride = sw == 2 && dw == 1 ? 2 : wq * 4;
  const unrolled = dw == 1 && (sw == 1 || sw == 2) && (kw == 5 || (kw == 3 && kh == 3));
  // The unrolled kernels' distance between tap pairs kx and kx + 2: 4·2 / SW bytes.
  const pairStep = <usize>(8 / sw);
  for (let c = c0; c < c1; c++) {
    const plane = x + <usize>(c * h * w);
    const pairWeights = weights + <usize>(c * pairs * 4);
    const stage = stages + <usize>(c * stageStride);
    // The general output stage (left shifts, large right shifts) is rare: its variant of the row
    // kernels is compiled once, for any stride.
    const general = !stageIsShort(stage);
    const dstPlane = out + <usize>(c * oh * ow);
    // Input rows [0, converted) of this channel are in the ring.
    let converted = 0;
    for (let oy = 0; oy < oh; oy++) {
      const top = oy * sh - pt;
      const last = min(top + (kh - 1) * dh, h - 1);
      if (converted < top) converted = top;
      for (; converted <= last; converted++) {
        convertRow(plane + <usize>(converted * w), w, pl, wq, sw, dw, xZero, xs, tb, ringRows + <usize>((converted % ring) * rowBytes));
      }
      // The pair row of each kernel row, then, for the table-driven kernel, each tap pair's
      // address and weight pair.
      for (let ky = 0; ky < kh; ky++) {
        const r = top + ky * dh;
        store<usize>(rowPtrs + (<usize>ky << 2), r >= 0 && r < h ? ringRows + <usize>((r % ring) * rowBytes) : padRow);
      }
      const dstRow = dstPlane + <usize>(oy * ow);
      if (!unrolled) {
        let p = 0;
        for (let ky = 0; ky < kh; ky++) {
          const row = load<usize>(rowPtrs + (<usize>ky << 2));
          for (let kx = 0; kx < kw; kx += 2) {
            const o = kx * dw;
            store<usize>(pairNow + <usize>(p << 3), row + <usize>((o % sw) * phaseStride + (o / sw) * 4));
            store<i32>(pairNow + <usize>(p << 3), load<i32>(pairWeights + <usize>(p << 2)), 4);
            p++;
          }
        }
        if (general) rowAnyKernel(pairNow, pairs, ow, dstRow, stage, true, os, table, partial);
        else rowAnyKernel(pairNow, pairs, ow, dstRow, stage, false, os, table, partial);
      } else if (kw == 3) {
        const r0 = load<usize>(rowPtrs), r1 = load<usize>(rowPtrs, 4), r2 = load<usize>(rowPtrs, 8);
        if (general) row3x3(r0, r1, r2, pairStep, pairWeights, ow, dstRow, stage, true, os, table, partial);
        else if (sw == 1) row3x3(r0, r1, r2, 8, pairWeights, ow, dstRow, stage, false, os, table, partial);
        else row3x3(r0, r1, r2, 4, pairWeights, ow, dstRow, stage, false, os, table, partial);
      } else {
        if (general) row5(rowPtrs, kh, pairStep, pairWeights, ow, dstRow, stage, true, os, table, partial);
        else if (sw == 1) row5(rowPtrs, kh, 8, pairWeights, ow, dstRow, stage, false, os, table, partial);
        else row5(rowPtrs, kh, 4, pairWeights, ow, dstRow, stage, false, os, table, partial);
      }
    }
  }
}
