/**
 * Quantization with the optional weight-side algorithms, in the order they must run:
 *
 *   prepare → [cross-layer equalization] → plan → calibrate every tensor → activation params
 *           → [AdaRound] → [bias correction] → QDQ export (+ AdaRound's integer weights)
 *
 * - CLE changes the float model's intermediate activations (channel i of A's output is divided
 *   by s_i), so it runs before calibration; with clip "relu-if-unreached" a first min/max pass
 *   over the Clip inputs decides which Relu6 may become Relu.
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
import { planQuantization, type QuantPlan } from "../plan/plan.js";
import type { PresetName } from "../plan/preset.js";
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
  /** Cross-layer equalization (true for the defaults). */
  cle?: boolean | Omit<EqualizeOptions, "observedRanges">;
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

export interface OptimizedQuantizeResult {
  /** The QDQ model. */
  model: Model;
  setup: QuantizationSetup;
  plan: QuantPlan;
  params: Map<string, QParams>;
  calibration: Calibration;
  optimizations: { cle?: EqualizationReport; biasCorrection?: BiasCorrectionReport; adaround?: AdaRoundReport };
  warnings: string[];
}

export async function quantizeWithOptimizations(model: Model, data: AsyncIterable<Feeds>, options: OptimizedQuantizeOptions): Promise<OptimizedQuantizeResult> {
  const log = options.log ?? (() => {});
  const preset = resolvePreset(options);
  const method = options.method ?? "percentile";
  const { model: prepared, report: preparation } = prepareForQuantization(model, { minOpset: Math.max(preset.weight.perChannel ? 13 : 10, onnxOpset(model)) });
  let float = prepared;
  const optimizations: OptimizedQuantizeResult["optimizations"] = {};

  if (options.cle) {
    const cleOptions: EqualizeOptions = options.cle === true ? {} : { ...options.cle };
    if (cleOptions.clip === "relu-if-unreached") cleOptions.observedRanges = await clipInputRanges(float, data, options.createExecutor);
    const equalized = equalizeCrossLayer(float, cleOptions);
    float = equalized.model;
    optimizations.cle = equalized.report;
    log(`cross-layer equalization: ${equalized.report.pairs.length} pairs equalized in ${equalized.report.sweeps} sweeps, ${equalized.report.skipped.length} layer outputs skipped`);
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

  if (options.biasCorrection) {
    const corrected = await correctBiases(float, plan, data, {
      createExecutor: options.createExecutor,
      activationParams,
      ...(weightOverrides ? { weights: weightOverrides } : {}),
    });
    float = corrected.model;
    plan = corrected.plan;
    optimizations.biasCorrection = corrected.report;
    log(`bias correction: ${corrected.report.layers.length} layers corrected (${corrected.report.layers.filter((l) => l.added).length} biases added)`);
  }

  const setup: QuantizationSetup = {
    model: float, plan, preset, ranges,
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(weightOverrides ? { weightOverrides } : {}),
  };
  const built = buildQdq(setup, plan, activationParams);
  return {
    model: built.model, setup, plan, params: built.params, calibration, optimizations,
    warnings: [...preparation.warnings, ...built.warnings],
  };
}

/** Observed min/max of every Clip node's input, for CLE's clip policy "relu-if-unreached". */
export async function clipInputRanges(model: Model, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor): Promise<Map<string, ObservedRange>> {
  const names = [...new Set(model.graph.nodes.filter((n) => n.opType === "Clip").map((n) => n.inputs[0]!))];
  const ranges = new Map<string, ObservedRange>();
  if (!names.length) return ranges;
  await captureTensors(model, names, data, createExecutor, (tensors) => {
    for (const [name, t] of tensors) {
      const r = tensorRange(t.data as Float32Array);
      const old = ranges.get(name);
      ranges.set(name, old ? { min: Math.min(old.min, r.min), max: Math.max(old.max, r.max) } : r);
    }
  });
  return ranges;
}
