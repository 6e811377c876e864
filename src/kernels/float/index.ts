/** Float kernels: the plain-TypeScript reference (the spec) and WebAssembly SIMD implementations. */
export { conv2dGeometry, pool2dGeometry, type Conv2dGeometry, type Pool2dGeometry, type Conv2dOptions, type Window2dOptions } from "./geometry.js";
export { referenceKernels, type FloatKernels, type ConvGradients } from "./kernels.js";
export * from "./reference.js";
export { WasmFloatKernels, relaxedSimdSupported, loadFloatWasmBytes, type WasmFloatKernelOptions } from "./wasm.js";
export { buildFloatWasm, floatWasmPath, floatWasmIsFresh, type FloatWasmVariant } from "./build.js";
