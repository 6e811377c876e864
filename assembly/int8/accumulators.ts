// Kernels on int32 accumulators, for the layers whose products are not finished by the GEMM's
// own output stage (transposed convolution): col2im scatter-adds the GEMM's columns into the
// output, and requantizeRows applies the output stage (output_stage.ts) row by row.

import { requantize4Staged, storeBytes8 } from "./output_stage";

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
