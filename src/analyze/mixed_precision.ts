/**
 * Mixed precision on a real model: the search of optimize/mixed_precision.ts with candidates built
 * from one calibration (planQuantization with the float units' nodes excluded, see
 * quantized_model.ts) and scored by an evaluator.
 */
import type { MixedPrecisionDecision, MixedPrecisionStep, MixedPrecisionTarget } from "../optimize/mixed_precision.js";
import { searchMixedPrecision } from "../optimize/mixed_precision.js";
import type { Evaluator } from "./evaluators.js";
import type { LayerError } from "./layer_errors.js";
import { buildWithExclusions, floatReference, type BuiltModel, type QuantizationSetup } from "./quantized_model.js";

export interface MixedPrecisionOptions {
  /** Units ordered most sensitive first (sensitivityRanking of a layer-wise analysis). */
  ranking: LayerError[];
  evaluator: Evaluator;
  target: MixedPrecisionTarget;
  /** Only weighted units (Conv/Gemm/MatMul) are candidates (default true: data-movement and elementwise units cost little). */
  weightedOnly?: boolean;
  /** The float model's score when already known (else the evaluator scores floatReference(setup)). */
  referenceMetric?: number;
  onStep?: (step: MixedPrecisionStep) => void;
}

export interface MixedPrecisionResult {
  decision: MixedPrecisionDecision;
  /** The node names left in float (the plan's `exclude`). */
  exclude: string[];
  metric: string;
  /** The chosen QDQ model. */
  built: BuiltModel;
}

export async function mixedPrecision(setup: QuantizationSetup, options: MixedPrecisionOptions): Promise<MixedPrecisionResult> {
  const candidates = options.ranking.filter((u) => !(options.weightedOnly ?? true) || u.weighted);
  const nodesOf = new Map(candidates.map((u) => [u.unit, u.nodes]));
  const exclusionsOf = (units: string[]) => units.flatMap((u) => nodesOf.get(u)!);
  const cache = new Map<string, number>();
  const referenceMetric = options.referenceMetric ?? (options.target.maxDrop !== undefined ? await options.evaluator.evaluate(floatReference(setup)) : NaN);
  const decision = await searchMixedPrecision({
    ranking: candidates.map((u) => u.unit),
    referenceMetric,
    target: options.target,
    ...(options.onStep ? { onStep: options.onStep } : {}),
    evaluate: async (units) => {
      const key = [...units].sort().join("\u0000");
      const known = cache.get(key);
      if (known !== undefined) return known;
      const score = await options.evaluator.evaluate(buildWithExclusions(setup, exclusionsOf(units)).model);
      cache.set(key, score);
      return score;
    },
  });
  const exclude = exclusionsOf(decision.float);
  return { decision, exclude, metric: options.evaluator.metric, built: buildWithExclusions(setup, exclude) };
}
