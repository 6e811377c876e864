/**
 * The float kernels the training ops compute with. By default the WebAssembly SIMD kernels on one
 * thread, created at first use (which builds the .wasm from source if it is missing); tests switch
 * to the reference kernels, training scripts to more threads.
 */
import type { FloatKernels } from "../kernels/float/kernels.js";
import { WasmFloatKernels } from "../kernels/float/wasm.js";

let active: FloatKernels | null = null;

export function floatKernels(): FloatKernels {
  active ??= new WasmFloatKernels({ threads: 1 });
  return active;
}

/** Makes `kernels` the ones all training ops use; returns the previous ones (null if none yet). */
export function useFloatKernels(kernels: FloatKernels): FloatKernels | null {
  const previous = active;
  active = kernels;
  return previous;
}
