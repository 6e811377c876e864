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
import {
  type Conv2dPlan, type ConvTranspose2dPlan, type MatMulPlan, conv2d, convTranspose2d, matMul, newInt32Tensor,
} from "../kernels/reference/index.js";

export interface Int8Backend {
  readonly name: string;
  /** Quantized Conv with constant weights [C_out, C_in/group, kH, kW] and optional int32 bias [C_out]. */
  conv2d(plan: Conv2dPlan, weight: Tensor, bias: Int32Array | undefined): (x: Tensor) => Tensor;
  /** Quantized ConvTranspose with constant weights [C_in, C_out/group, kH, kW]. */
  convTranspose2d(plan: ConvTranspose2dPlan, weight: Tensor, bias: Int32Array | undefined): (x: Tensor) => Tensor;
  /** y[…, M, N] = a[…, M, K] · b[K, N] + bias[N] with a constant b (per-column params allowed). */
  linear(plan: MatMulPlan, b: Tensor, bias: Int32Array | undefined): (a: Tensor) => Tensor;
  /** Quantized MatMul of two runtime tensors, with broadcasting of the batch dims. */
  matMul(plan: MatMulPlan): (a: Tensor, b: Tensor) => Tensor;
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
  dispose() {},
};
