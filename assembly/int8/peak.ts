// The ceiling of the 8-bit GEMM on this machine: the micro-kernel's arithmetic without its memory
// traffic. Each round issues 8 i32x4.dot_i16x8_s (8 multiply-adds of 16-bit pairs each: 64 MACs,
// 128 integer operations) into 8 independent i32x4 accumulators, with the broadcast operands
// loaded from L1 as the GEMM loads them. The two "B" vectors change every round (one i16x8.add
// each, not counted) so no product is loop-invariant.

/** Runs `iterations` rounds; returns a lane sum so the work cannot be removed. */
export function int8PeakLoop(iterations: i32, seed: i32, scratch: usize): i32 {
  store<i32>(scratch, seed); store<i32>(scratch, seed + 1, 4); store<i32>(scratch, seed + 2, 8); store<i32>(scratch, seed + 3, 12);
  const step = i16x8.splat(1);
  let b0 = i16x8.splat(<i16>seed), b1 = i16x8.splat(<i16>(seed * 3));
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  for (let i = 0; i < iterations; i++) {
    let a = v128.load32_splat(scratch);
    c00 = i32x4.add(c00, i32x4.dot_i16x8_s(a, b0)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(a, b1));
    a = v128.load32_splat(scratch, 4);
    c10 = i32x4.add(c10, i32x4.dot_i16x8_s(a, b0)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(a, b1));
    a = v128.load32_splat(scratch, 8);
    c20 = i32x4.add(c20, i32x4.dot_i16x8_s(a, b0)); c21 = i32x4.add(c21, i32x4.dot_i16x8_s(a, b1));
    a = v128.load32_splat(scratch, 12);
    c30 = i32x4.add(c30, i32x4.dot_i16x8_s(a, b0)); c31 = i32x4.add(c31, i32x4.dot_i16x8_s(a, b1));
    b0 = i16x8.add(b0, step); b1 = i16x8.add(b1, step);
  }
  const s = i32x4.add(i32x4.add(i32x4.add(c00, c01), i32x4.add(c10, c11)), i32x4.add(i32x4.add(c20, c21), i32x4.add(c30, c31)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/** Integer operations counted per round: 8 dot products × 8 pairs × (multiply + add). */
export function int8PeakOpsPerIteration(): i32 {
  return 8 * 8 * 2;
}
