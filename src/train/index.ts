/** octet's training engine: reverse-mode autodiff over the ops CNN training needs, optimisers, models. */
export { Var, parameter, constant, opResult, backward, type BackwardFn } from "./tape.js";
export { floatKernels, useFloatKernels } from "./backend.js";
export { conv2d } from "./conv.js";
export { gemm, matmul, linear, type GemmOptions } from "./linear.js";
export { maxPool2d, avgPool2d, globalAvgPool, type AvgPoolOptions } from "./pool.js";
export { relu, clip, relu6, hardSwish, sigmoid } from "./activations.js";
export { add, mul, broadcastDims } from "./arith.js";
export { flatten, reshape, concat } from "./shape.js";
export { dropout } from "./dropout.js";
export { batchNorm, batchNormState, type BatchNormState } from "./norm.js";
export { softmaxCrossEntropy, argmaxRows } from "./loss.js";
export { Sgd, Adam, type Optimizer, type SgdOptions, type AdamOptions } from "./optimizers.js";
export { constantLr, stepLr, cosineLr, withWarmup, type LrSchedule } from "./schedule.js";
export { Rng, uniformArray, normalArray, fans, heUniform, heNormal, glorotUniform, fanInBias } from "./init.js";
export { Sequential, lenetSpecs, type LayerSpec, type ForwardContext, type NamedTensor } from "./layers.js";
export { trainEpoch, evaluateAccuracy, gatherBatch, type LabelledImages, type EpochOptions, type EpochResult } from "./classifier.js";
export { saveCheckpoint, readCheckpoint, loadCheckpointModel, encodeCheckpoint, decodeCheckpoint, type Checkpoint } from "./checkpoint.js";
export { sequentialToGraph, sequentialToModel, type ExportOptions } from "./export-graph.js";
