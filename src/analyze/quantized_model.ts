/**
 * The pieces a QDQ model is made of, and the one function that assembles them: analysis
 * (layer-wise models, mixed-precision candidates) builds many QDQ variants of the same float
 * model from one calibration, each from a plan and the ranges of every tensor it quantizes.
 */
import type { Model } from "../graph/ir.js";
import { exportQdq } from "../export/qdq.js";
import { applyWeightOverrides, type WeightOverride } from "../optimize/weight_overrides.js";
import { planQuantization, type QuantPlan } from "../plan/plan.js";
import type { Preset } from "../plan/preset.js";
import { resolveActivationParams, type Range } from "../plan/resolve.js";
import type { QParams } from "../quant/qparams.js";
import { withOriginalBiases, type CorrectedBias } from "./corrected_biases.js";

export interface QuantizationSetup {
  /** The float model the plan refers to (prepared, and equalized/bias-corrected if those ran). */
  model: Model;
  plan: QuantPlan;
  preset: Preset;
  /** Calibrated range of every tensor any plan of this model may quantize (see calibrateAllTensors). */
  ranges: Map<string, Range>;
  /** Nodes (names or op types) the user keeps in float; every plan of the setup keeps them so. */
  exclude?: string[];
  /** Integer weights to use instead of round-to-nearest (AdaRound's). */
  weightOverrides?: Map<string, WeightOverride>;
  /**
   * The biases bias correction changed in `model`, with their values before it: a layer a
   * variant leaves in float gets its original bias back (see corrected_biases.ts).
   */
  correctedBiases?: CorrectedBias[];
}

export interface BuiltModel {
  model: Model;
  plan: QuantPlan;
  /** Params of every quantized tensor by its float name (activations, weights). */
  params: Map<string, QParams>;
  warnings: string[];
}

/**
 * The QDQ model of `setup` (or of `plan` instead of setup.plan). `activationParams` defaults to
 * the plan's own resolution of the ranges; a sub-plan passes its parent's params instead, so that
 * a tensor sharing params with one the sub-plan does not quantize keeps the same params.
 */
export function buildQdq(setup: QuantizationSetup, plan: QuantPlan = setup.plan, activationParams?: Map<string, QParams>): BuiltModel {
  activationParams ??= resolveActivationParams(setup.model.graph, plan, setup.ranges, setup.preset);
  const quantizedLayers = new Set([...plan.weights.values()].map((w) => w.node));
  const float = withOriginalBiases(setup.model, setup.correctedBiases, (node) => !quantizedLayers.has(node));
  const exported = exportQdq(float, plan, activationParams);
  let model = exported.model;
  if (setup.weightOverrides?.size) {
    const planned = new Map([...setup.weightOverrides].filter(([name]) => plan.weights.has(name)));
    model = applyWeightOverrides(model, plan, planned);
  }
  return { model, plan, params: exported.params, warnings: exported.warnings };
}

/**
 * The float model every variant of `setup` is compared with: setup.model with the biases bias
 * correction changed set back (the corrected biases belong to the quantized layers only).
 */
export function floatReference(setup: QuantizationSetup): Model {
  return withOriginalBiases(setup.model, setup.correctedBiases);
}

/** The QDQ model with the given nodes (names or op types) left in float, planned afresh. */
export function buildWithExclusions(setup: QuantizationSetup, exclude: string[]): BuiltModel {
  const plan = planQuantization(setup.model.graph, { preset: setup.preset, exclude: [...(setup.exclude ?? []), ...exclude] });
  // Bias correction may have planned biases the fresh plan knows anyway (they are initializers now).
  return buildQdq(setup, plan);
}
