/**
 * Quantization with the optional weight-side algorithms, in the order they must run:
 *
 *   prepare → [cross-layer equalization] → plan → calibrate every tensor → activation params
 *           → [AdaRound] → [bias correction] → QDQ export (+ AdaRound's integer weights)
 *
 * - CLE changes the float model's intermediate activations (channel i of A's output is divided
 *   by s_i), so it runs before calibration; with clip "relu-if-unreached" a first min/max pass
 *   over the Clip inputs decides which Relu6 may become Relu.
 * - High-bias absorption (`cle: { highBiasAbsorption: true }`) runs right after CLE, from the
 *   per-channel minima of each pair's first-layer output. They are measured in the same single
 *   pass as the Clip ranges, on the model before CLE, and divided by CLE's per-channel scales
 *   (every value between a pair's layers is divided by them).
 * - AdaRound needs the plan (formats, axes) but not the activation params: it reconstructs each
 *   layer's float output from its float input.
 * - Bias correction runs last, on the weights the model will actually hold (AdaRound's when it
 *   ran), and includes each layer input's own quantization (it needs the activation params).
 *   The activation ranges are those calibrated before it: the corrected biases move each output's
 *   mean by the (small) expected error, not its range.
 *
 * The result carries a QuantizationSetup, from which analysis and mixed-precision search build
 * their variants with the same calibration. This is the function the quantize command's
 * `--cle --bias-correction --adaround` flags map to; it belongs with quantizeModel in src/api/.
 */
import { type CorrectedBias, correctedBiasesFrom } from "../analyze/corrected_biases.js";
import type { CalibrationMethod, Calibration } from "../calibrate/calibrate.js";
import type { Feeds } from "../calibrate/executor.js";
import { onnxOpset, type Model } from "../graph/ir.js";
import type { ObserverOptions } from "../observe/index.js";
import { adaround, type AdaRoundOptions, type AdaRoundReport } from "../optimize/adaround.js";
import { correctBiases, type BiasCorrectionReport } from "../optimize/bias_correction.js";
import type { QuantizedWeight } from "../optimize/planned_weights.js";
import type { CreateExecutor } from "../optimize/capture.js";
import { captureTensors } from "../optimize/capture.js";
import { equalizeCrossLayer, type EqualizationReport, type EqualizeOptions } from "../optimize/cle.js";
import type { ObservedRange } from "../optimize/cle_pairs.js";
import {
  absorbHighBias, accumulateChannelExtremes, describeHighBiasAbsorption, extremesAfterEqualization, highBiasTensors,
  type ChannelExtremes, type HighBiasOptions, type HighBiasReport,
} from "../optimize/high_bias.js";
import { planQuantization, type QuantPlan } from "../plan/plan.js";
import { requiredOpset, type PresetName } from "../plan/preset.js";
import { resolveActivationParams } from "../plan/resolve.js";
import type { QuantDType } from "../quant/dtype.js";
import type { QParams } from "../quant/qparams.js";
import { tensorRange } from "../quant/weights.js";
import { prepareForQuantization } from "./prepare.js";
import { resolvePreset } from "./quantize.js";
import { calibrateAllTensors } from "../analyze/calibrate_all.js";
import { buildQdq, type QuantizationSetup } from "../analyze/quantized_model.js";

export interface OptimizedQuantizeOptions {
  preset?: PresetName;
  method?: CalibrationMethod;
  perChannel?: boolean;
  activationType?: QuantDType;
  weightType?: QuantDType;
  exclude?: string[];
  observer?: Partial<ObserverOptions>;
  createExecutor: CreateExecutor;
  /**
   * Cross-layer equalization (true for the defaults). `highBiasAbsorption` (true for the
   * defaults) follows it with high-bias absorption, from per-channel minima it measures itself.
   */
  cle?: boolean | (Omit<EqualizeOptions, "observedRanges"> & { highBiasAbsorption?: boolean | HighBiasAbsorptionOptions });
  /** Empirical bias correction. */
  biasCorrection?: boolean;
  /**
   * AdaRound (true for the defaults). `inputs: "quantized"` (default) fits each layer from its
   * input in the quantized model (earlier layers' chosen weights, activation quantization
   * included); "float" from the float model's input.
   */
  adaround?: boolean | (Omit<AdaRoundOptions, "createExecutor" | "quantizedModel"> & { inputs?: "float" | "quantized" });
  /** Progress messages. */
  log?: (message: string) => void;
}

/** High-bias absorption's options in the pipeline (the minima and maxima are measured). */
export type HighBiasAbsorptionOptions = Omit<HighBiasOptions, "channelMinima" | "channelMaxima">;

export interface OptimizedQuantizeResult {
  /** The QDQ model. */
  model: Model;
  setup: QuantizationSetup;
  plan: QuantPlan;
  params: Map<string, QParams>;
  calibration: Calibration;
  optimizations: { cle?: EqualizationReport; highBiasAbsorption?: HighBiasReport; biasCorrection?: BiasCorrectionReport; adaround?: AdaRoundReport };
  warnings: string[];
}

export async function quantizeWithOptimizations(model: Model, data: AsyncIterable<Feeds>, options: OptimizedQuantizeOptions): Promise<OptimizedQuantizeResult> {
  const log = options.log ?? (() => {});
  const preset = resolvePreset(options);
  const method = options.method ?? "percentile";
  const { model: prepared, report: preparation } = prepareForQuantization(model, { minOpset: Math.max(requiredOpset(preset), onnxOpset(model)) });
  let float = prepared;
  const optimizations: OptimizedQuantizeResult["optimizations"] = {};

  if (options.cle) {
    const { highBiasAbsorption, ...equalizeOptions } = options.cle === true ? {} : options.cle;
    const cleOptions: EqualizeOptions = { ...equalizeOptions };
    const absorb = highBiasAbsorption ? (highBiasAbsorption === true ? {} : highBiasAbsorption) : undefined;
    // One pass before CLE for both: the Clip inputs' ranges (clip policy) and the per-channel
    // extremes absorption needs (of every pair that may exist once Clips become Relu).
    const measured = await measureBeforeEqualization(float, data, options.createExecutor, {
      clipInputs: cleOptions.clip === "relu-if-unreached",
      channelTensors: absorb ? highBiasTensors(float, { clip: "relu" }) : [],
    });
    if (measured.clipRanges) cleOptions.observedRanges = measured.clipRanges;
    const equalized = equalizeCrossLayer(float, cleOptions);
    float = equalized.model;
    optimizations.cle = equalized.report;
    log(`cross-layer equalization: ${equalized.report.pairs.length} pairs equalized in ${equalized.report.sweeps} sweeps, ${equalized.report.skipped.length} layer outputs skipped`);
    if (absorb) {
      const extremes = extremesAfterEqualization(measured.channels, float, equalized.report);
      const absorbed = absorbHighBias(float, { ...absorb, ...extremes });
      float = absorbed.model;
      optimizations.highBiasAbsorption = absorbed.report;
      const [summary, ...details] = describeHighBiasAbsorption(absorbed.report);
      log(`high-bias absorption: ${summary}`);
      for (const line of details) log(`  ${line}`);
    }
  }

  let plan = planQuantization(float.graph, { preset, exclude: options.exclude ?? [] });
  const { calibration, ranges } = await calibrateAllTensors(float, data, {
    method, format: preset.activation, createExecutor: options.createExecutor, ...(options.observer ? { observer: options.observer } : {}),
  });
  const activationParams = resolveActivationParams(float.graph, plan, ranges, preset);

  let weightOverrides: Map<string, QuantizedWeight> | undefined;
  if (options.adaround) {
    const { inputs = "quantized", ...adaOptions } = options.adaround === true ? {} : options.adaround;
    if (inputs !== "quantized" && inputs !== "float") throw new Error(`AdaRound inputs must be "quantized" or "float", got ${JSON.stringify(inputs)}`);
    const partial: QuantizationSetup = { model: float, plan, preset, ranges };
    const result = await adaround(float, plan, data, {
      ...adaOptions,
      createExecutor: options.createExecutor,
      ...(inputs === "quantized" ? { quantizedModel: (chosen: Map<string, QuantizedWeight>) => buildQdq({ ...partial, weightOverrides: chosen }, plan, activationParams).model } : {}),
      onLayer: (l, i, total) => {
        log(`AdaRound ${i + 1}/${total} ${l.node}: ${l.changed}/${l.weights} weights rounded the other way, loss ${l.lossNearest.toPrecision(3)} → ${l.lossAdaRound.toPrecision(3)} (${l.seconds.toFixed(1)} s)`);
        adaOptions.onLayer?.(l, i, total);
      },
    });
    weightOverrides = result.weights;
    optimizations.adaround = result.report;
  }

  let correctedBiases: CorrectedBias[] | undefined;
  if (options.biasCorrection) {
    const before = float;
    const corrected = await correctBiases(float, plan, data, {
      createExecutor: options.createExecutor,
      activationParams,
      ...(weightOverrides ? { weights: weightOverrides } : {}),
    });
    float = corrected.model;
    plan = corrected.plan;
    // The corrected biases are right only for quantized layers: analysis and mixed precision put
    // the originals back wherever a layer stays float (analyze/corrected_biases.ts).
    correctedBiases = correctedBiasesFrom(before, corrected.report.layers);
    optimizations.biasCorrection = corrected.report;
    log(`bias correction: ${corrected.report.layers.length} layers corrected (${corrected.report.layers.filter((l) => l.added).length} biases added)`);
  }

  const setup: QuantizationSetup = {
    model: float, plan, preset, ranges,
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(weightOverrides ? { weightOverrides } : {}),
    ...(correctedBiases ? { correctedBiases } : {}),
  };
  const built = buildQdq(setup, plan, activationParams);
  return {
    model: built.model, setup, plan, params: built.params, calibration, optimizations,
    warnings: [...preparation.warnings, ...built.warnings],
  };
}

/**
 * What CLE and absorption need from the data, in one pass (none when neither needs anything):
 * per-tensor ranges of the Clip inputs, per-channel extremes of `channelTensors`.
 */
async function measureBeforeEqualization(
  model: Model, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor, wanted: { clipInputs: boolean; channelTensors: string[] },
): Promise<{ clipRanges?: Map<string, ObservedRange>; channels: ChannelExtremes }> {
  const channels: ChannelExtremes = { channelMinima: new Map(), channelMaxima: new Map() };
  const clipNames = wanted.clipInputs ? clipInputNames(model) : [];
  const clipRanges = wanted.clipInputs ? new Map<string, ObservedRange>() : undefined;
  if (!clipNames.length && !wanted.channelTensors.length) return { ...(clipRanges ? { clipRanges } : {}), channels };
  const channelSet = new Set(wanted.channelTensors);
  await captureTensors(model, [...clipNames, ...channelSet], data, createExecutor, (tensors) => {
    for (const name of clipNames) addRange(clipRanges!, name, tensors.get(name)!.data as Float32Array);
    for (const name of channelSet) accumulateChannelExtremes(channels, name, tensors.get(name)!);
  });
  return { ...(clipRanges ? { clipRanges } : {}), channels };
}

function clipInputNames(model: Model): string[] {
  return [...new Set(model.graph.nodes.filter((n) => n.opType === "Clip").map((n) => n.inputs[0]!))];
}

function addRange(ranges: Map<string, ObservedRange>, name: string, values: Float32Array): void {
  const r = tensorRange(values);
  const old = ranges.get(name);
  ranges.set(name, old ? { min: Math.min(old.min, r.min), max: Math.max(old.max, r.max) } : r);
}

/** Observed min/max of every Clip node's input, for CLE's clip policy "relu-if-unreached". */
export async function clipInputRanges(model: Model, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor): Promise<Map<string, ObservedRange>> {
  const names = clipInputNames(model);
  const ranges = new Map<string, ObservedRange>();
  if (!names.length) return ranges;
  await captureTensors(model, names, data, createExecutor, (tensors) => {
    for (const [name, t] of tensors) addRange(ranges, name, t.data as Float32Array);
  });
  return ranges;
}
