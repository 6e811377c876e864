// The ceiling of the 8-bit GEMM on this machine: the micro-kernel's inner step (gemm.ts) on
// operands that stay in L1 — per step, 2 vector loads of B, 4 broadcast loads of A and
// 8 i32x4.dot_i16x8_s into 8 independent i32x4 accumulators (64 multiply-adds of 16-bit pairs =
// 128 integer operations) — with no packing, no pointer arithmetic and no output stage. Two
// steps per loop iteration keep the loop overhead out of the measurement.

/** Runs `iterations` × 2 steps on 48 bytes of operands at `scratch`; returns a lane sum so the work cannot be removed. */
export function int8PeakLoop(iterations: i32, seed: i32, scratch: usize): i32 {
  for (let i = 0; i < 12; i++) store<i32>(scratch + (<usize>i << 2), seed * (i + 1));
  const a = scratch;
  const b = scratch + 16;
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
  let c4 = i32x4.splat(0), c5 = i32x4.splat(0), c6 = i32x4.splat(0), c7 = i32x4.splat(0);
  for (let i = 0; i < iterations; i++) {
    for (let u = 0; u < 2; u++) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      let av = v128.load32_splat(a);
      c0 = i32x4.add(c0, i32x4.dot_i16x8_s(av, b0));
      c1 = i32x4.add(c1, i32x4.dot_i16x8_s(av, b1));
      av = v128.load32_splat(a, 4);
      c2 = i32x4.add(c2, i32x4.dot_i16x8_s(av, b0));
      c3 = i32x4.add(c3, i32x4.dot_i16x8_s(av, b1));
      av = v128.load32_splat(a, 8);
      c4 = i32x4.add(c4, i32x4.dot_i16x8_s(av, b0));
      c5 = i32x4.add(c5, i32x4.dot_i16x8_s(av, b1));
      av = v128.load32_splat(a, 12);
      c6 = i32x4.add(c6, i32x4.dot_i16x8_s(av, b0));
      c7 = i32x4.add(c7, i32x4.dot_i16x8_s(av, b1));
    }
  }
  const s = i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/** Integer operations counted per iteration: 2 steps × 8 dot products × 8 pairs × (multiply + add). */
export function int8PeakOpsPerIteration(): i32 {
  return 2 * 8 * 8 * 2;
}
