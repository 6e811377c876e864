/**
 * analyze/: metrics, graph-wise and layer-wise error analysis, mixed precision, the HTML report,
 * and the pipeline with the weight-side algorithms. Node-only parts (file access, the CLI) are in
 * node.ts and cli.ts and are not re-exported here.
 */
export { ErrorAccumulator, Top1Accumulator, argmaxRows, median } from "./metrics.js";
export { analyzeQuantization } from "./analysis.js";
export type { AnalysisOptions, AnalysisResult } from "./analysis.js";
export { calibrateAllTensors, floatTensors, probeFloatTensors, rangesOf } from "./calibrate_all.js";
export { correctedBiasesFrom, withOriginalBiases } from "./corrected_biases.js";
export type { CorrectedBias } from "./corrected_biases.js";
export { accuracyEvaluator, outputSqnrEvaluator } from "./evaluators.js";
export type { Evaluator } from "./evaluators.js";
export { dequantizedTwins, graphwiseErrors } from "./graph_errors.js";
export type { ErrorMetrics, GraphwiseErrors, OutputError, TensorError } from "./graph_errors.js";
export { groupUnits, layerwiseErrors, quantizationUnits, sensitivityRanking, unitPlan } from "./layer_errors.js";
export type { LayerError, LayerwiseOptions, QuantUnit } from "./layer_errors.js";
export { mixedPrecision } from "./mixed_precision.js";
export type { MixedPrecisionOptions, MixedPrecisionResult } from "./mixed_precision.js";
export { buildQdq, buildWithExclusions, floatReference } from "./quantized_model.js";
export type { BuiltModel, QuantizationSetup } from "./quantized_model.js";
export { collectReportData, tensorRanges } from "./report_data.js";
export type { ReportData, ReportInputs } from "./report_data.js";
export { embedJson, renderReport } from "./report_html.js";
