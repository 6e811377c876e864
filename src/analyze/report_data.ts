/**
 * What the HTML report shows, gathered into plain JSON: the summary, each quantized activation's
 * histogram with the clipping ranges every calibration method picks from it, each weight's
 * per-channel ranges, graph-wise and layer-wise errors, the sensitivity ranking, the
 * mixed-precision decision and what the weight-side algorithms changed.
 *
 * All four calibration ranges come from one recorded histogram: the percentile, entropy and MSE
 * observers share the histogram format (observe/histogram_observer.ts), so one state is restored
 * under each method, and MinMax is the histogram's exact min and max.
 */
import type { Calibration } from "../calibrate/calibrate.js";
import type { Model } from "../graph/ir.js";
import { observerFromState, type HistogramObserverState, type ObserverState } from "../observe/index.js";
import { describeHighBiasAbsorption } from "../optimize/high_bias.js";
import { channelRanges } from "../quant/weights.js";
import type { QuantPlan } from "../plan/plan.js";
import { toFloat32 } from "../tensor/tensor.js";
import type { AnalysisResult } from "./analysis.js";
import type { OptimizedQuantizeResult } from "../api/optimized_quantize.js";

export interface HistogramPlot {
  /** Left edge of the first bar and the bar width. */
  start: number;
  width: number;
  counts: number[];
}

export interface TensorReport {
  name: string;
  producer?: string;
  histogram?: HistogramPlot;
  /** [min, max] each method picks from the same histogram. */
  ranges: Partial<Record<"minmax" | "percentile" | "entropy" | "mse", [number, number]>>;
  /** The range the model was quantized with. */
  used?: [number, number];
  /** Graph-wise SQNR (accumulated) and own SQNR, dB. */
  sqnr?: number;
  ownSqnr?: number;
}

export interface WeightReport {
  name: string;
  node: string;
  dtype: string;
  perChannel: boolean;
  mins: number[];
  maxs: number[];
}

export interface ReportData {
  title: string;
  generated: string;
  summary: [string, string][];
  outputs: { output: string; sqnr: number; cosine: number; mse: number; maxAbsError: number }[];
  tensors: TensorReport[];
  weights: WeightReport[];
  layers: { unit: string; nodes: string[]; opTypes: string[]; sqnr: number; cosine: number; mse: number }[];
  ranking: string[];
  mixedPrecision?: {
    metric: string;
    threshold: number;
    referenceMetric: number;
    met: boolean;
    float: string[];
    exclude: string[];
    metricValue: number;
    steps: { phase: string; unit?: string; float: string[]; metric: number; meetsTarget: boolean; kept: boolean }[];
    reasons: Record<string, string>;
  };
  optimizations: { name: string; lines: string[] }[];
}

const METHODS = ["percentile", "entropy", "mse"] as const;

/** Groups `counts` into at most `bars` bars over the non-empty span [first, last]. */
function downsample(counts: ArrayLike<number>, start: number, width: number, bars: number): HistogramPlot | undefined {
  let first = -1, last = -1;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i]! > 0) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) return undefined;
  const span = last - first + 1;
  const group = Math.max(1, Math.ceil(span / bars));
  const out: number[] = [];
  for (let i = first; i <= last; i += group) {
    let s = 0;
    for (let k = i; k < Math.min(i + group, last + 1); k++) s += counts[k]!;
    out.push(s);
  }
  return { start: start + first * width, width: width * group, counts: out };
}

function isHistogramState(s: ObserverState): s is HistogramObserverState {
  return s.method === "percentile" || s.method === "entropy" || s.method === "mse";
}

/** Histogram and per-method ranges of one tensor from its observer state (a histogram observer's). */
export function tensorRanges(state: ObserverState): Pick<TensorReport, "histogram" | "ranges"> {
  if (!isHistogramState(state)) {
    const s = state as { min: number | null; max: number | null };
    return { ranges: s.min !== null && s.max !== null ? { minmax: [s.min, s.max] } : {} };
  }
  const h = state.histogram;
  const ranges: TensorReport["ranges"] = {};
  if (h.min === null || h.max === null) return { ranges };
  ranges.minmax = [h.min, h.max];
  for (const method of METHODS) {
    const r = observerFromState({ ...state, method }).range();
    ranges[method] = [r.min, r.max];
  }
  const width = h.limit / h.halfBins;
  const histogram = h.limit > 0 ? downsample(h.counts, -h.limit, width, 160) : undefined;
  return { ...(histogram ? { histogram } : {}), ranges };
}

export interface ReportInputs {
  title: string;
  pipeline: OptimizedQuantizeResult;
  analysis: AnalysisResult;
  /** A calibration whose observers recorded histograms (any of percentile/entropy/MSE), by tensor. */
  histograms?: Calibration;
  /** Extra summary rows. */
  summary?: [string, string][];
}

export function collectReportData(inputs: ReportInputs): ReportData {
  const { pipeline, analysis } = inputs;
  const plan: QuantPlan = pipeline.plan;
  const float: Model = pipeline.setup.model;
  const producers = new Map<string, string>();
  for (const n of float.graph.nodes) for (const o of n.outputs) producers.set(o, n.name);
  const graphwise = new Map((analysis.graphwise?.tensors ?? []).map((t) => [t.tensor, t]));

  const tensors: TensorReport[] = [];
  for (const a of plan.activations.values()) {
    if (a.constant) continue;
    const t: TensorReport = { name: a.name, ranges: {} };
    const producer = producers.get(a.name);
    if (producer) t.producer = producer;
    const observer = inputs.histograms?.observers.get(a.name) ?? pipeline.calibration.observers.get(a.name);
    if (observer) Object.assign(t, tensorRanges(observer.state()));
    const used = pipeline.setup.ranges.get(a.name);
    if (used && a.source.kind === "calibrated") t.used = [used.min, used.max];
    const g = graphwise.get(a.name);
    if (g) {
      t.sqnr = g.sqnr;
      t.ownSqnr = g.ownSqnr;
    }
    tensors.push(t);
  }

  const weights: WeightReport[] = [];
  for (const w of plan.weights.values()) {
    const tensor = float.graph.initializers.get(w.name);
    if (!tensor) continue;
    const values = toFloat32(tensor);
    const axis = w.axis ?? 0;
    const { mins, maxs } = channelRanges(values, tensor.dims, axis);
    weights.push({ name: w.name, node: w.node, dtype: w.format.dtype, perChannel: w.axis !== undefined, mins: Array.from(mins), maxs: Array.from(maxs) });
  }

  const optimizations: ReportData["optimizations"] = [];
  const o = pipeline.optimizations;
  if (o.cle) {
    optimizations.push({
      name: "Cross-layer equalization",
      lines: [
        `${o.cle.pairs.length} pairs equalized in ${o.cle.sweeps} sweeps${o.cle.converged ? "" : " (not converged)"}; ${o.cle.clipsReplaced.length} Clip → Relu`,
        ...o.cle.pairs.map((p) => `${p.first} → ${p.through.join(" → ") || "(direct)"} → ${p.second}: ${p.channelsScaled} channels scaled`),
        ...o.cle.layers.map((l) => `${l.node}: channel range spread ${l.channelRangeSpreadBefore.toFixed(1)}× → ${l.channelRangeSpreadAfter.toFixed(1)}×, worst-channel per-tensor int8 SQNR ${l.worstChannelInt8SqnrBefore.toFixed(1)} → ${l.worstChannelInt8SqnrAfter.toFixed(1)} dB`),
        ...o.cle.skipped.map((s) => `skipped ${s.first}${s.second ? ` → ${s.second}` : ""}: ${s.reason}`),
      ],
    });
  }
  if (o.highBiasAbsorption) {
    optimizations.push({ name: "High-bias absorption", lines: describeHighBiasAbsorption(o.highBiasAbsorption) });
  }
  if (o.adaround) {
    optimizations.push({
      name: "AdaRound",
      lines: o.adaround.layers.map((l) => `${l.node} (${l.dtype}): ${l.changed}/${l.weights} weights rounded the other way; output error ${l.lossNearest.toPrecision(3)} → ${l.lossAdaRound.toPrecision(3)} on ${l.rows} rows; ${l.seconds.toFixed(1)} s`),
    });
  }
  if (o.biasCorrection) {
    optimizations.push({
      name: "Bias correction",
      lines: o.biasCorrection.layers.map((l) => `${l.node}: max |shift| ${l.maxAbsShift.toPrecision(3)}${l.added ? " (bias added)" : ""}${l.inputQuantized ? ", input quantization included" : ""}`),
    });
  }

  const mp = analysis.mixedPrecision;
  const summary: [string, string][] = [
    ["quantized nodes", String(plan.quantizedNodes.length)],
    ["float nodes", String(plan.floatNodes.length)],
    ["weights / activations", `${plan.weights.size} / ${plan.activations.size}`],
    ["calibration", `${pipeline.calibration.method}, ${pipeline.calibration.samples} samples`],
    ...(inputs.summary ?? []),
  ];
  if (analysis.scores) {
    summary.push([`${analysis.scores.metric}: float`, fixed(analysis.scores.float)]);
    summary.push([`${analysis.scores.metric}: quantized`, fixed(analysis.scores.quantized)]);
  }
  if (mp) summary.push(["mixed precision", mp.decision.met ? `${mp.decision.float.length} units in float → ${fixed(mp.decision.metric)}` : "target not reached"]);

  return {
    title: inputs.title,
    generated: new Date().toISOString(),
    summary,
    outputs: analysis.graphwise?.outputs ?? [],
    tensors,
    weights,
    layers: (analysis.layerwise ?? []).map((l) => ({ unit: l.unit, nodes: l.nodes, opTypes: l.opTypes, sqnr: l.sqnr, cosine: l.cosine, mse: l.mse })),
    ranking: (analysis.ranking ?? []).map((l) => l.unit),
    ...(mp ? {
      mixedPrecision: {
        metric: mp.metric, threshold: mp.decision.threshold, referenceMetric: mp.decision.referenceMetric, met: mp.decision.met,
        float: mp.decision.float, exclude: mp.exclude, metricValue: mp.decision.metric, steps: mp.decision.steps, reasons: mp.decision.reasons,
      },
    } : {}),
    optimizations,
  };
}

function fixed(v: number): string {
  return v === Infinity ? "∞" : v === -Infinity ? "−∞" : v.toFixed(3);
}
