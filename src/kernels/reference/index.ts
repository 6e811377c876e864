/**
 * Integer reference kernels: readable plain-TypeScript definitions of octet's integer arithmetic
 * (docs/integer-arithmetic.md). Optimized kernels must equal these bit for bit.
 */
export * from "./common.js";
export * from "./window.js";
export * from "./broadcast.js";
export * from "./conv2d.js";
export * from "./conv2d_gemm.js";
export * from "./conv_transpose2d.js";
export * from "./gemm.js";
export * from "./matmul.js";
export * from "./requantize.js";
export * from "./elementwise.js";
export * from "./concat.js";
export * from "./pooling.js";
export * from "./resize.js";
export * from "./pad.js";
export * from "./data_movement.js";
export * from "./lookup_table.js";
export * from "./softmax.js";
export * from "./quantize_linear.js";
