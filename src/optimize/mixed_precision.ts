/**
 * Mixed precision with an accuracy target: which quantization units to leave in float so that the
 * quantized model's metric stays within a target, leaving as few in float as the search can find.
 *
 * The search knows nothing about models: it gets the units ordered from the most sensitive to the
 * least (layer-wise analysis gives that order) and an evaluator that scores a choice of float
 * units. Two phases:
 *   1. greedy: add units to the float set in sensitivity order until the target is met;
 *   2. prune: try taking each float unit back to quantized, the least sensitive first, and keep
 *      that whenever the target still holds (sensitivities measured one unit at a time do not add
 *      up exactly: errors interact, so some unit the greedy phase added may be unnecessary).
 * The result is minimal in the sense that no single float unit can be quantized again; finding
 * the smallest set is a subset search the evaluation budget does not allow.
 */

export interface MixedPrecisionTarget {
  /** Largest allowed drop of the metric below the float model's (same units as the metric, e.g. accuracy points). */
  maxDrop?: number;
  /** Smallest allowed metric value (e.g. an SQNR of 30 dB). */
  minMetric?: number;
}

export interface MixedPrecisionStep {
  phase: "baseline" | "greedy" | "prune";
  /** The float set evaluated at this step. */
  float: string[];
  /** The unit added (greedy) or tried back in quantized form (prune). */
  unit?: string;
  metric: number;
  meetsTarget: boolean;
  kept: boolean;
}

export interface MixedPrecisionDecision {
  /** Units left in float, in sensitivity order. */
  float: string[];
  metric: number;
  referenceMetric: number;
  /** The lowest metric the target allows. */
  threshold: number;
  met: boolean;
  steps: MixedPrecisionStep[];
  /** One sentence per float unit saying why it stayed float. */
  reasons: Record<string, string>;
}

export interface MixedPrecisionSearch {
  /** Unit names, most sensitive first. */
  ranking: string[];
  /** Scores a model with the given units in float; higher is better. */
  evaluate: (float: string[]) => Promise<number>;
  /** The float model's score (for maxDrop). */
  referenceMetric: number;
  target: MixedPrecisionTarget;
  /** Called after each evaluation. */
  onStep?: (step: MixedPrecisionStep) => void;
}

export function targetThreshold(referenceMetric: number, target: MixedPrecisionTarget): number {
  const { maxDrop, minMetric } = target;
  if (maxDrop === undefined && minMetric === undefined) throw new Error("mixed precision needs a target: maxDrop or minMetric");
  if (maxDrop !== undefined && !(maxDrop >= 0)) throw new Error(`maxDrop must be ≥ 0, got ${maxDrop}`);
  if (minMetric !== undefined && !Number.isFinite(minMetric)) throw new Error(`minMetric must be a finite number, got ${minMetric}`);
  if (maxDrop !== undefined && !Number.isFinite(referenceMetric)) throw new Error(`maxDrop needs a finite reference metric, got ${referenceMetric}`);
  return Math.max(maxDrop !== undefined ? referenceMetric - maxDrop : -Infinity, minMetric ?? -Infinity);
}

export async function searchMixedPrecision(search: MixedPrecisionSearch): Promise<MixedPrecisionDecision> {
  const { ranking, evaluate, referenceMetric, target } = search;
  if (new Set(ranking).size !== ranking.length) throw new Error("mixed precision: the ranking lists a unit twice");
  const threshold = targetThreshold(referenceMetric, target);
  const steps: MixedPrecisionStep[] = [];
  const record = (step: MixedPrecisionStep) => {
    steps.push(step);
    search.onStep?.(step);
  };
  const position = new Map(ranking.map((u, i) => [u, i]));
  const sorted = (units: string[]) => [...units].sort((a, b) => position.get(a)! - position.get(b)!);

  const baseline = await evaluate([]);
  let metric = baseline;
  let float: string[] = [];
  let met = metric >= threshold;
  record({ phase: "baseline", float: [], metric, meetsTarget: met, kept: true });
  const reasons: Record<string, string> = {};
  for (const unit of ranking) {
    if (met) break;
    const trial = [...float, unit];
    const m = await evaluate(trial);
    record({ phase: "greedy", float: trial, unit, metric: m, meetsTarget: m >= threshold, kept: true });
    float = trial;
    metric = m;
    met = m >= threshold;
  }
  if (!met) {
    return { float: sorted(float), metric, referenceMetric, threshold, met, steps, reasons: Object.fromEntries(float.map((u) => [u, "target not reachable: every unit is float and the metric is still below the threshold"])) };
  }
  // Prune, least sensitive first.
  for (const unit of [...float].reverse()) {
    const trial = float.filter((u) => u !== unit);
    const m = trial.length === 0 ? baseline : await evaluate(trial); // the empty set is the baseline, known to fail
    const ok = m >= threshold;
    record({ phase: "prune", float: trial, unit, metric: m, meetsTarget: ok, kept: !ok });
    if (ok) {
      float = trial;
      metric = m;
    } else {
      reasons[unit] = `quantizing it again drops the metric to ${fmt(m)}, below the threshold ${fmt(threshold)} (sensitivity rank ${position.get(unit)! + 1})`;
    }
  }
  return { float: sorted(float), metric, referenceMetric, threshold, met: true, steps, reasons };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : String(x);
}
