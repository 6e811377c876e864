/**
 * A float model with quantization simulated where the exporter will put it.
 *
 * The QuantPlan comes from the same planner PTQ uses, run on the model with its BatchNorms folded
 * (bn_fold.ts), so training quantizes exactly the tensors the QDQ export quantizes, with the same
 * formats: every planned activation (graph input, fused Conv→Relu outputs, shared data-movement
 * outputs, ...) goes through fake quantization with params from its range; planned weights are
 * fake-quantized per channel (or per tensor) from their own min/max as quantizeWeight does, after
 * BatchNorm folding; biases are rounded to int32 at input_scale·weight_scale. Activation ranges
 * come from an exponential moving average (Jacob et al. 2018) or are learned (LSQ, Esser et al.
 * 2019); weight steps are learned too with LSQ.
 *
 * Modes: "float" runs the float network (BatchNorm folding included), "observe" runs it in float
 * and feeds the range trackers (calibration before training), "quantize" simulates quantization.
 */
import { cloneModel, onnxOpset, type Model, type Node } from "../../graph/ir.js";
import { prepareGraph } from "../../graph/passes/index.js";
import { planQuantization, type BiasPlan, type QuantPlan, type WeightPlan } from "../../plan/plan.js";
import { requiredOpset, resolvePreset, type Preset, type PresetName } from "../../plan/preset.js";
import type { Range } from "../../plan/resolve.js";
import { qRange, type QuantDType } from "../../quant/dtype.js";
import { qparamsFromRange, qparamsFromRanges, type QParams } from "../../quant/qparams.js";
import { normalizeAxis } from "../../quant/axis.js";
import { channelRanges, tensorRange } from "../../quant/weights.js";
import { add } from "../arith.js";
import { GraphModel } from "../graph-model.js";
import { batchNorm } from "../norm.js";
import { reshape } from "../shape.js";
import { parameter, type Var } from "../tape.js";
import { findConvBatchNorms, foldedModel, foldedParts, type ConvBatchNorm } from "./bn_fold.js";
import { scaleChannels } from "./channel_scale.js";
import { fakeQuant, fakeQuantBias } from "./fake_quant.js";
import { lsqGradScale, lsqQuantize } from "./lsq.js";
import { EmaRangeTracker } from "./range_tracker.js";

export interface QatFormatOptions {
  /** Target preset (default "ort": uint8 asymmetric activations, int8 symmetric per-channel weights). */
  preset?: PresetName;
  perChannel?: boolean;
  weightType?: QuantDType;
  activationType?: QuantDType;
  /** Node names or op types to keep in float. */
  exclude?: string[];
}

export interface QatModelOptions extends QatFormatOptions {
  /** Learn step sizes (LSQ) instead of tracking activation ranges by EMA and weight ranges by min/max. */
  lsq?: boolean;
  /** EMA decay of activation ranges (default 0.99). */
  emaDecay?: number;
}

export type QatMode = "float" | "observe" | "quantize";

/** The preset with the caller's formats: PTQ's resolution (plan/preset.ts). */
export const qatPreset: (o: QatFormatOptions) => Preset = resolvePreset;


/**
 * A learned step: scale s per channel (or one), fixed zero point, LSQ gradient scale. Its range
 * (lsqRange) maps back to exactly (s, z) through qparamsFromRange, so export resolves it unchanged.
 */
export interface LearnedStep {
  step: Var;
  /** The smallest value the step may take: 1/1000 of where it started (keeps it positive). */
  floor: Float32Array;
  zeroPoint: Int32Array;
  dtype: QuantDType;
  symmetric: boolean;
  axis?: number;
}

/**
 * The range whose qparams (qparamsFromRange) are exactly (s, z): [s·(qmin − z), s·(qmax − z)]
 * (asymmetric), ±s·(qmax − qmin)/2 (symmetric). Products of a float32 s with small integers are
 * exact in double, so the scale and zero point computed back from it are s and z exactly.
 */
export function lsqRange(s: number, z: number, dtype: QuantDType, symmetric: boolean, narrow: boolean): Range {
  const { qmin, qmax } = qRange(dtype, narrow);
  if (symmetric) {
    const half = (s * (qmax - qmin)) / 2;
    return { min: -half, max: half };
  }
  return { min: s * (qmin - z), max: s * (qmax - z) };
}

export class QatModel {
  mode: QatMode = "quantize";
  /** Before the freeze, fused BatchNorms normalise with batch statistics in training. */
  batchNormFrozen = false;
  /** EMA ranges by activation name (calibrated, computed activations). */
  readonly trackers = new Map<string, EmaRangeTracker>();
  /** LSQ steps of activations and weights, by tensor name (created by `startLsq`). */
  readonly activationSteps = new Map<string, LearnedStep>();
  readonly weightSteps = new Map<string, LearnedStep>();
  private readonly pairByLayer: Map<string, ConvBatchNorm>;
  private readonly biasByNode = new Map<string, BiasPlan>();

  private constructor(
    readonly net: GraphModel,
    readonly plan: QuantPlan,
    readonly preset: Preset,
    readonly pairs: ConvBatchNorm[],
    readonly options: QatModelOptions,
  ) {
    this.pairByLayer = new Map(pairs.map((p) => [p.layer.name, p]));
    for (const b of plan.biases.values()) this.biasByNode.set(b.node, b);
    const decay = options.emaDecay ?? 0.99;
    for (const a of plan.activations.values()) {
      if (a.source.kind === "calibrated" && !a.constant) this.trackers.set(a.name, new EmaRangeTracker(decay));
    }
  }

  /**
   * Prepares a copy of `model` for training (opset raised to what the export needs, constants
   * folded, identities removed; BatchNorm kept), plans quantization on its folded form and checks
   * that every planned tensor is one the training network computes.
   */
  static create(model: Model, options: QatModelOptions = {}): QatModel {
    const preset = qatPreset(options);
    const training = cloneModel(model);
    const opset = onnxOpset(training);
    const target = Math.max(requiredOpset(preset), opset);
    prepareGraph(training, { ...(opset < target ? { targetOpset: target } : {}), foldBatchNorm: false });
    const net = new GraphModel(training);
    const pairs = findConvBatchNorms(net);
    const planning = planningModel(net, pairs);
    const plan = planQuantization(planning.graph, { preset, exclude: options.exclude ?? [] });
    checkPlanMatches(plan, net, pairs);
    return new QatModel(net, plan, preset, pairs, options);
  }

  /** All trainable weights (not the LSQ steps). */
  weights(): Var[] {
    return [...this.net.params.values()];
  }

  /** LSQ step sizes (empty without LSQ, or before `startLsq`). */
  steps(): Var[] {
    return [...this.activationSteps.values(), ...this.weightSteps.values()].map((s) => s.step);
  }

  /**
   * Turns the current ranges into learned steps (LSQ): activation steps start from the observed
   * range's params, weight steps from the weight's own min/max params (the PTQ starting point).
   */
  startLsq(): void {
    for (const [name, t] of this.trackers) {
      if (!t.hasRange) throw new Error(`activation ${name} has no range yet: calibrate before starting LSQ`);
      const a = this.plan.activations.get(name)!;
      const qp = qparamsFromRange(t.min, t.max, a.format);
      this.activationSteps.set(name, { step: parameter(Float32Array.from(qp.scale), [1]), floor: Float32Array.from(qp.scale, (v) => v / 1000), zeroPoint: Int32Array.from(qp.zeroPoint), dtype: a.format.dtype, symmetric: a.format.symmetric });
    }
    for (const w of this.plan.weights.values()) {
      const value = this.currentFoldedWeight(w);
      const qp = weightQParams(value.data, value.dims, w);
      this.weightSteps.set(w.name, {
        step: parameter(Float32Array.from(qp.scale), [qp.scale.length]), floor: Float32Array.from(qp.scale, (v) => v / 1000), zeroPoint: Int32Array.from(qp.zeroPoint),
        dtype: w.format.dtype, symmetric: w.format.symmetric, ...(qp.axis !== undefined ? { axis: qp.axis } : {}),
      });
    }
  }

  /**
   * Projects the learned steps back above their floors after an optimizer update: a gradient step
   * can overshoot below zero, where a step size means nothing (Esser et al. do not discuss it;
   * implementations clamp to a small positive value).
   */
  clampSteps(): void {
    for (const s of [...this.activationSteps.values(), ...this.weightSteps.values()]) {
      const d = s.step.data;
      for (let i = 0; i < d.length; i++) {
        if (!(d[i]! >= s.floor[i]!)) d[i] = s.floor[i]!;
      }
    }
  }

  /** Stops the EMA ranges (LSQ steps keep learning: they are parameters). */
  freezeRanges(): void {
    for (const t of this.trackers.values()) t.frozen = true;
  }

  /** The range each calibrated activation would be exported with. */
  ranges(): Map<string, Range> {
    const out = new Map<string, Range>();
    for (const [name, t] of this.trackers) {
      const learned = this.activationSteps.get(name);
      if (learned) out.set(name, lsqRange(learned.step.data[0]!, learned.zeroPoint[0]!, learned.dtype, learned.symmetric, false));
      else if (t.hasRange) out.set(name, { min: t.min, max: t.max });
    }
    return out;
  }

  /** The folded (BatchNorm absorbed) float value of a planned weight, as the exporter will see it. */
  private currentFoldedWeight(w: WeightPlan): Var {
    const pair = this.pairByLayer.get(w.node);
    const p = this.net.param(w.name);
    if (!pair) return p;
    const n = this.net;
    return foldedParts(p, pair.layer.inputs[2] ? n.param(pair.layer.inputs[2]) : null, n.param(pair.bn.inputs[1]!), n.param(pair.bn.inputs[2]!), n.batchNorms.get(pair.bn.name)!, pair.weightAxis).weight;
  }

  forward(x: Var, training: boolean): Var {
    const quantizing = this.mode === "quantize";
    const params = new Map<string, QParams>();
    const weightParams = new Map<string, QParams>();

    const activationParams = (name: string): QParams => {
      const done = params.get(name);
      if (done) return done;
      const a = this.plan.activations.get(name);
      if (!a) throw new Error(`tensor ${name} is not in the quantization plan`);
      const src = a.source;
      let qp: QParams;
      // The same cases, in the same order, as plan/resolve.ts resolveActivationParams.
      if (a.constant) {
        const { min, max } = tensorRange(this.net.param(name).data);
        qp = qparamsFromRange(min, max, a.format);
      } else if (src.kind === "exact") {
        qp = { dtype: a.format.dtype, scale: Float32Array.of(src.scale), zeroPoint: Int32Array.of(qRange(a.format.dtype).qmin + src.zeroPointAboveQmin) };
      } else if (src.kind === "shared") {
        qp = { ...activationParams(src.tensor) };
      } else if (src.kind === "fixed") {
        const fixed = this.preset.fixedOutputParams;
        qp = fixed && a.format.dtype === "int8"
          ? { dtype: a.format.dtype, scale: Float32Array.of(fixed.scale), zeroPoint: Int32Array.of(fixed.zeroPoint) }
          : qparamsFromRange(src.min, src.max, a.format);
      } else {
        const learned = this.activationSteps.get(name);
        const t = this.trackers.get(name)!;
        const r = learned
          ? lsqRange(learned.step.data[0]!, learned.zeroPoint[0]!, learned.dtype, learned.symmetric, false)
          : t.hasRange ? { min: t.min, max: t.max } : undefined;
        if (!r) throw new Error(`activation ${name} has no range yet (run calibration batches first)`);
        qp = qparamsFromRange(r.min, r.max, a.format);
      }
      params.set(name, qp);
      return qp;
    };

    const quantizeWeight = (w: WeightPlan, value: Var, node: Node): Var => {
      const learned = this.weightSteps.get(w.name);
      if (learned) {
        const per = learned.axis === undefined ? value.size : value.size / value.dims[learned.axis]!;
        const { qmax } = qRange(learned.dtype, w.format.narrow);
        weightParams.set(node.name, { dtype: learned.dtype, scale: learned.step.data.slice(), zeroPoint: learned.zeroPoint, ...(learned.axis !== undefined ? { axis: learned.axis } : {}) });
        return lsqQuantize(value, learned.step, {
          dtype: learned.dtype, zeroPoint: learned.zeroPoint, narrow: w.format.narrow,
          gradScale: lsqGradScale(per, qmax - learned.zeroPoint[0]!), ...(learned.axis !== undefined ? { axis: learned.axis } : {}),
        });
      }
      const qp = weightQParams(value.data, value.dims, w);
      weightParams.set(node.name, qp);
      return fakeQuant(value, qp);
    };

    const quantizeBias = (node: Node, bias: Var): Var => {
      const b = this.biasByNode.get(node.name);
      const wq = weightParams.get(node.name);
      if (!b || !wq || !this.plan.activations.has(b.input)) return bias;
      return fakeQuantBias(bias, activationParams(b.input).scale[0]!, wq.scale);
    };

    return this.net.forward(x, { training }, {
      value: (name, v) => {
        const a = this.plan.activations.get(name);
        if (!a || a.constant || this.mode === "float") return v;
        const tracker = this.trackers.get(name);
        if (this.mode === "observe") {
          tracker?.observe(v.data, name);
          return v;
        }
        const learned = this.activationSteps.get(name);
        if (learned) {
          const perSample = v.dims.length > 1 ? v.size / v.dims[0]! : v.size;
          const { qmax } = qRange(learned.dtype);
          activationParams(name);
          return lsqQuantize(v, learned.step, { dtype: learned.dtype, zeroPoint: learned.zeroPoint, gradScale: lsqGradScale(perSample, qmax - learned.zeroPoint[0]!) });
        }
        if (training && tracker) tracker.observe(v.data, name);
        return fakeQuant(v, activationParams(name));
      },
      parameter: (name, p, node) => {
        if (!quantizing) return p;
        const w = this.plan.weights.get(name);
        if (w && w.node === node.name) return quantizeWeight(w, p, node);
        const b = this.biasByNode.get(node.name);
        if (b && b.name === name) return quantizeBias(node, p);
        const a = this.plan.activations.get(name);
        if (a?.constant) return fakeQuant(p, activationParams(name));
        return p;
      },
      node: (node, read) => {
        if (node.opType === "BatchNormalization" && training && this.batchNormFrozen) {
          // A BatchNorm that folds into nothing freezes too: running statistics from now on.
          const n = this.net;
          return new Map([[node.outputs[0]!, n.runNode(node, [read(node.inputs[0]!), n.param(node.inputs[1]!), n.param(node.inputs[2]!)], false)]]);
        }
        const pair = this.pairByLayer.get(node.name);
        if (!pair) return undefined;
        const n = this.net;
        const weightName = node.inputs[1]!;
        const bias = node.inputs[2] ? n.param(node.inputs[2]) : null;
        const gamma = n.param(pair.bn.inputs[1]!);
        const beta = n.param(pair.bn.inputs[2]!);
        const state = n.batchNorms.get(pair.bn.name)!;
        const parts = foldedParts(n.param(weightName), bias, gamma, beta, state, pair.weightAxis);
        const w = this.plan.weights.get(weightName);
        const weight = quantizing && w ? quantizeWeight(w, parts.weight, node) : parts.weight;
        const x = read(node.inputs[0]!);
        let y: Var;
        if (training && !this.batchNormFrozen && this.mode !== "observe") {
          // Batch statistics, corrected: conv(x, Q(w_fold))·σ_run/γ, then BatchNorm in training mode.
          let raw = scaleChannels(n.runNode(node, [x, weight], true), parts.factor, 1, "divide");
          if (bias) raw = add(raw, reshape(bias, [bias.size, ...raw.dims.slice(2).map(() => 1)]));
          y = batchNorm(raw, gamma, beta, state, true);
        } else {
          y = n.runNode(node, [x, weight, quantizing ? quantizeBias(node, parts.bias) : parts.bias], false);
        }
        return new Map([[pair.bn.outputs[0]!, y]]);
      },
    });
  }
}

/** Per-channel (or per-tensor) params of a weight from its own min/max: quantizeWeight's choice. */
export function weightQParams(data: Float32Array, dims: readonly number[], w: WeightPlan): QParams {
  const opts = { dtype: w.format.dtype, symmetric: w.format.symmetric, narrow: w.format.narrow };
  if (w.axis === undefined) {
    const { min, max } = tensorRange(data);
    return qparamsFromRange(min, max, opts);
  }
  const axis = normalizeAxis(w.axis, dims.length);
  const { mins, maxs } = channelRanges(data, dims, axis);
  return qparamsFromRanges(mins, maxs, opts, axis);
}

/** The training model with its BatchNorms folded, prepared as for PTQ: what the plan is made on. */
export function planningModel(net: GraphModel, pairs: readonly ConvBatchNorm[]): Model {
  const folded = foldedModel(net.toModel(), net, pairs);
  prepareGraph(folded, {});
  return folded;
}

/** Every planned tensor must be one the training network computes or holds. */
function checkPlanMatches(plan: QuantPlan, net: GraphModel, pairs: readonly ConvBatchNorm[]): void {
  const computed = new Set<string>([net.inputName, ...net.order.flatMap((n) => n.outputs)]);
  const nodes = new Set(net.order.map((n) => n.name));
  const folded = new Set(pairs.map((p) => p.layer.name));
  const problems: string[] = [];
  for (const a of plan.activations.values()) {
    if (a.constant ? !net.params.has(a.name) : !computed.has(a.name)) problems.push(`activation ${a.name}`);
  }
  for (const w of plan.weights.values()) {
    if (!net.params.has(w.name) || !nodes.has(w.node)) problems.push(`weight ${w.name} of ${w.node}`);
  }
  for (const b of plan.biases.values()) {
    if (!net.params.has(b.name) && !folded.has(b.node)) problems.push(`bias ${b.name} of ${b.node}`);
  }
  if (problems.length) {
    throw new Error(`quantization-aware training cannot follow the quantization plan: graph preparation rewrote ${problems.slice(0, 5).join(", ")}${problems.length > 5 ? ", …" : ""} into tensors the training network does not compute`);
  }
}
