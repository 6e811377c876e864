/** Quantization-aware training: fake quantization with STE, EMA or learned (LSQ) ranges, BatchNorm folding, QDQ export. */
export { fakeQuant, fakeQuantBias } from "./fake_quant.js";
export { lsqQuantize, lsqGradScale, lsqIntegerCodes, type LsqOptions } from "./lsq.js";
export { EmaRangeTracker, type RangeState } from "./range_tracker.js";
export { scaleChannels } from "./channel_scale.js";
export { findConvBatchNorms, foldedParts, foldedModel, inverseStd, type ConvBatchNorm, type FoldedParts } from "./bn_fold.js";
export { QatModel, qatPreset, lsqRange, weightQParams, planningModel, type QatMode, type QatModelOptions, type QatFormatOptions, type LearnedStep } from "./qat_model.js";
export { exportQat, type QatExport } from "./export.js";
export { qat, evaluateQat, calibrate, type QatData, type QatOptions, type QatResult, type QatEpoch } from "./qat.js";
export { writeQatCheckpoint, readQatState, qatCheckpointModel, qatState, QAT_METADATA_KEY, type QatState } from "./checkpoint.js";
