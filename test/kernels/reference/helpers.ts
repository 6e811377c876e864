/**
 * Test support for the integer reference kernels: a seeded RNG, tensor builders, and an
 * independent float oracle (dequantize, compute in float64, quantize) written from the ONNX
 * definitions rather than from the code under test.
 */
import assert from "node:assert/strict";
import type { QParams } from "../../../src/quant/qparams.js";
import type { Tensor } from "../../../src/tensor/tensor.js";

export type Int8DType = "int8" | "uint8";

/** mulberry32: a small deterministic PRNG, so every failure reproduces. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

export function rangeOf(dtype: Int8DType | "int32"): [number, number] {
  if (dtype === "int8") return [-128, 127];
  if (dtype === "uint8") return [0, 255];
  return [-(2 ** 31), 2 ** 31 - 1];
}

function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function int8Tensor(dtype: Int8DType, dims: number[], values: ArrayLike<number>): Tensor {
  assert.equal(values.length, size(dims), "test tensor: values do not match dims");
  return { dtype, dims, data: dtype === "int8" ? Int8Array.from(values) : Uint8Array.from(values) };
}

export function int32Tensor(dims: number[], values: ArrayLike<number>): Tensor {
  return { dtype: "int32", dims, data: Int32Array.from(values) };
}

export function randomInt8Tensor(random: () => number, dtype: Int8DType, dims: number[], lo?: number, hi?: number): Tensor {
  const [qmin, qmax] = rangeOf(dtype);
  const values = Array.from({ length: size(dims) }, () => randomInt(random, lo ?? qmin, hi ?? qmax));
  return int8Tensor(dtype, dims, values);
}

export function qp(dtype: Int8DType, scale: number, zeroPoint: number): QParams {
  return { dtype, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zeroPoint) };
}

export function qpPerAxis(dtype: Int8DType, scales: number[], zeroPoints: number[], axis: number): QParams {
  return { dtype, scale: Float32Array.from(scales), zeroPoint: Int32Array.from(zeroPoints), axis };
}

// ---------------------------------------------------------------------------------------------
// The float oracle.

/** Round half to even, written out from the definition. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** real → quantized: clamp(round_half_even(v / scale) + zp) in float64. */
export function quantizeOracle(v: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  const q = roundHalfEven(v / scale) + zeroPoint;
  return Math.min(qmax, Math.max(qmin, q));
}

export function dequantizeOracle(q: number, scale: number, zeroPoint: number): number {
  return (q - zeroPoint) * scale;
}

/** Float values of a quantized tensor with per-tensor params. */
export function dequantizeAll(t: Tensor, params: QParams): Float64Array {
  const data = t.data as ArrayLike<number>;
  return Float64Array.from(data, (q) => dequantizeOracle(q, params.scale[0]!, params.zeroPoint[0]!));
}

/** Quantize float64 results with per-tensor params, optionally clipped in float first (a fused activation). */
export function quantizeAll(values: ArrayLike<number>, params: QParams, clip?: [number, number]): number[] {
  const [qmin, qmax] = rangeOf(params.dtype as Int8DType);
  return Array.from(values, (v) => {
    const c = clip ? Math.min(clip[1], Math.max(clip[0], v)) : v;
    return quantizeOracle(c, params.scale[0]!, params.zeroPoint[0]!, qmin, qmax);
  });
}

/**
 * Every element within one quantization step of the oracle, and differences rare (≤ 1 + 3% of the
 * elements): a systematic off-by-one would pass the first check but not the second.
 */
export function assertWithinOneStep(actual: Tensor, expected: ArrayLike<number>, what: string, allowedMismatchFraction = 0.03): void {
  const got = actual.data as ArrayLike<number>;
  assert.equal(got.length, expected.length, `${what}: ${got.length} values, expected ${expected.length}`);
  let mismatches = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    if (d > 1) assert.fail(`${what}: element ${i} is ${got[i]}, the float oracle gives ${expected[i]} (off by ${d})`);
    if (d === 1) mismatches++;
  }
  const allowed = 1 + Math.floor(allowedMismatchFraction * got.length);
  assert.ok(mismatches <= allowed, `${what}: ${mismatches} of ${got.length} elements differ by one step (allowed ${allowed})`);
}

export function values(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number>);
}

/** One of `values`, uniformly. */
export function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

/** Same dims, dtype and every element (kernels that must equal the reference bit for bit). */
export function sameTensor(got: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(got.dims, expected.dims, `${what}: dims`);
  assert.equal(got.dtype, expected.dtype, `${what}: dtype`);
  const a = got.data as ArrayLike<number>;
  const b = expected.data as ArrayLike<number>;
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: element ${i} is ${a[i]}, reference ${b[i]}`);
  }
}
