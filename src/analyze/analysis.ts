/**
 * analyzeQuantization: where a quantized model loses accuracy. Graph-wise errors (every quantized
 * tensor with all quantization in place), layer-wise errors (one unit quantized at a time), the
 * sensitivity ranking that follows from them and, with an evaluator and a target, the
 * mixed-precision decision. Everything is built from one QuantizationSetup, i.e. one calibration.
 */
import type { Feeds } from "../calibrate/executor.js";
import type { CreateExecutor } from "../optimize/capture.js";
import type { MixedPrecisionTarget } from "../optimize/mixed_precision.js";
import type { Evaluator } from "./evaluators.js";
import { graphwiseErrors, type GraphwiseErrors } from "./graph_errors.js";
import { layerwiseErrors, sensitivityRanking, type LayerError, type QuantUnit } from "./layer_errors.js";
import { mixedPrecision, type MixedPrecisionResult } from "./mixed_precision.js";
import { buildQdq, floatReference, type QuantizationSetup } from "./quantized_model.js";

export interface AnalysisOptions {
  createExecutor: CreateExecutor;
  /** Graph-wise errors (default true). */
  graphwise?: boolean;
  /** Layer-wise errors and the ranking (default true; mixed precision needs them). */
  layerwise?: boolean;
  /** Layer-wise analysis and mixed precision over groups of units (layer_errors.ts groupUnits). */
  groupOf?: (unit: QuantUnit) => string | undefined;
  /** With a target: search which units to keep in float. */
  mixedPrecision?: { evaluator: Evaluator; target: MixedPrecisionTarget; weightedOnly?: boolean };
  /** Also score the fully quantized and the float model with this evaluator. */
  evaluator?: Evaluator;
  log?: (message: string) => void;
}

export interface AnalysisResult {
  graphwise?: GraphwiseErrors;
  layerwise?: LayerError[];
  /** Layer-wise results, most sensitive first. */
  ranking?: LayerError[];
  mixedPrecision?: MixedPrecisionResult;
  /** Evaluator scores of the float and the fully quantized model. */
  scores?: { metric: string; float: number; quantized: number };
}

export async function analyzeQuantization(setup: QuantizationSetup, data: AsyncIterable<Feeds>, options: AnalysisOptions): Promise<AnalysisResult> {
  const log = options.log ?? (() => {});
  const result: AnalysisResult = {};
  const built = buildQdq(setup);
  const float = floatReference(setup);
  if (options.graphwise ?? true) {
    log("graph-wise errors…");
    result.graphwise = await graphwiseErrors(float, built.model, built.params, data, { createExecutor: options.createExecutor });
  }
  if ((options.layerwise ?? true) || options.mixedPrecision) {
    result.layerwise = await layerwiseErrors(setup, data, {
      createExecutor: options.createExecutor,
      ...(options.groupOf ? { groupOf: options.groupOf } : {}),
      onUnit: (done, total) => log(`layer-wise errors ${done}/${total}`),
    });
    result.ranking = sensitivityRanking(result.layerwise);
  }
  const evaluator = options.evaluator ?? options.mixedPrecision?.evaluator;
  if (evaluator) {
    result.scores = { metric: evaluator.metric, float: await evaluator.evaluate(float), quantized: await evaluator.evaluate(built.model) };
  }
  if (options.mixedPrecision) {
    log("mixed-precision search…");
    result.mixedPrecision = await mixedPrecision(setup, {
      ranking: result.ranking!,
      evaluator: options.mixedPrecision.evaluator,
      target: options.mixedPrecision.target,
      // The float score measured above is the search's reference only when it is the same metric.
      ...(result.scores && evaluator === options.mixedPrecision.evaluator ? { referenceMetric: result.scores.float } : {}),
      ...(options.mixedPrecision.weightedOnly !== undefined ? { weightedOnly: options.mixedPrecision.weightedOnly } : {}),
      onStep: (s) => log(`  ${s.phase}${s.unit ? ` ${s.unit}` : ""}: ${s.metric.toFixed(3)}${s.meetsTarget ? " (meets target)" : ""}`),
    });
  }
  return result;
}
