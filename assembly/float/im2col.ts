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
          let dst = col + <usize>((r * ldcol + n * ohw) << 2);
          for (let y = 0; y < oh; y++) {
            const iy = y * sh - ph + ki * dh;
            if (iy < 0 || iy >= h) {
              for (let xo = 0; xo < ow; xo++) { store<f32>(dst, 0); dst += 4; }
              continue;
            }
            const src = plane + <usize>((iy * w) << 2);
            let ix = kj * dw - pw;
            for (let xo = 0; xo < ow; xo++) {
              store<f32>(dst, ix >= 0 && ix < w ? load<f32>(src + (<usize>ix << 2)) : 0);
              dst += 4;
              ix += sw;
            }
          }
        }
      }
    }
  }
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
          let src = col + <usize>((r * ldcol + n * ohw) << 2);
          for (let y = 0; y < oh; y++) {
            const iy = y * sh - ph + ki * dh;
            if (iy < 0 || iy >= h) { src += <usize>(ow << 2); continue; }
            const row = plane + <usize>((iy * w) << 2);
            let ix = kj * dw - pw;
            for (let xo = 0; xo < ow; xo++) {
              if (ix >= 0 && ix < w) {
                const p = row + (<usize>ix << 2);
                store<f32>(p, load<f32>(p) + load<f32>(src));
              }
              src += 4;
              ix += sw;
            }
          }
        }
      }
    }
  }
}
