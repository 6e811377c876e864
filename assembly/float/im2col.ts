// im2col / col2im for 2-D convolution over a batch, for AssemblyScript (scalar code: these are
// memory-bound copies; the GEMM does the arithmetic).
//
// Column matrix layout, shared with src/kernels/float/reference.ts:
//   rows    r = (c·KH + ki)·KW + kj            for the cCount channels c0 ≤ c < c0 + cCount
//   columns q = n·OH·OW + oh·OW + ow           for every image n of the batch (ldcol = N·OH·OW)
//   col[r·ldcol + q] = x[n, c0 + c, oh·SH − PH + ki·DH, ow·SW − PW + kj·DW]   (0 outside the image)
// Only images n0 ≤ n < n1 are touched, so threads can split a batch by images.

export function im2col(
  x: usize, channels: i32, h: i32, w: i32, c0: i32, cCount: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  col: usize, ldcol: i32, n0: i32, n1: i32,
): void {
  const ohw = oh * ow;
  for (let n = n0; n < n1; n++) {
    for (let c = 0; c < cCount; c++) {
      const plane = x + <usize>((((n * channels) + c0 + c) * h * w) << 2);
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const r = (c * kh + ki) * kw + kj;
          // Output columns whose input column ix = xo·sw − pw + kj·dw lies inside the image.
          const shift = kj * dw - pw;
          const first = validStart(shift, sw, ow);
          const end = validEnd(shift, sw, w, ow);
          let dst = col + <usize>((r * ldcol + n * ohw) << 2);
          for (let y = 0; y < oh; y++) {
            const iy = y * sh - ph + ki * dh;
            if (iy < 0 || iy >= h || first >= end) {
              zeroFloats(dst, ow);
            } else {
              const src = plane + <usize>((iy * w) << 2);
              if (first > 0) zeroFloats(dst, first);
              if (sw == 1) {
                copyFloats(dst + (<usize>first << 2), src + (<usize>(first + shift) << 2), end - first);
              } else {
                for (let xo = first; xo < end; xo++) {
                  store<f32>(dst + (<usize>xo << 2), load<f32>(src + (<usize>(xo * sw + shift) << 2)));
                }
              }
              if (end < ow) zeroFloats(dst + (<usize>end << 2), ow - end);
            }
            dst += <usize>(ow << 2);
          }
        }
      }
    }
  }
}

// Rows are short (often 8–32 floats): inline vector loops beat memory.copy/fill, which V8 runs as
// calls into the runtime.
// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

// @ts-ignore: decorator
@inline function zeroFloats(dst: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), f32x4.splat(0));
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), 0);
}

/** First xo ≥ 0 with xo·sw + shift ≥ 0 (capped at ow). */
// @ts-ignore: decorator
@inline function validStart(shift: i32, sw: i32, ow: i32): i32 {
  return shift >= 0 ? 0 : min(ow, (-shift + sw - 1) / sw);
}

/** One past the last xo < ow with xo·sw + shift < w. */
// @ts-ignore: decorator
@inline function validEnd(shift: i32, sw: i32, w: i32, ow: i32): i32 {
  const room = w - shift; // need xo·sw < room
  return room <= 0 ? 0 : min(ow, (room + sw - 1) / sw);
}

/** The adjoint of im2col: dx[n, c0 + c, iy, ix] += every column entry that im2col copied from it. */
export function col2im(
  dx: usize, channels: i32, h: i32, w: i32, c0: i32, cCount: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  col: usize, ldcol: i32, n0: i32, n1: i32,
): void {
  const ohw = oh * ow;
  for (let n = n0; n < n1; n++) {
    for (let c = 0; c < cCount; c++) {
      const plane = dx + <usize>((((n * channels) + c0 + c) * h * w) << 2);
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const r = (c * kh + ki) * kw + kj;
          const shift = kj * dw - pw;
          const first = validStart(shift, sw, ow);
          const end = validEnd(shift, sw, w, ow);
          let src = col + <usize>((r * ldcol + n * ohw) << 2);
          for (let y = 0; y < oh; y++, src += <usize>(ow << 2)) {
            const iy = y * sh - ph + ki * dh;
            if (iy < 0 || iy >= h || first >= end) continue;
            const row = plane + <usize>((iy * w) << 2);
            if (sw == 1) {
              // Contiguous: add four lanes at a time, then the tail.
              const d = row + (<usize>(first + shift) << 2);
              const s = src + (<usize>first << 2);
              const count = end - first;
              let i = 0;
              for (; i + 4 <= count; i += 4) {
                const o = <usize>i << 2;
                v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o)));
              }
              for (; i < count; i++) {
                const o = <usize>i << 2;
                store<f32>(d + o, load<f32>(d + o) + load<f32>(s + o));
              }
            } else {
              for (let xo = first; xo < end; xo++) {
                const p = row + (<usize>(xo * sw + shift) << 2);
                store<f32>(p, load<f32>(p) + load<f32>(src + (<usize>xo << 2)));
              }
            }
          }
        }
      }
    }
  }
}
