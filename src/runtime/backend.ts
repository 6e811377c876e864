/**
 * The kernels behind the engine's compute-heavy steps. Two implementations exist and must give
 * identical integers: the plain-TypeScript reference kernels (src/kernels/reference/, the
 * specification) and the WebAssembly SIMD kernels (src/kernels/int8/). The engine's tests run
 * whole models through both and compare them bit for bit.
 *
 * Each method is called once per layer at compile time (with the constant weights, so a backend
 * can pack them) and returns the function that runs the layer.
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Int8Data, Int8DType, Int8Tensor } from "../kernels/reference/common.js";
import { quantizePerTensor } from "../kernels/int8/quantize.js";
import type { SoftmaxFusion } from "../kernels/int8/softmax.js";
import { type BinaryBroadcast, applyBroadcastBinaryTable } from "../kernels/int8/broadcast_binary.js";
import {
  type ConcatPlan, type Conv2dPlan, type ConvTranspose2dPlan, type GlobalAveragePoolPlan, type MatMulPlan, type ResizePlan,
  type SoftmaxPlan, type MaxPool2dPlan, type AveragePool2dPlan, averagePool2d, maxPool2d, concat, conv2d, convTranspose2d, globalAveragePool, matMul, newInt32Tensor, newInt8Tensor, resize, softmax,
} from "../kernels/reference/index.js";

/**
 * A layer kernel. A backend may let it apply a byte table to its output as it writes it
 * (fuseOutputTable); otherwise the engine applies fused tables in a separate pass.
 */
export type Kernel<A extends unknown[]> = ((...args: A) => Tensor) & {
  fuseOutputTable?(table: Uint8Array, dtype: "int8" | "uint8"): void;
};

export interface Int8Backend {
  readonly name: string;
  /** Quantized Conv with constant weights [C_out, C_in/group, kH, kW] and optional int32 bias [C_out]. */
  conv2d(plan: Conv2dPlan, weight: Tensor, bias: Int32Array | undefined): Kernel<[Tensor]>;
  /** Quantized ConvTranspose with constant weights [C_in, C_out/group, kH, kW]. */
  convTranspose2d(plan: ConvTranspose2dPlan, weight: Tensor, bias: Int32Array | undefined): Kernel<[Tensor]>;
  /** y[…, M, N] = a[…, M, K] · b[K, N] + bias[N] with a constant b (per-column params allowed). */
  linear(plan: MatMulPlan, b: Tensor, bias: Int32Array | undefined): Kernel<[Tensor]>;
  /** Quantized MatMul of two runtime tensors, with broadcasting of the batch dims. */
  matMul(plan: MatMulPlan): Kernel<[Tensor, Tensor]>;
  /** Concat, nearest/linear Resize and GlobalAveragePool for prepared reference plans. */
  concat(plan: ConcatPlan): (inputs: readonly Tensor[]) => Tensor;
  resize(plan: ResizePlan): (x: Tensor) => Tensor;
  globalAveragePool(plan: GlobalAveragePoolPlan): (x: Tensor) => Tensor;
  /** Integer Softmax (reference semantics); the kernel may take a byte table for its output. */
  softmax(plan: SoftmaxPlan): Kernel<[Tensor]>;
  /**
   * Optional: the Softmax merged with a per-column byte table before it, a byte table after it
   * and/or the DequantizeLinear after it (compile/fuse_softmax.ts) — the same values as those
   * steps run one by one. A backend without it keeps them as separate steps.
   */
  fusedSoftmax?(plan: SoftmaxPlan, fusion: SoftmaxFusion & { outputTable?: Uint8Array }): Kernel<[Tensor]>;
  maxPool(plan: MaxPool2dPlan): (x: Tensor) => Tensor;
  /**
   * Optional: a convolution and the MaxPool reading it as one kernel (compile/fuse_max_pool.ts),
   * the same values as the two run one by one; undefined for pairs it cannot fuse exactly. A
   * backend without it keeps two steps.
   */
  convMaxPool?(conv: Conv2dPlan, weight: Tensor, bias: Int32Array | undefined, pool: MaxPool2dPlan): Kernel<[Tensor]> | undefined;
  averagePool(plan: AveragePool2dPlan): (x: Tensor) => Tensor;
  /** QuantizeLinear of a float32 tensor with per-tensor 8-bit params (the model's input). */
  quantizePerTensor(x: Float32Array, scale: number, zeroPoint: number, dtype: Int8DType): Int8Data;
  /** An element-wise binary op as a 65 536-entry byte table (tables.ts), under broadcasting. */
  binaryTable(table: Uint8Array): (plan: BinaryBroadcast, a: Int8Data, b: Int8Data, out: Int8Data) => void;
  /**
   * A new 8-bit tensor for a step's output. The WebAssembly backend places it in its own memory,
   * where the next kernel reads it without a copy.
   */
  newTensor(dtype: Int8DType, dims: readonly number[]): Int8Tensor;
  /** The engine is done with this tensor (frees the backend's memory; no-op for other tensors). */
  release(t: Tensor): void;
  /** A copy of the tensor in ordinary memory, if it lives in the backend's (graph outputs). */
  exportTensor(t: Tensor): Tensor;
  /** Bytes of the backend's own memory in use (packed weights, live tensors); 0 when it has none. */
  bytesInUse(): number;
  /** Releases threads and memory; the backend must not be used afterwards. */
  dispose(): void;
}

function biasTensor(bias: Int32Array | undefined): Tensor | undefined {
  return bias ? newInt32Tensor([bias.length], bias) : undefined;
}

/** The reference kernels, unchanged: the specification, and the oracle of the fast backend. */
export const referenceBackend: Int8Backend = {
  name: "reference",
  conv2d(plan, weight, bias) {
    const b = biasTensor(bias);
    return (x) => conv2d(plan, x, weight, b);
  },
  convTranspose2d(plan, weight, bias) {
    const b = biasTensor(bias);
    return (x) => convTranspose2d(plan, x, weight, b);
  },
  linear(plan, b, bias) {
    const bt = biasTensor(bias);
    return (a) => matMul(plan, a, b, bt);
  },
  matMul(plan) {
    return (a, b) => matMul(plan, a, b);
  },
  binaryTable(table) {
    return (plan, a, b, out) => applyBroadcastBinaryTable(table, plan, a, b, out);
  },
  quantizePerTensor,
  concat: (plan) => (inputs) => concat(plan, inputs),
  resize: (plan) => (x) => resize(plan, x),
  globalAveragePool: (plan) => (x) => globalAveragePool(plan, x),
  softmax: (plan) => (x) => softmax(plan, x),
  maxPool: (plan) => (x) => maxPool2d(plan, x),
  averagePool: (plan) => (x) => averagePool2d(plan, x),
  newTensor: (dtype, dims) => newInt8Tensor(dtype, dims),
  release() {},
  exportTensor: (t) => t,
  bytesInUse: () => 0,
  dispose() {},
};
