/**
 * The engine's backend on the WebAssembly SIMD kernels (src/kernels/int8/): Conv (depthwise and
 * GEMM-based), ConvTranspose (GEMM + col2im), fully connected layers and runtime MatMul. Each
 * kernel equals the reference bit for bit (test/kernels/int8/).
 */
import { wasmBinaryTable } from "../kernels/int8/binary.js";
import { wasmConv2d } from "../kernels/int8/conv.js";
import { wasmConvTranspose2d } from "../kernels/int8/conv_transpose.js";
import { hasRelaxedSimd, hasWasmSimd } from "../kernels/int8/features.js";
import { wasmLinear, wasmMatMul } from "../kernels/int8/matmul.js";
import { Int8Wasm } from "../kernels/int8/wasm.js";
import { wasmQuantizePerTensor } from "../kernels/int8/quantize.js";
import { wasmConcat, wasmGlobalAveragePool, wasmResize } from "../kernels/int8/movement.js";
import { histogramSoftmax } from "../kernels/int8/softmax.js";
import { wasmAveragePool, wasmMaxPool } from "../kernels/int8/pooling.js";
import { wasmConvMaxPool } from "../kernels/int8/conv_max_pool.js";
import type { Int8Backend } from "./backend.js";

export function wasmSimdSupported(): boolean {
  return hasWasmSimd();
}

export function createWasmBackend(options: { threads: number }): Int8Backend {
  const wasm = new Int8Wasm({ threads: options.threads });
  return {
    // Relaxed SIMD is detected but not used: its i8×i7 dot product cannot take 8-bit activations
    // minus their zero point (9 bits), so it would not speed up these kernels exactly.
    name: `wasm-simd×${options.threads}${hasRelaxedSimd() ? " (relaxed SIMD available, not used)" : ""}`,
    conv2d: (plan, weight, bias) => wasmConv2d(wasm, plan, weight, bias),
    convTranspose2d: (plan, weight, bias) => wasmConvTranspose2d(wasm, plan, weight, bias),
    linear: (plan, b, bias) => wasmLinear(wasm, plan, b, bias),
    matMul: (plan) => wasmMatMul(wasm, plan),
    binaryTable: (table) => wasmBinaryTable(wasm, table),
    quantizePerTensor: (x, scale, zeroPoint, dtype) => wasmQuantizePerTensor(wasm, x, scale, zeroPoint, dtype),
    concat: (plan) => wasmConcat(wasm, plan),
    resize: (plan) => wasmResize(wasm, plan),
    globalAveragePool: (plan) => wasmGlobalAveragePool(wasm, plan),
    softmax: (plan) => histogramSoftmax(plan, (dtype, dims) => wasm.newTensor(dtype, dims)),
    fusedSoftmax(plan, { outputTable, ...fusion }) {
      const newTensor = (dtype: "int8" | "uint8", dims: readonly number[]) => wasm.newTensor(dtype, dims);
      const dq = fusion.dequantize;
      // An output table before a DequantizeLinear composes into the DequantizeLinear's values.
      if (outputTable && dq) return histogramSoftmax(plan, newTensor, { ...fusion, dequantize: Float32Array.from(outputTable, (b) => dq[b]!) });
      const kernel = histogramSoftmax(plan, newTensor, fusion);
      if (outputTable) kernel.fuseOutputTable(outputTable, plan.outputDType);
      return kernel;
    },
    maxPool: (plan) => wasmMaxPool(wasm, plan),
    convMaxPool: (conv, weight, bias, pool) => wasmConvMaxPool(wasm, conv, weight, bias, pool),
    averagePool: (plan) => wasmAveragePool(wasm, plan),
    newTensor: (dtype, dims) => wasm.newTensor(dtype, dims),
    release: (t) => wasm.release(t.data),
    exportTensor(t) {
      if (wasm.offsetOf(t.data as Int8Array) === undefined) return t;
      const data = t.data as Int8Array | Uint8Array;
      return { dtype: t.dtype, dims: [...t.dims], data: data.slice() };
    },
    bytesInUse: () => wasm.allocatedBytes,
    dispose: () => wasm.dispose(),
  };
}
