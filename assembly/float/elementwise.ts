// Memory-bound training kernels that sit between the GEMMs: ReLU forward and backward, max pooling
// forward and backward, and the channel-major → NCHW reorder (with bias) after a convolution's GEMM.
// Each works on a sub-range [from, to) so the thread pool can split it; each output element is
// computed identically whatever the split. Same contracts as src/kernels/float/reference.ts.

/** y = x > 0 ? x : 0 (NaN → 0, −0 → 0), for elements [from, to). */
export function reluForward(x: usize, y: usize, from: i32, to: i32): void {
  const zero = f32x4.splat(0);
  let i = from;
  for (; i + 4 <= to; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.and(v, f32x4.gt(v, zero)));
  }
  for (; i < to; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

/** dx = x > 0 ? dy : 0, for elements [from, to). */
export function reluBackward(x: usize, dy: usize, dx: usize, from: i32, to: i32): void {
  const zero = f32x4.splat(0);
  let i = from;
  for (; i + 4 <= to; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; i < to; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/**
 * Max pooling of planes [p0, p1) (a plane is one image's channel, H×W). argmax receives the input
 * index (counted from the start of x) of each window's first maximum in row-major tap order;
 * padding never wins; an all-padding window gives −∞ and index −1.
 *
 * Where four neighbouring windows lie inside the image horizontally and the stride is 1 or 2, they
 * are done together in f32x4 lanes (compare, then bitselect the value and the index): no
 * data-dependent branches, which mispredict constantly on ReLU outputs full of ties. Elsewhere a
 * scalar loop applies the same rule, so every output is the same either way.
 */
export function maxPool2dForward(
  x: usize, y: usize, argmax: usize, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, p0: i32, p1: i32,
): void {
  // Output columns whose whole window is inside horizontally: xo·sw − pl ≥ 0 and
  // xo·sw − pl + (kw − 1)·dw < w.
  const first = min(ow, (pl + sw - 1) / sw);
  const spanEnd = w + pl - (kw - 1) * dw; // need xo·sw < spanEnd
  const last = spanEnd <= 0 ? 0 : min(ow, (spanEnd + sw - 1) / sw);
  const vectorOk = sw == 1 || sw == 2;
  const laneStep = i32x4(0, sw, 2 * sw, 3 * sw);
  for (let p = p0; p < p1; p++) {
    const base = p * h * w;
    for (let yo = 0; yo < oh; yo++) {
      const y0 = yo * sh - pt;
      const rowOut = (p * oh + yo) * ow;
      let xo = 0;
      while (xo < ow) {
        if (vectorOk && xo >= first && xo + 4 <= last) {
          // Four windows at once.
          const x0 = xo * sw - pl;
          let started = false;
          let best = f32x4.splat(0);
          let at = i32x4.splat(0);
          for (let ki = 0; ki < kh; ki++) {
            const iy = y0 + ki * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              const c = base + iy * w + x0 + kj * dw;
              const src = x + (<usize>c << 2);
              // At stride 2 the second load reads one value past the last tap; the caller places
              // x before other operands in memory, so that read stays inside its arena.
              const v = sw == 1 ? v128.load(src) : v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
              const idx = i32x4.add(i32x4.splat(c), laneStep);
              if (!started) {
                best = v;
                at = idx;
                started = true;
              } else {
                const take = f32x4.gt(v, best);
                best = v128.bitselect(v, best, take);
                at = v128.bitselect(idx, at, take);
              }
            }
          }
          const o = <usize>(rowOut + xo) << 2;
          if (started) {
            v128.store(y + o, best);
            v128.store(argmax + o, at);
          } else {
            v128.store(y + o, f32x4.splat(-Infinity));
            v128.store(argmax + o, i32x4.splat(-1));
          }
          xo += 4;
          continue;
        }
        // One window.
        const x0 = xo * sw - pl;
        let at = -1;
        let best: f32 = -Infinity;
        for (let ki = 0; ki < kh; ki++) {
          const iy = y0 + ki * dh;
          if (iy < 0 || iy >= h) continue;
          const row = base + iy * w;
          for (let kj = 0; kj < kw; kj++) {
            const ix = x0 + kj * dw;
            if (ix < 0 || ix >= w) continue;
            const c = row + ix;
            const v = load<f32>(x + (<usize>c << 2));
            if (at < 0 || v > best) {
              best = v;
              at = c;
            }
          }
        }
        const o = <usize>(rowOut + xo) << 2;
        store<f32>(y + o, best);
        store<i32>(argmax + o, at);
        xo++;
      }
    }
  }
}

/**
 * dx (planes [p0, p1), zeroed here) receives each dy at its window's argmax. An index outside its
 * own plane (a corrupt argmax) is skipped and flagged by storing 1 at `bad`, never written through.
 */
export function maxPool2dBackward(dy: usize, argmax: usize, dx: usize, planeIn: i32, planeOut: i32, bad: usize, p0: i32, p1: i32): void {
  memory.fill(dx + (<usize>(p0 * planeIn) << 2), 0, <usize>((p1 - p0) * planeIn) << 2);
  for (let p = p0; p < p1; p++) {
    const lo = p * planeIn;
    const hi = lo + planeIn;
    for (let o = p * planeOut; o < (p + 1) * planeOut; o++) {
      const at = load<i32>(argmax + (<usize>o << 2));
      if (at >= lo && at < hi) {
        const d = dx + (<usize>at << 2);
        store<f32>(d, load<f32>(d) + load<f32>(dy + (<usize>o << 2)));
      } else if (at != -1) {
        store<i32>(bad, 1);
      }
    }
  }
}

/**
 * Yᵀ[m, n·P + p] → y[n, m, p] (+ bias[m] when bias ≠ 0), for images [n0, n1): the reorder after
 * the convolution GEMM, which produces channels outermost.
 */
export function channelsToBatch(yT: usize, y: usize, bias: usize, channels: i32, batch: i32, plane: i32, n0: i32, n1: i32): void {
  const np = batch * plane;
  for (let n = n0; n < n1; n++) {
    for (let m = 0; m < channels; m++) {
      const src = yT + (<usize>(m * np + n * plane) << 2);
      const dst = y + (<usize>((n * channels + m) * plane) << 2);
      const b = f32x4.splat(bias ? load<f32>(bias + (<usize>m << 2)) : 0);
      let p = 0;
      for (; p + 4 <= plane; p += 4) v128.store(dst + (<usize>p << 2), f32x4.add(v128.load(src + (<usize>p << 2)), b));
      const bs = f32x4.extract_lane(b, 0);
      for (; p < plane; p++) store<f32>(dst + (<usize>p << 2), load<f32>(src + (<usize>p << 2)) + bs);
    }
  }
}

/** The inverse reorder for gradients: dy[n, m, p] → dYᵀ[m, n·P + p], for images [n0, n1). */
export function batchToChannels(dy: usize, dyT: usize, channels: i32, batch: i32, plane: i32, n0: i32, n1: i32): void {
  const np = batch * plane;
  for (let n = n0; n < n1; n++) {
    for (let m = 0; m < channels; m++) {
      memory.copy(dyT + (<usize>(m * np + n * plane) << 2), dy + (<usize>((n * channels + m) * plane) << 2), <usize>plane << 2);
    }
  }
}
