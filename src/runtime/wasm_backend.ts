/**
 * The engine's backend on the WebAssembly SIMD kernels (src/kernels/int8/): Conv (depthwise and
 * GEMM-based), fully connected layers and runtime MatMul. ConvTranspose still runs on the
 * reference kernel. Each kernel equals the reference bit for bit (test/kernels/int8/).
 */
import { convTranspose2d, newInt32Tensor } from "../kernels/reference/index.js";
import { wasmConv2d } from "../kernels/int8/conv.js";
import { hasWasmSimd } from "../kernels/int8/features.js";
import { wasmLinear, wasmMatMul } from "../kernels/int8/matmul.js";
import { Int8Wasm } from "../kernels/int8/wasm.js";
import type { Int8Backend } from "./backend.js";

export function wasmSimdSupported(): boolean {
  return hasWasmSimd();
}

export function createWasmBackend(options: { threads: number }): Int8Backend {
  const wasm = new Int8Wasm({ threads: options.threads });
  return {
    name: `wasm-simd×${options.threads}`,
    conv2d: (plan, weight, bias) => wasmConv2d(wasm, plan, weight, bias),
    convTranspose2d(plan, weight, bias) {
      const b = bias ? newInt32Tensor([bias.length], bias) : undefined;
      return (x) => convTranspose2d(plan, x, weight, b);
    },
    linear: (plan, b, bias) => wasmLinear(wasm, plan, b, bias),
    matMul: (plan) => wasmMatMul(wasm, plan),
    dispose: () => wasm.dispose(),
  };
}
