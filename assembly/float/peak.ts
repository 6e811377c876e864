import { madd } from "./gemm";

// The ceiling a WebAssembly SIMD float kernel can reach on this machine: the GEMM micro-kernel's
// inner loop (eight f32x4 accumulators, each gaining a product of a broadcast value and a vector
// per round) without its memory loads. Plain WebAssembly SIMD has no fused multiply-add outside
// relaxed SIMD, so each term is an f32x4.mul plus an f32x4.add: 8 floating-point operations (in
// the relaxed-SIMD build, one f32x4.relaxed_madd: the same 8 operations, as the GEMM counts them).
// The two "B" vectors change every round (one extra add each, not counted) so that no product is
// loop-invariant; the step is tiny so the values stay finite for any iteration count.

/** Runs `iterations` rounds of 8 mul+add terms (16 bytes of memory at `scratch` are used); returns a lane sum so the work cannot be removed. */
export function simdPeakLoop(iterations: i32, seed: f32, scratch: usize): f32 {
  const step = f32x4.splat(1e-9);
  // The broadcast values come from memory as in the GEMM (L1-resident splat loads): holding them
  // in registers as well would exceed the 16 vector registers V8 allocates and spill.
  store<f32>(scratch, seed * 0.5); store<f32>(scratch, seed * 0.25, 4);
  store<f32>(scratch, seed * 0.125, 8); store<f32>(scratch, seed * 0.0625, 12);
  let b0 = f32x4.splat(seed), b1 = f32x4.splat(seed * 2);
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let i = 0; i < iterations; i++) {
    let x0 = v128.load32_splat(scratch), x1 = v128.load32_splat(scratch, 4);
    let x2 = v128.load32_splat(scratch, 8), x3 = v128.load32_splat(scratch, 12);
    c00 = madd(c00, x0, b0); c01 = madd(c01, x0, b1);
    c10 = madd(c10, x1, b0); c11 = madd(c11, x1, b1);
    c20 = madd(c20, x2, b0); c21 = madd(c21, x2, b1);
    c30 = madd(c30, x3, b0); c31 = madd(c31, x3, b1);
    b0 = f32x4.add(b0, step); b1 = f32x4.add(b1, step);
  }
  let s = f32x4.add(f32x4.add(f32x4.add(c00, c01), f32x4.add(c10, c11)), f32x4.add(f32x4.add(c20, c21), f32x4.add(c30, c31)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Counted flops per round of simdPeakLoop (8 accumulators × 4 lanes × mul and add). */
export function simdPeakFlopsPerIteration(): i32 {
  return 8 * 4 * 2;
}

/**
 * The peak loop as a chunkable kernel: rounds [from, to) of a larger run, so the thread pool can
 * spread one measurement over every thread (the aggregate is the machine's multi-thread peak).
 */
export function simdPeakChunk(from: i32, to: i32, scratch: usize): f32 {
  return simdPeakLoop(to - from, 1, scratch);
}
