/**
 * The 8-bit WebAssembly GEMM against this machine's WebAssembly SIMD peak, measured in one run.
 *
 *   node --import tsx bench/runtime_gemm.ts [--threads 1,2] [--repeats 5]
 *
 * Peak: the GEMM micro-kernel's arithmetic alone (i32x4.dot_i16x8_s into 8 independent
 * accumulators, assembly/int8/peak.ts), 2 integer operations per multiply-add, one thread.
 * GEMM: out[M, N] = requantize(W[M, K] · B[K, N]) through the same entry point the convolutions use
 * (packed weights, B panels packed per call, fused output stage), reported as GOP/s = 2·M·N·K / time,
 * best of `repeats` timed calls after a warm-up, and as a fraction of the peak (× threads).
 */
import { loadavg } from "node:os";
import { Int8Wasm } from "../src/kernels/int8/wasm.js";
import { wasmConv2d } from "../src/kernels/int8/conv.js";
import { prepareConv2d } from "../src/kernels/reference/index.js";
import type { Tensor } from "../src/tensor/tensor.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const threadsList = arg("threads", "1,2").split(",").map(Number);
const repeats = Number(arg("repeats", "5"));

function best(f: () => void, repeats: number): number {
  f();
  let min = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    f();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

function peakGops(wasm: Int8Wasm): number {
  const iterations = 20_000_000;
  let ops = 0;
  const ms = best(() => { ops = wasm.peak(iterations); }, repeats);
  return ops / ms / 1e6;
}

/** A 1×1 convolution is exactly the GEMM W[M, K] · X[K, H·W]. */
function gemmCase(wasm: Int8Wasm, m: number, k: number, n: number): number {
  const side = Math.round(Math.sqrt(n));
  const width = Math.ceil(n / side);
  const x: Tensor = { dtype: "uint8", dims: [1, k, side, width], data: Uint8Array.from({ length: k * side * width }, (_, i) => (i * 7) & 255) };
  const w: Tensor = { dtype: "int8", dims: [m, k, 1, 1], data: Int8Array.from({ length: m * k }, (_, i) => ((i * 13) % 255) - 127) };
  const q = (s: number, z: number, dtype: "uint8" | "int8") => ({ dtype, scale: Float32Array.of(s), zeroPoint: Int32Array.of(z) });
  const plan = prepareConv2d({}, { input: q(0.02, 128, "uint8"), weight: q(0.01, 0, "int8"), output: q(0.5, 128, "uint8") });
  const run = wasmConv2d(wasm, plan, w, undefined);
  const ms = best(() => run(x), repeats);
  return (2 * m * k * side * width) / ms / 1e6;
}

const shapes: [number, number, number][] = [
  [64, 64, 64 * 64], [128, 128, 56 * 56], [256, 256, 28 * 28], [256, 1152, 28 * 28], [512, 512, 14 * 14], [24, 864, 120 * 160], [1024, 1024, 32 * 32],
  // Short reductions (the PP-OCR detector's 1×1 convolutions on few channels): the output stage is much of the work.
  [32, 16, 240 * 320], [96, 12, 120 * 160], [48, 32, 120 * 160], [48, 48, 120 * 160],
];

console.log(`load average: ${loadavg().map((v) => v.toFixed(2)).join(", ")} (other processes share the cores: compare numbers from one run)`);
const single = new Int8Wasm({ threads: 1 });
const peak = peakGops(single);
console.log(`WebAssembly SIMD int8 peak (i32x4.dot_i16x8_s, 1 thread): ${peak.toFixed(1)} GOP/s`);
for (const threads of threadsList) {
  const wasm = threads === 1 ? single : new Int8Wasm({ threads });
  console.log(`\n${threads} thread${threads > 1 ? "s" : ""} (peak × threads = ${(peak * threads).toFixed(1)} GOP/s)`);
  console.log("     M      K      N    GOP/s   % of peak");
  for (const [m, k, n] of shapes) {
    const gops = gemmCase(wasm, m, k, n);
    console.log(`${String(m).padStart(6)} ${String(k).padStart(6)} ${String(n).padStart(6)} ${gops.toFixed(1).padStart(8)} ${(100 * gops / (peak * threads)).toFixed(1).padStart(8)}%`);
  }
  if (wasm !== single) wasm.dispose();
}
single.dispose();
