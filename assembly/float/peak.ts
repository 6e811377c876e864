// A tight loop of independent f32x4 multiply-then-add chains: the ceiling any WebAssembly SIMD
// float kernel can reach on this machine (plain SIMD has no fused multiply-add, so one "FMA-like"
// term is an f32x4.mul plus an f32x4.add, 8 floating-point operations). Twelve independent
// accumulators hide the add latency; the multiplier is close to 1 so the values stay finite.

/** Runs `iterations` rounds of 12 mul+add pairs; returns a lane sum so the work cannot be removed. */
export function simdPeakLoop(iterations: i32, seed: f32): f32 {
  const m = f32x4.splat(0.9999999);
  const d = f32x4.splat(1e-7);
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
  let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
  let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), d); a1 = f32x4.add(f32x4.mul(a1, m), d);
    a2 = f32x4.add(f32x4.mul(a2, m), d); a3 = f32x4.add(f32x4.mul(a3, m), d);
    a4 = f32x4.add(f32x4.mul(a4, m), d); a5 = f32x4.add(f32x4.mul(a5, m), d);
    a6 = f32x4.add(f32x4.mul(a6, m), d); a7 = f32x4.add(f32x4.mul(a7, m), d);
    a8 = f32x4.add(f32x4.mul(a8, m), d); a9 = f32x4.add(f32x4.mul(a9, m), d);
    a10 = f32x4.add(f32x4.mul(a10, m), d); a11 = f32x4.add(f32x4.mul(a11, m), d);
  }
  let s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  s = f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Flops done by one call of simdPeakLoop (12 accumulators × 4 lanes × 2 operations per round). */
export function simdPeakFlopsPerIteration(): i32 {
  return 12 * 4 * 2;
}
