// Kernels on int32 accumulators, for the layers whose products are not finished by the GEMM's
// own output stage: col2im scatter-adds the GEMM's columns into a transposed convolution's output,
// requantizeRows applies the output stage (output_stage.ts) row by row, and maxPoolRequantize
// pools a convolution's accumulators before its output stage (Conv → MaxPool as one step).

import { requantize4Staged, storeBytes8 } from "./output_stage";
import { windowMax } from "./pooling";

/**
 * Transposed-convolution col2im for one image: acc[oc, oy, ox] += cols[(oc·KH + ky)·KW + kx, iy·W + ix]
 * with oy = iy·SH − PT + ky·DH, ox = ix·SW − PL + kx·DW, for output channels [c0, c1). Wrapping
 * int32 adds, as the reference's accumulation. `acc` must be zeroed (or hold the bias) before.
 */
export function col2imAdd(
  cols: usize, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  oh: i32, ow: i32, c0: i32, c1: i32, acc: usize,
): void {
  const positions = h * w;
  for (let oc = c0; oc < c1; oc++) {
    const plane = acc + <usize>((oc * oh * ow) << 2);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = cols + <usize>((((oc * kh + ky) * kw + kx) * positions) << 2);
        for (let iy = 0; iy < h; iy++) {
          const oy = iy * sh - pt + ky * dh;
          if (oy < 0 || oy >= oh) continue;
          const src = row + <usize>((iy * w) << 2);
          const dst = plane + <usize>((oy * ow) << 2);
          for (let ix = 0; ix < w; ix++) {
            const ox = ix * sw - pl + kx * dw;
            if (ox < 0 || ox >= ow) continue;
            const p = dst + (<usize>ox << 2);
            store<i32>(p, load<i32>(p) + load<i32>(src + (<usize>ix << 2)));
          }
        }
      }
    }
  }
}

/**
 * out[r·n + j] = requantize_r(acc[r·n + j]) for rows [r0, r1), row r with the output stage at
 * stages + r·stageStride (output_stage.ts); `short` from prepareStages.
 */
export function requantizeRows(
  acc: usize, n: i32, r0: i32, r1: i32, stages: usize, stageStride: i32, short: i32, outSigned: i32, out: usize, table: usize,
): void {
  if (short != 0) requantizeRowsWith(acc, n, r0, r1, stages, stageStride, false, outSigned, out, table);
  else requantizeRowsWith(acc, n, r0, r1, stages, stageStride, true, outSigned, out, table);
}

// @ts-ignore: decorator
@inline function requantizeRowsWith(
  acc: usize, n: i32, r0: i32, r1: i32, stages: usize, stageStride: i32, general: bool, outSigned: i32, out: usize, table: usize,
): void {
  const os = outSigned != 0;
  for (let r = r0; r < r1; r++) {
    const st = stages + <usize>(r * stageStride);
    const src = acc + <usize>((r * n) << 2);
    const dst = out + <usize>(r * n);
    for (let j = 0; j < n; j += 8) {
      // The last block may read up to 7 accumulators past the row: the caller leaves slack.
      storeBytes8(
        dst + <usize>j,
        requantize4Staged(v128.load(src + (<usize>j << 2)), st, general),
        requantize4Staged(v128.load(src + (<usize>j << 2), 16), st, general),
        os, min(8, n - j), table,
      );
    }
  }
}

/**
 * The byte output of a transposed convolution whose kernel tiles its stride exactly (stride =
 * kernel, no padding or dilation, the usual 2×2 upsampling): no two taps reach the same output, so
 * the requantized GEMM rows (oc, ky, kx) × (iy, ix) are only moved into place:
 *   out[oc, iy·KH + ky, ix·KW + kx] = rows[(oc·KH + ky)·KW + kx, iy·W + ix],  channels [c0, c1).
 */
export function pixelShuffle(rows: usize, h: i32, w: i32, kh: i32, kw: i32, c0: i32, c1: i32, out: usize): void {
  const ow = w * kw;
  const plane = h * kh * ow;
  for (let oc = c0; oc < c1; oc++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const src = rows + <usize>(((oc * kh + ky) * kw + kx) * h * w);
        for (let iy = 0; iy < h; iy++) {
          const s = src + <usize>(iy * w);
          const d = out + <usize>(oc * plane + (iy * kh + ky) * ow + kx);
          for (let ix = 0; ix < w; ix++) store<u8>(d + <usize>(ix * kw), load<u8>(s + <usize>ix));
        }
      }
    }
  }
}

/**
 * MaxPool over int32 accumulator planes acc [C][H][W] (channel c's output stage at
 * stages + c·stageStride), then the output stage, for channels [c0, c1): out [C][OH][OW] bytes.
 * Equal to requantizing every accumulator and then max-pooling the bytes when the output stage is
 * non-decreasing over the accumulators' range, which the caller guarantees (no int32 wrap in the
 * bias add or left shift): the max of the requantized values is the requantized max. A quarter
 * of the requantizations of a 2×2 pool, and no 8-bit plane between the two ops. Every window must
 * hold at least one tap inside the plane (the caller checks). `maxima` is scratch for OH·OW + 8 i32.
 */
export function maxPoolRequantize(
  acc: usize, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  c0: i32, c1: i32, stages: usize, stageStride: i32, short: i32, outSigned: i32, out: usize, table: usize, maxima: usize,
): void {
  if (short != 0) maxPoolRequantizeWith(acc, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, c0, c1, stages, stageStride, false, outSigned != 0, out, table, maxima);
  else maxPoolRequantizeWith(acc, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, c0, c1, stages, stageStride, true, outSigned != 0, out, table, maxima);
}

// @ts-ignore: decorator
@inline function maxPoolRequantizeWith(
  acc: usize, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  c0: i32, c1: i32, stages: usize, stageStride: i32, general: bool, os: bool, out: usize, table: usize, maxima: usize,
): void {
  // The usual 2×2 window, stride 2, inside the plane: four maxima from eight accumulators of each
  // of two rows (reads up to 7 past a row's end; the caller leaves slack past the last plane).
  const twoByTwo = kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && dh == 1 && dw == 1 && 2 * oh <= h && 2 * ow <= w;
  const pooled = oh * ow;
  for (let c = c0; c < c1; c++) {
    const plane = acc + <usize>((c * h * w) << 2);
    // The channel's maxima first, row after row into `maxima`, then one pass of output stages
    // over all of them: whole blocks of 8 even when a pooled row is short (4 on a LeNet).
    for (let oy = 0; oy < oh; oy++) {
      const rowMax = maxima + (<usize>(oy * ow) << 2);
      if (twoByTwo) {
        // Groups of 4 may run past the row's end into the next row's first slots, which that row
        // then overwrites (and past the last row into the scratch's slack).
        const row0 = plane + <usize>((2 * oy * w) << 2);
        const row1 = row0 + (<usize>w << 2);
        for (let ox = 0; ox < ow; ox += 4) {
          const at = <usize>(ox << 3);
          const m0 = i32x4.max_s(v128.load(row0 + at), v128.load(row1 + at));
          const m1 = i32x4.max_s(v128.load(row0 + at, 16), v128.load(row1 + at, 16));
          const m = i32x4.max_s(i32x4.shuffle(m0, m1, 0, 2, 4, 6), i32x4.shuffle(m0, m1, 1, 3, 5, 7));
          v128.store(rowMax + (<usize>ox << 2), m);
        }
      } else {
        for (let ox = 0; ox < ow; ox++) {
          store<i32>(rowMax + (<usize>ox << 2), windowMax<i32>(plane, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oy, ox));
        }
      }
    }
    const st = stages + <usize>(c * stageStride);
    const dst = out + <usize>(c * pooled);
    for (let j = 0; j < pooled; j += 8) {
      // Lanes past the plane hold stale values whose bytes are not stored.
      storeBytes8(
        dst + <usize>j,
        requantize4Staged(v128.load(maxima + (<usize>j << 2)), st, general),
        requantize4Staged(v128.load(maxima + (<usize>j << 2), 16), st, general),
        os, min(8, pooled - j), table,
      );
    }
  }
}
