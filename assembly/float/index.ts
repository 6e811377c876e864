// Entry point of the float kernel module (built by scripts/build-wasm-float.mjs).
export { gemm, gemmScratchBytes } from "./gemm";
export { im2col, col2im } from "./im2col";
export { simdPeakLoop, simdPeakChunk, simdPeakFlopsPerIteration } from "./peak";
export { reluForward, reluBackward, maxPool2dForward, maxPool2dBackward, channelsToBatch, batchToChannels } from "./elementwise";
