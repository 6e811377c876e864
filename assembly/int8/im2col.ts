// im2col of 8-bit NCHW data for one image and one channel group, for AssemblyScript:
//
//   col[r·P + oy·OW + ox] = x[c0 + c, iy, ix]   with r = (c·KH + ky)·KW + kx, P = OH·OW,
//   iy = oy·SH − PT + ky·DH, ix = ox·SW − PL + kx·DW, and the input zero point where (iy, ix) is padding
//
// (the reference's im2col, src/kernels/reference/conv2d_gemm.ts: padding holds the quantized 0,
// so it contributes nothing after the GEMM subtracts the zero point). Rows [r0, r1) only, so
// threads can split the work. Byte copies: the GEMM does the arithmetic.

export function im2col(
  x: usize, h: i32, w: i32, c0: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  zero: i32, col: usize, r0: i32, r1: i32,
): void {
  const positions = oh * ow;
  const fill = <u8>zero;
  for (let r = r0; r < r1; r++) {
    const kx = r % kw;
    const ky = (r / kw) % kh;
    const c = r / (kw * kh);
    const plane = x + <usize>((c0 + c) * h * w);
    const offset = kx * dw - pl;
    // Output columns whose input column ox·sw + offset lies inside [0, w).
    let first = offset >= 0 ? 0 : (-offset + sw - 1) / sw;
    let end = w - 1 - offset < 0 ? 0 : (w - 1 - offset) / sw + 1;
    if (first > ow) first = ow;
    if (end > ow) end = ow;
    let dst = col + <usize>(r * positions);
    for (let oy = 0; oy < oh; oy++) {
      const iy = oy * sh - pt + ky * dh;
      if (iy < 0 || iy >= h || first >= end) {
        memory.fill(dst, fill, <usize>ow);
      } else {
        const src = plane + <usize>(iy * w);
        if (first > 0) memory.fill(dst, fill, <usize>first);
        if (sw == 1) {
          copyBytes(dst + <usize>first, src + <usize>(first + offset), end - first);
        } else {
          for (let ox = first; ox < end; ox++) store<u8>(dst + <usize>ox, load<u8>(src + <usize>(ox * sw + offset)));
        }
        if (end < ow) memory.fill(dst + <usize>end, fill, <usize>(ow - end));
      }
      dst += <usize>ow;
    }
  }
}

// @ts-ignore: decorator
@inline function copyBytes(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 16 <= count; i += 16) v128.store(dst + <usize>i, v128.load(src + <usize>i));
  for (; i < count; i++) store<u8>(dst + <usize>i, load<u8>(src + <usize>i));
}
