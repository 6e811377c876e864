// Depthwise 8-bit convolution (group = C_in = C_out) with the fused output stage, for
// AssemblyScript. Per channel c of one image:
//
//   acc[oy, ox] = Σ_{ky, kx} (w[c, ky, kx] − z_w[c]) · (x[c, iy, ix] − z_x)      (padding: x − z_x = 0)
//   iy = oy·SH − PT + ky·DH,  ix = ox·SW − PL + kx·DW
//
// equal bit for bit to the reference conv2d (src/kernels/reference/conv2d.ts) with group = C.
//
// The channel's plane is first written to scratch as i16 differences x − z_x with the padding as
// zeros, split into SW "phase" planes by column (phase φ holds padded columns φ, φ + SW, …). Tap
// (ky, kx) of outputs ox … ox + 7 then reads 8 consecutive i16 of phase (kx·DW) mod SW at column
// ox + ⌊kx·DW / SW⌋: any stride or dilation becomes a contiguous load. Each tap multiplies the 8
// values by the broadcast weight with i32x4.extmul_{low,high}_i16x8_s (products up to 255², exact
// in i32) into two i32x4 accumulators. No boundary tests in the inner loop.

import { requantize4, storeBytes8 } from "./output_stage";

/** Scratch bytes of one thread: the phase planes of one channel, then one offset per tap. */
export function depthwiseScratchBytes(h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, dw: i32): i32 {
  const hp = h + pt + pb;
  const wq = phaseWidth(w + pl + pr, sw, kw, dw);
  return sw * hp * wq * 2 + 64 + kh * kw * 4;
}

// @ts-ignore: decorator
@inline function phaseWidth(wp: i32, sw: i32, kw: i32, dw: i32): i32 {
  // Room for a full 8-wide block past the last output plus the widest tap offset.
  return (wp + sw - 1) / sw + 16 + ((kw - 1) * dw) / sw;
}

export function depthwiseConv(
  x: usize, h: i32, w: i32, c0: i32, c1: i32, xZero: i32, xSigned: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  weights: usize, bias: usize, multipliers: usize, shifts: usize, perChannel: i32,
  outZero: i32, outMin: i32, outMax: i32, outSigned: i32, out: usize, table: usize, scratch: usize,
): void {
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const wq = phaseWidth(wp, sw, kw, dw);
  const phaseBytes = hp * wq * 2;
  const taps = kh * kw;
  const xs = xSigned != 0;
  const os = outSigned != 0;
  const z16 = i16x8.splat(<i16>xZero);
  // Byte offset of each tap's first value from the block's base, computed once (no division in
  // the inner loop): phase plane (kx·DW) mod SW, row ky·DH, column ⌊kx·DW / SW⌋.
  const offsets = scratch + <usize>(sw * phaseBytes + 64);
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const o = kx * dw;
      store<i32>(offsets + (<usize>(ky * kw + kx) << 2), (o % sw) * phaseBytes + (ky * dh * wq + o / sw) * 2);
    }
  }
  for (let c = c0; c < c1; c++) {
    // Phase planes of channel c: zero everywhere, then the image's values where they belong.
    memory.fill(scratch, 0, <usize>(sw * phaseBytes));
    const plane = x + <usize>(c * h * w);
    for (let iy = 0; iy < h; iy++) {
      const src = plane + <usize>(iy * w);
      const row = pt + iy;
      if (sw == 1) {
        const dst = scratch + <usize>((row * wq + pl) * 2);
        let ix = 0;
        for (; ix + 8 <= w; ix += 8) {
          const bytes = v128.load64_zero(src + <usize>ix);
          const v = xs ? i16x8.extend_low_i8x16_s(bytes) : i16x8.extend_low_i8x16_u(bytes);
          v128.store(dst + <usize>(ix * 2), i16x8.sub(v, z16));
        }
        for (; ix < w; ix++) {
          const q = xs ? <i32>load<i8>(src + <usize>ix) : <i32>load<u8>(src + <usize>ix);
          store<i16>(dst + <usize>(ix * 2), <i16>(q - xZero));
        }
      } else if (sw == 2) {
        // Even and odd columns of 16 input bytes go to the two phases, 8 values each.
        let ix = 0;
        const even = scratch + <usize>((pl & 1) * phaseBytes);
        const odd = scratch + <usize>(((pl + 1) & 1) * phaseBytes);
        for (; ix + 16 <= w; ix += 16) {
          const bytes = v128.load(src + <usize>ix);
          const e = i8x16.shuffle(bytes, bytes, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
          const ve = xs ? i16x8.extend_low_i8x16_s(e) : i16x8.extend_low_i8x16_u(e);
          const vo = xs ? i16x8.extend_high_i8x16_s(e) : i16x8.extend_high_i8x16_u(e);
          v128.store(even + <usize>((row * wq + ((pl + ix) >> 1)) * 2), i16x8.sub(ve, z16));
          v128.store(odd + <usize>((row * wq + ((pl + ix + 1) >> 1)) * 2), i16x8.sub(vo, z16));
        }
        for (; ix < w; ix++) {
          const col = pl + ix;
          const q = xs ? <i32>load<i8>(src + <usize>ix) : <i32>load<u8>(src + <usize>ix);
          store<i16>(scratch + <usize>((col & 1) * phaseBytes + (row * wq + (col >> 1)) * 2), <i16>(q - xZero));
        }
      } else {
        for (let ix = 0; ix < w; ix++) {
          const col = pl + ix;
          const phase = col % sw;
          const q = xs ? <i32>load<i8>(src + <usize>ix) : <i32>load<u8>(src + <usize>ix);
          store<i16>(scratch + <usize>(phase * phaseBytes + (row * wq + col / sw) * 2), <i16>(q - xZero));
        }
      }
    }
    const at = perChannel != 0 ? <usize>c << 2 : 0;
    const bv = bias != 0 ? load<i32>(bias + (<usize>c << 2)) : 0;
    const mv = load<i32>(multipliers + at);
    const sv = load<i32>(shifts + at);
    const wc = weights + <usize>(c * taps * 2);
    const dstPlane = out + <usize>(c * oh * ow);
    for (let oy = 0; oy < oh; oy++) {
      const rowBase = scratch + <usize>(oy * sh * wq * 2);
      for (let ox = 0; ox < ow; ox += 8) {
        let acc0 = i32x4.splat(0);
        let acc1 = i32x4.splat(0);
        const base = rowBase + <usize>(ox * 2);
        for (let t = 0; t < taps; t++) {
          const v = v128.load(base + <usize>load<i32>(offsets + (<usize>t << 2)));
          const wv = i16x8.splat(load<i16>(wc + (<usize>t << 1)));
          acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(v, wv));
          acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(v, wv));
        }
        storeBytes8(
          dstPlane + <usize>(oy * ow + ox),
          requantize4(acc0, bv, mv, sv, outMin, outMax, outZero),
          requantize4(acc1, bv, mv, sv, outMin, outMax, outZero),
          os, min(8, ow - ox), table,
        );
      }
    }
  }
}
