// Entry point of the 8-bit kernel module (built by src/kernels/int8/build.ts).
export { packRows, packedRowsBytes, panelBytes, gemmRequantize, gemmAccumulate } from "./gemm";
export { im2col } from "./im2col";
export { depthwiseConv, depthwiseScratchBytes } from "./depthwise";
export { int8PeakLoop, int8PeakOpsPerIteration } from "./peak";
