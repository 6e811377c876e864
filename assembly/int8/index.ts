// Entry point of the 8-bit kernel module (built by src/kernels/int8/build.ts).
export { packRows, packedRowsBytes, panelBytes, gemmRequantize, gemmAccumulate, padImage } from "./gemm";
export { gemvScratchBytes, gemvRequantize, narrowRowsBytes, packNarrowRows } from "./gemv";
export { depthwiseConv, depthwiseScratchBytes } from "./depthwise";
export { col2imAdd, requantizeRows, pixelShuffle, maxPoolRequantize } from "./accumulators";
export { binaryTableSame, binaryTableBlocks, mapBytes, resizeNearest, planeSums, transposeBytes } from "./tables";
export { quantizeF32 } from "./quantize";
export { maxPool, averagePool } from "./pooling";
export { prepareStages } from "./output_stage";
export { int8PeakLoop, int8PeakOpsPerIteration } from "./peak";
