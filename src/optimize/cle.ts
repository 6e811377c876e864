/**
 * Cross-layer equalization (Nagel, van Baalen, Blankevoort, Welling 2019, "Data-Free Quantization
 * Through Weight Equalization and Bias Correction", §4.1).
 *
 * Per-tensor weight quantization suffers when a layer's output channels have very different
 * ranges: the widest channel sets the scale and the narrow ones are left with a few levels. For
 * two layers A → f → B with f positively homogeneous per channel (f(x/s) = f(x)/s for s > 0; see
 * cle_pairs.ts), scaling output channel i of A down by s_i and input channel i of B up by s_i
 * leaves the composite unchanged (eq. 3–5):
 *
 *   W_A[i, ·] ← W_A[i, ·] / s_i,   b_A[i] ← b_A[i] / s_i,   W_B[·, i] ← W_B[·, i] · s_i.
 *
 * With r1_i = max |W_A[i, ·]| (A's output channel range) and r2_i = max |W_B[·, i]| (B's input
 * channel range), the choice that maximises the product of the two layers' per-channel precisions
 * (§4.1, eq. 10–11) makes both ranges equal:
 *
 *   s_i = (1 / r2_i) · √(r1_i · r2_i) = √(r1_i / r2_i),   so that r1_i / s_i = r2_i · s_i = √(r1_i · r2_i).
 *
 * Chains (A → B → C, e.g. conv → depthwise → pointwise) share layers between pairs, so the pairs
 * are equalized in turn and the sweep repeated until no scale moves by more than a tolerance (the
 * paper: "we iterate this process for pairs of layers sequentially until convergence").
 *
 * The float model computes the same function after equalization (up to float rounding); the
 * report says what changed, including the per-tensor int8 weight SQNR of every touched layer
 * before and after, which is what equalization is for.
 */
import { cloneModel, makeNode, type Model } from "../graph/ir.js";
import { fakeQuantize } from "../quant/quantize.js";
import { qparamsFromRange } from "../quant/qparams.js";
import { tensorRange } from "../quant/weights.js";
import { toFloat32 } from "../tensor/tensor.js";
import { findEqualizationPairs, type ClipPolicy, type EqualizationPair, type ObservedRange, type SkippedPair } from "./cle_pairs.js";
import { linearLayer, type LinearLayer } from "./linear_layer.js";

export interface EqualizeOptions {
  /** What to do with Clip(0, b) (Relu6) between layers; see cle_pairs.ts. Default "skip". */
  clip?: ClipPolicy;
  /** Observed [min, max] per tensor, for clip "relu-if-unreached" (see observedRanges()). */
  observedRanges?: Map<string, ObservedRange>;
  /** Maximum sweeps over all pairs (default 100). */
  maxSweeps?: number;
  /** Stop when every scale of a sweep is within this relative distance of 1 (default 1e-6). */
  tolerance?: number;
  /** Only these pairs' first layers (node names); default all found. */
  only?: string[];
}

export interface LayerEqualization {
  node: string;
  /** max/min of the per-output-channel weight ranges (channels with range 0 ignored). */
  channelRangeSpreadBefore: number;
  channelRangeSpreadAfter: number;
  /** SQNR (dB) of the whole weight quantized per tensor, symmetric int8, before and after. */
  perTensorInt8SqnrBefore: number;
  perTensorInt8SqnrAfter: number;
  /**
   * The same quantization's SQNR of the worst output channel: what equalization mostly improves,
   * since the narrow channels are the ones a shared per-tensor scale leaves with few levels.
   */
  worstChannelInt8SqnrBefore: number;
  worstChannelInt8SqnrAfter: number;
}

export interface EqualizationReport {
  /**
   * `scales[i]`: the factor output channel i of the pair's first layer was divided by (all sweeps
   * together; 1 for channels left alone). Every value between the two layers is divided by it too,
   * which lets statistics measured before equalization be carried over (high_bias.ts).
   */
  pairs: (EqualizationPair & { channelsScaled: number; channelsLeft: number; scales: number[] })[];
  skipped: SkippedPair[];
  /** Clip nodes replaced by Relu (by the clip policy). */
  clipsReplaced: string[];
  layers: LayerEqualization[];
  sweeps: number;
  converged: boolean;
}

export interface EqualizeResult {
  model: Model;
  report: EqualizationReport;
}

export function equalizeCrossLayer(model: Model, options: EqualizeOptions = {}): EqualizeResult {
  const maxSweeps = options.maxSweeps ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  if (!Number.isInteger(maxSweeps) || maxSweeps < 1) throw new Error(`maxSweeps must be a positive integer, got ${maxSweeps}`);
  if (!(tolerance > 0)) throw new Error(`tolerance must be > 0, got ${tolerance}`);
  const found = findEqualizationPairs(model, {
    ...(options.clip ? { clip: options.clip } : {}),
    ...(options.observedRanges ? { observedRanges: options.observedRanges } : {}),
  });
  let pairs = found.pairs;
  if (options.only) {
    const known = new Set(pairs.map((p) => p.first));
    for (const name of options.only) {
      if (!known.has(name)) throw new Error(`equalization: ${name} is not the first layer of an equalizable pair`);
    }
    const only = new Set(options.only);
    pairs = pairs.filter((p) => only.has(p.first));
  }

  const out = cloneModel(model);
  const graph = out.graph;
  // Replace the Clips the policy turned into Relu, keeping node and value names.
  const clipsReplaced = pairs.flatMap((p) => p.clipsToRelu);
  for (const name of clipsReplaced) {
    const i = graph.nodes.findIndex((n) => n.name === name);
    const clip = graph.nodes[i]!;
    graph.nodes[i] = makeNode("Relu", [clip.inputs[0]!], [clip.outputs[0]!], {}, clip.name);
  }

  // Working copies in float64, written back once at the end.
  const layers = new Map<string, { layer: LinearLayer; w: Float64Array; b?: Float64Array }>();
  const state = (name: string) => {
    let s = layers.get(name);
    if (!s) {
      const node = graph.nodes.find((n) => n.name === name)!;
      const layer = linearLayer(node, graph);
      s = { layer, w: Float64Array.from(toFloat32(layer.weight)) };
      if (layer.biasName) s.b = Float64Array.from(toFloat32(graph.initializers.get(layer.biasName)!));
      layers.set(name, s);
    }
    return s;
  };
  const before = new Map<string, Float32Array>();
  for (const p of pairs) {
    for (const n of [p.first, p.second]) if (!before.has(n)) before.set(n, Float32Array.from(state(n).w));
  }

  const scaled = new Map<EqualizationPair, number>();
  const cumulative = new Map<EqualizationPair, Float64Array>();
  let sweeps = 0;
  let converged = pairs.length === 0;
  while (!converged && sweeps < maxSweeps) {
    sweeps++;
    let largestMove = 0;
    for (const p of pairs) {
      const a = state(p.first);
      const b = state(p.second);
      const r1 = channelMax(a.w, a.layer.outIndex, a.layer.outChannels);
      const r2 = channelMax(b.w, b.layer.inIndex, b.layer.inChannels);
      const s = new Float64Array(r1.length).fill(1);
      let count = 0;
      for (let i = 0; i < s.length; i++) {
        // A dead channel (all-zero weights on either side) has no range to balance.
        if (r1[i]! > 0 && r2[i]! > 0) {
          s[i] = Math.sqrt(r1[i]! / r2[i]!);
          count++;
          largestMove = Math.max(largestMove, Math.abs(s[i]! - 1));
        }
      }
      scaled.set(p, count);
      let total = cumulative.get(p);
      if (!total) cumulative.set(p, (total = new Float64Array(s.length).fill(1)));
      for (let i = 0; i < s.length; i++) total[i]! *= s[i]!;
      for (let k = 0; k < a.w.length; k++) a.w[k]! /= s[a.layer.outIndex[k]!]!;
      if (a.b) for (let i = 0; i < a.b.length; i++) a.b[i]! /= s[i]!;
      for (let k = 0; k < b.w.length; k++) b.w[k]! *= s[b.layer.inIndex[k]!]!;
    }
    converged = largestMove <= tolerance;
  }

  const layerReports: LayerEqualization[] = [];
  for (const [name, s] of layers) {
    const w = Float32Array.from(s.w);
    graph.initializers.set(s.layer.weightName, { dtype: "float32", dims: [...s.layer.weight.dims], data: w });
    if (s.b && s.layer.biasName) {
      const old = graph.initializers.get(s.layer.biasName)!;
      graph.initializers.set(s.layer.biasName, { dtype: "float32", dims: [...old.dims], data: Float32Array.from(s.b) });
    }
    const w0 = before.get(name)!;
    layerReports.push({
      node: name,
      channelRangeSpreadBefore: spread(channelMax(w0, s.layer.outIndex, s.layer.outChannels)),
      channelRangeSpreadAfter: spread(channelMax(w, s.layer.outIndex, s.layer.outChannels)),
      perTensorInt8SqnrBefore: perTensorInt8Sqnr(w0),
      perTensorInt8SqnrAfter: perTensorInt8Sqnr(w),
      worstChannelInt8SqnrBefore: worstChannelInt8Sqnr(w0, s.layer.outIndex, s.layer.outChannels),
      worstChannelInt8SqnrAfter: worstChannelInt8Sqnr(w, s.layer.outIndex, s.layer.outChannels),
    });
  }
  return {
    model: out,
    report: {
      pairs: pairs.map((p) => ({
        ...p,
        channelsScaled: scaled.get(p) ?? 0,
        channelsLeft: state(p.first).layer.outChannels - (scaled.get(p) ?? 0),
        scales: Array.from(cumulative.get(p) ?? new Float64Array(state(p.first).layer.outChannels).fill(1)),
      })),
      skipped: found.skipped,
      clipsReplaced,
      layers: layerReports,
      sweeps,
      converged,
    },
  };
}

function channelMax(w: ArrayLike<number>, index: Int32Array, channels: number): Float64Array {
  const r = new Float64Array(channels);
  for (let k = 0; k < w.length; k++) {
    const a = Math.abs(w[k]!);
    const c = index[k]!;
    if (a > r[c]!) r[c] = a;
  }
  return r;
}

function spread(ranges: Float64Array): number {
  let lo = Infinity, hi = 0;
  for (const r of ranges) {
    if (r > 0) {
      lo = Math.min(lo, r);
      hi = Math.max(hi, r);
    }
  }
  return hi > 0 ? hi / lo : 1;
}

function perTensorInt8(w: Float32Array): Float32Array {
  const { min, max } = tensorRange(w);
  return fakeQuantize(w, qparamsFromRange(min, max, { dtype: "int8", symmetric: true, narrow: true }));
}

/** SQNR (dB) of a weight tensor quantized per tensor, symmetric int8 narrow. */
export function perTensorInt8Sqnr(w: Float32Array): number {
  const q = perTensorInt8(w);
  let signal = 0, noise = 0;
  for (let i = 0; i < w.length; i++) {
    signal += w[i]! ** 2;
    noise += (w[i]! - q[i]!) ** 2;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

/** The lowest per-output-channel SQNR (dB) of the per-tensor symmetric int8 quantization; all-zero channels ignored. */
export function worstChannelInt8Sqnr(w: Float32Array, outIndex: Int32Array, channels: number): number {
  const q = perTensorInt8(w);
  const signal = new Float64Array(channels);
  const noise = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = outIndex[i]!;
    signal[c]! += w[i]! ** 2;
    noise[c]! += (w[i]! - q[i]!) ** 2;
  }
  let worst = Infinity;
  for (let c = 0; c < channels; c++) {
    if (signal[c]! > 0) worst = Math.min(worst, noise[c] === 0 ? Infinity : 10 * Math.log10(signal[c]! / noise[c]!));
  }
  return worst;
}
