// MaxPool and AveragePool over 8-bit NCHW planes, bit for bit the reference kernels
// (src/kernels/reference/pooling.ts): the max of the quantized values (then a requantization
// table, if any); the average as acc = Σ (q − z) over the window's taps inside the image, count =
// those taps (plus padding taps with count_include_pad, never the ceil-mode overhang), divided with
// the reference's rounding — roundingDivide (ties away from zero) for equal params, or the
// prepared fixed-point multiplier for `count` (headroom form) otherwise.

import { roundingDivideByPOT, srdhm } from "./output_stage";

/** Planes [p0, p1) of x [planes][H][W] → out [planes][OH][OW]. */
export function maxPool(
  x: usize, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  oh: i32, ow: i32, signed: i32, table: usize, p0: i32, p1: i32, out: usize,
): void {
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && dh == 1 && dw == 1 && 2 * oh <= h && 2 * ow <= w) {
    if (signed != 0) maxPool2x2(x, h, w, oh, ow, true, table, p0, p1, out);
    else maxPool2x2(x, h, w, oh, ow, false, table, p0, p1, out);
    return;
  }
  for (let p = p0; p < p1; p++) {
    const plane = x + <usize>(p * h * w);
    const dst = out + <usize>(p * oh * ow);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const best = signed != 0
          ? windowMax<i8>(plane, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oy, ox)
          : windowMax<u8>(plane, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oy, ox);
        const b = <u8>best;
        store<u8>(dst + <usize>(oy * ow + ox), table != 0 ? load<u8>(table + <usize>b) : b);
      }
    }
  }
}

/**
 * The max over the taps of output (oy, ox)'s window that lie inside the plane [H][W] of T
 * (i8, u8, or the i32 accumulators of maxPoolRequantize); i32.MIN_VALUE if none does.
 */
// @ts-ignore: decorator
@inline export function windowMax<T>(
  plane: usize, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oy: i32, ox: i32,
): i32 {
  let best: i32 = i32.MIN_VALUE;
  for (let ky = 0; ky < kh; ky++) {
    const iy = oy * sh - pt + ky * dh;
    if (iy < 0 || iy >= h) continue;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ox * sw - pl + kx * dw;
      if (ix < 0 || ix >= w) continue;
      best = max(best, <i32>load<T>(plane + (<usize>(iy * w + ix) << alignof<T>())));
    }
  }
  return best;
}

/**
 * The usual 2×2 window with stride 2, no padding, unit dilation, every window inside the image: 8 outputs
 * from 16 bytes of each of the two input rows — the vertical max, then the max of each even and
 * odd byte. Bytes read past the end of a row (at most 15, when 2·OW < 16) only reach outputs that
 * are not stored; past the plane's end, the allocator's over-read slack covers them.
 */
// @ts-ignore: decorator
@inline function maxPool2x2(x: usize, h: i32, w: i32, oh: i32, ow: i32, signed: bool, table: usize, p0: i32, p1: i32, out: usize): void {
  for (let p = p0; p < p1; p++) {
    const plane = x + <usize>(p * h * w);
    const dst = out + <usize>(p * oh * ow);
    for (let oy = 0; oy < oh; oy++) {
      const row0 = plane + <usize>(2 * oy * w);
      const row1 = row0 + <usize>w;
      const o = dst + <usize>(oy * ow);
      for (let ox = 0; ox < ow; ox += 8) {
        const a = v128.load(row0 + <usize>(2 * ox));
        const b = v128.load(row1 + <usize>(2 * ox));
        const v = signed ? i8x16.max_s(a, b) : i8x16.max_u(a, b);
        const even = i8x16.shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
        const odd = i8x16.shuffle(v, v, 1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15);
        const m = signed ? i8x16.max_s(even, odd) : i8x16.max_u(even, odd);
        if (ox + 8 <= ow) {
          v128.store64_lane(o + <usize>ox, m, 0);
        } else {
          for (let i = 0; i < ow - ox; i++) store<u8>(o + <usize>(ox + i), <u8>i64x2.extract_lane(i64x2.shr_u(m, <i32>(i << 3)), 0));
        }
      }
      if (table != 0) {
        for (let i = 0; i < ow; i++) store<u8>(o + <usize>i, load<u8>(table + <usize>load<u8>(o + <usize>i)));
      }
    }
  }
}

/**
 * AveragePool. `multipliers` holds, for every count 1 … kh·kw, three i32 (M0, shift, input shift)
 * when the params differ; 0 for equal params (plain rounded division).
 */
export function averagePool(
  x: usize, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, dh: i32, dw: i32,
  oh: i32, ow: i32, signed: i32, inZero: i32, countIncludePad: i32, multipliers: usize,
  outZero: i32, qmin: i32, qmax: i32, p0: i32, p1: i32, out: usize,
): void {
  for (let p = p0; p < p1; p++) {
    const plane = x + <usize>(p * h * w);
    const dst = out + <usize>(p * oh * ow);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = 0;
        let count = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          const rowInPadded = iy >= -pt && iy < h + pb;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx * dw;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              const v = signed != 0 ? <i32>load<i8>(plane + <usize>(iy * w + ix)) : <i32>load<u8>(plane + <usize>(iy * w + ix));
              acc += v - inZero;
              count++;
            } else if (countIncludePad != 0 && rowInPadded && ix >= -pl && ix < w + pr) {
              count++;
            }
          }
        }
        let scaled: i32;
        if (count == 0) {
          scaled = 0; // the reference refuses such a window; the caller checks the geometry first
        } else if (multipliers == 0) {
          const half = count >> 1;
          scaled = (acc + (acc > 0 ? half : -half)) / count; // C division truncates toward zero
        } else {
          const m = multipliers + <usize>((count - 1) * 12);
          const m0 = load<i32>(m);
          const shift = load<i32>(m, 4);
          const inputShift = load<i32>(m, 8);
          let v = acc << inputShift;
          if (shift > 0) v = v << shift;
          v = srdhm(v, m0);
          scaled = shift < 0 ? roundingDivideByPOT(v, -shift) : v;
        }
        const q = min(max(outZero + scaled, qmin), qmax);
        store<u8>(dst + <usize>(oy * ow + ox), <u8>q);
      }
    }
  }
}
