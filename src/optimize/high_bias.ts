/**
 * High-bias absorption (Nagel, van Baalen, Blankevoort, Welling 2019, "Data-Free Quantization
 * Through Weight Equalization and Bias Correction", §4.1.2), an optional step after cross-layer
 * equalization.
 *
 * Equalization divides A's output channel i (bias included) by s_i; where s_i < 1 a bias that was
 * harmless becomes large, and the channel's values sit far from zero: the quantized tensor between
 * A and B must span [0, b + spread] where [b − spread, b + spread] would carry the information.
 * For A → f → B with f acting per channel, if every value of A's output channel i is ≥ c_i ≥ 0,
 * then for the ops f that octet allows (Relu and friends, max/global pools, identities):
 *
 *   f(a_i − c_i) = f(a_i) − c_i,
 *
 * so c_i can leave A's bias and enter B's:
 *
 *   b_A[i] ← b_A[i] − c_i,    b_B[m] ← b_B[m] + Σ_{taps} W_B[m, i, taps] · c_i.
 *
 * Choice of c. The paper takes c_i = max(0, β_i − 3γ_i) from BatchNorm statistics (3σ below the
 * mean: "most" values are above it, so the result is only approximately equal). octet folded BN
 * during preparation, but it has calibration data: c_i = max(0, min over the calibration data of
 * a_i), the empirical per-channel minimum of A's output. Then f(a_i − c_i) = f(a_i) − c_i holds
 * for every calibration input, exactly (up to float rounding); for an input that drives a_i below
 * the measured minimum the shifted Relu clips at c_i instead of 0, an error of at most the amount
 * by which the minimum is undershot.
 *
 * Why each allowed op keeps the identity, given a ≥ c ≥ 0 (so a − c ≥ 0 and a ≥ 0):
 *   Relu, Clip(0, ∞), LeakyRelu, PRelu: both sides lie on the identity branch.
 *   MaxPool, GlobalMaxPool, GlobalAveragePool, Identity, Dropout, Flatten/Squeeze after a global
 *   pool: translation-equivariant per channel (MaxPool pads with −∞, never with a value).
 *   AveragePool: only without counted padding (count_include_pad = 0, or no pads and no ceil
 *   mode): a padded zero in the divisor would be shifted by 0 while the others shift by c.
 *   Clip(0, b) with b finite is refused: Clip(a − c, 0, b) = Clip(a, 0, b) − c needs the bound b − c,
 *   per channel, which ONNX Clip cannot express. Pairs through a Relu6 qualify only after CLE's
 *   clip policy turned it into a Relu.
 * Every value ≥ c stays ≥ c through these ops, so the identity holds along the whole chain.
 *
 * Where B is a Conv with padding the identity breaks at the border: B reads zeros in its padding
 * where, after the shift, it would need −c_i for the sum Σ W·(y − c) + Σ W·c to cancel. At an
 * output position whose window has taps T_pad in the padding, the absorbed model's output differs
 * by Σ_{taps ∈ T_pad} W_B[m, i, tap]·c_i. The paper ignores this; octet skips such pairs by default
 * (`paddedConsumers: "skip"`) and does the paper's version only when asked ("approximate"),
 * reporting the pair as inexact with a bound on that border error. Exact consumers: Gemm, 1×1
 * convs and any conv whose pads are all zero. MatMul consumers (no bias input) and MatMul
 * producers (no bias to take from) are skipped.
 */
import type { Feeds } from "../calibrate/executor.js";
import { cloneModel, consumers, intAttr, intsAttr, stringAttr, uniqueName, type Graph, type Model, type Node } from "../graph/ir.js";
import { toFloat32, type Tensor } from "../tensor/tensor.js";
import { captureTensors, type CreateExecutor } from "./capture.js";
import type { EqualizationReport } from "./cle.js";
import { findEqualizationPairs, type ClipPolicy, type SkippedPair } from "./cle_pairs.js";
import { linearLayer } from "./linear_layer.js";

export type PaddedConsumerPolicy = "skip" | "approximate";

export interface HighBiasOptions {
  /**
   * Per-channel minimum (channel axis 1) of each pair's first-layer output over the calibration
   * data, by tensor name. c_i = max(0, minimum_i): negative minima move nothing.
   */
  channelMinima: Map<string, Float32Array>;
  /**
   * Optional per-channel maxima (same layout), for the report's activation ranges; minima and
   * maxima of the second layers' inputs (the tensor the quantizer sees) are reported too when given.
   */
  channelMaxima?: Map<string, Float32Array>;
  /** Pairs whose second layer is a padded Conv: "skip" (default, exact) or "approximate" (the paper's version). */
  paddedConsumers?: PaddedConsumerPolicy;
  /** Only the pairs with these first layers (node names); default every absorbable pair. */
  only?: string[];
}

export interface ChannelShift {
  channel: number;
  /** c_i, moved from the first layer's bias into the second's. */
  shift: number;
}

export interface ValueRange {
  min: number;
  max: number;
}

export interface RangeChange {
  tensor: string;
  before: ValueRange;
  after: ValueRange;
}

export interface PairAbsorption {
  first: string;
  second: string;
  /** Op types between the two layers. */
  through: string[];
  /** The first layer's output: its minima decide the shifts. */
  preActivation: string;
  /** The second layer's data input: the tensor quantized between the layers. */
  consumerInput: string;
  channels: number;
  /** The channels with c_i > 0, in channel order. */
  shifts: ChannelShift[];
  maxShift: number;
  /** Per-tensor range of the first layer's output before/after (needs its maxima). */
  preActivationRange?: RangeChange;
  /** Per-tensor range of the second layer's input before/after (needs its minima and maxima). */
  consumerInputRange?: RangeChange;
  /** False only for a padded Conv consumer under paddedConsumers "approximate". */
  exact: boolean;
  /** For an inexact pair: max over the second layer's outputs of Σ_taps |W_B|·c, a bound on the border error. */
  borderErrorBound?: number;
  /** Bias initializers created because a layer had none. */
  biasesAdded: string[];
}

export interface HighBiasReport {
  pairs: PairAbsorption[];
  /** Layer outputs that do not qualify, and why. */
  skipped: SkippedPair[];
  /** Total channels moved over all pairs. */
  channelsMoved: number;
}

export interface HighBiasResult {
  model: Model;
  report: HighBiasReport;
}

export interface ChannelExtremes {
  channelMinima: Map<string, Float32Array>;
  channelMaxima: Map<string, Float32Array>;
}

interface Candidate {
  first: Node;
  second: Node;
  chain: Node[];
  /** Set when the second layer pads its input (and why). */
  padded?: string;
}

/** Pairs A → f → B the absorption can use, and why other layer outputs cannot. */
function absorptionCandidates(model: Model, clip: ClipPolicy): { candidates: Candidate[]; skipped: SkippedPair[] } {
  const graph = model.graph;
  const found = findEqualizationPairs(model, { clip });
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const readers = consumers(graph);
  const candidates: Candidate[] = [];
  const skipped = [...found.skipped];
  for (const p of found.pairs) {
    const first = byName.get(p.first)!;
    const second = byName.get(p.second)!;
    const skip = (reason: string) => skipped.push({ first: p.first, second: p.second, reason });
    if (first.opType === "MatMul") {
      skip(`${first.name} is a MatMul: it has no bias to take the shift from`);
      continue;
    }
    if (second.opType === "MatMul") {
      skip(`${second.name} is a MatMul: it has no bias to put the shift into`);
      continue;
    }
    const chain: Node[] = [];
    for (let value = first.outputs[0]!; ; ) {
      const next = readers.get(value)![0]!;
      if (next === second) break;
      chain.push(next);
      value = next.outputs[0]!;
    }
    const pool = chain.map(averagePoolProblem).find((r) => r !== undefined);
    if (pool) {
      skip(pool);
      continue;
    }
    const padded = second.opType === "Conv" ? convPadding(second, graph) : undefined;
    candidates.push({ first, second, chain, ...(padded ? { padded } : {}) });
  }
  return { candidates, skipped };
}

/** Why an AveragePool breaks avg(x − c) = avg(x) − c (counted padding), or undefined. */
function averagePoolProblem(node: Node): string | undefined {
  if (node.opType !== "AveragePool") return undefined;
  if (intAttr(node, "count_include_pad", 0) === 0) return undefined;
  const autoPad = stringAttr(node, "auto_pad", "NOTSET");
  const padded = (autoPad !== "NOTSET" && autoPad !== "VALID") || intsAttr(node, "pads", []).some((p) => p !== 0) || intAttr(node, "ceil_mode", 0) !== 0;
  return padded ? `${node.name} (AveragePool) counts padding in its divisor: the padded zeros would not shift with the channel` : undefined;
}

/** How a Conv pads its input ("pads 1,1,1,1", "auto_pad SAME_UPPER"), or undefined when it reads no padding. */
function convPadding(node: Node, graph: Graph): string | undefined {
  const kernel = graph.initializers.get(node.inputs[1]!)!.dims.slice(2);
  const autoPad = stringAttr(node, "auto_pad", "NOTSET");
  // SAME padding of a 1-wide kernel is 0 whatever the stride: (⌈n/s⌉ − 1)·s + 1 − n ≤ 0.
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") return kernel.every((k) => k === 1) ? undefined : `auto_pad ${autoPad}`;
  if (autoPad === "VALID") return undefined;
  const pads = intsAttr(node, "pads", []);
  return pads.some((p) => p !== 0) ? `pads ${pads.join(",")}` : undefined;
}

/**
 * The tensors whose per-channel extremes `absorbHighBias` needs (the first layer's output) or
 * reports (the second layer's input), for every absorbable pair. `clip: "relu"` lists those of the
 * pairs that would qualify once every bounded Clip became Relu, i.e. what to measure before a CLE
 * whose clip policy may replace some.
 */
export function highBiasTensors(model: Model, options: { clip?: ClipPolicy } = {}): string[] {
  const { candidates } = absorptionCandidates(model, options.clip ?? "skip");
  return [...new Set(candidates.flatMap((c) => [c.first.outputs[0]!, c.second.inputs[0]!]))];
}

export function absorbHighBias(model: Model, options: HighBiasOptions): HighBiasResult {
  if (!options || !(options.channelMinima instanceof Map)) throw new Error("absorbHighBias needs options.channelMinima: a Map from tensor name to per-channel minima (see measureChannelExtremes)");
  const policy = options.paddedConsumers ?? "skip";
  if (policy !== "skip" && policy !== "approximate") throw new Error(`paddedConsumers must be "skip" or "approximate", got ${JSON.stringify(policy)}`);
  const maxima = options.channelMaxima;
  if (maxima !== undefined && !(maxima instanceof Map)) throw new Error("channelMaxima must be a Map from tensor name to per-channel maxima");
  const known = usedValues(model.graph);
  for (const [label, map] of [["channelMinima", options.channelMinima], ["channelMaxima", maxima]] as const) {
    for (const name of map?.keys() ?? []) if (!known.has(name)) throw new Error(`${label} names tensor "${name}", which the model does not have`);
  }

  const out = cloneModel(model);
  const graph = out.graph;
  const { candidates: all, skipped } = absorptionCandidates(out, "skip");
  let candidates = all;
  if (options.only) {
    const firsts = new Set(all.map((c) => c.first.name));
    for (const name of options.only) if (!firsts.has(name)) throw new Error(`high-bias absorption: ${name} is not the first layer of an absorbable pair`);
    const only = new Set(options.only);
    candidates = all.filter((c) => only.has(c.first.name));
  }

  // Biases in float64, written back once: a layer can be B of one pair and A of the next.
  const biases = new Map<Node, Float64Array>();
  const biasOf = (node: Node, channels: number) => {
    let b = biases.get(node);
    if (!b) {
      const name = node.inputs[2];
      b = name ? Float64Array.from(toFloat32(graph.initializers.get(name)!)) : new Float64Array(channels);
      biases.set(node, b);
    }
    return b;
  };

  const pairs: PairAbsorption[] = [];
  for (const c of candidates) {
    if (c.padded && policy === "skip") {
      skipped.push({ first: c.first.name, second: c.second.name, reason: `${c.second.name} pads its input (${c.padded}): the padded zeros would not shift with the channel (paddedConsumers "skip")` });
      continue;
    }
    const a = linearLayer(c.first, graph);
    const b = linearLayer(c.second, graph);
    const preActivation = c.first.outputs[0]!;
    const consumerInput = c.second.inputs[0]!;
    const minima = channelValues(options.channelMinima, "channelMinima", preActivation, a.outChannels, c.first.name);
    const shift = new Float64Array(a.outChannels);
    const shifts: ChannelShift[] = [];
    for (let i = 0; i < shift.length; i++) {
      shift[i] = Math.max(0, minima[i]!);
      if (shift[i]! > 0) shifts.push({ channel: i, shift: shift[i]! });
    }
    const pair: PairAbsorption = {
      first: c.first.name, second: c.second.name, through: c.chain.map((n) => n.opType),
      preActivation, consumerInput, channels: a.outChannels, shifts,
      maxShift: shifts.reduce((m, s) => Math.max(m, s.shift), 0),
      exact: !c.padded, biasesAdded: [],
    };
    const aMax = maxima?.has(preActivation) ? channelValues(maxima, "channelMaxima", preActivation, a.outChannels, c.first.name) : undefined;
    if (aMax) pair.preActivationRange = rangeChange(preActivation, minima, aMax, shift);
    const bMin = options.channelMinima.has(consumerInput) ? channelValues(options.channelMinima, "channelMinima", consumerInput, a.outChannels, c.second.name) : undefined;
    const bMax = maxima?.has(consumerInput) ? channelValues(maxima, "channelMaxima", consumerInput, a.outChannels, c.second.name) : undefined;
    if (bMin && bMax) pair.consumerInputRange = rangeChange(consumerInput, bMin, bMax, shift);

    if (shifts.length) {
      const bA = biasOf(c.first, a.outChannels);
      for (let i = 0; i < shift.length; i++) bA[i]! -= shift[i]!;
      const bB = biasOf(c.second, b.outChannels);
      const wB = toFloat32(b.weight);
      const moved = new Float64Array(b.outChannels);
      const bound = new Float64Array(b.outChannels);
      for (let k = 0; k < wB.length; k++) {
        const ci = shift[b.inIndex[k]!]!;
        moved[b.outIndex[k]!]! += wB[k]! * ci;
        bound[b.outIndex[k]!]! += Math.abs(wB[k]!) * ci;
      }
      for (let m = 0; m < bB.length; m++) bB[m]! += moved[m]!;
      if (c.padded) pair.borderErrorBound = Math.max(...bound);
    } else {
      pair.exact = true;
    }
    pairs.push(pair);
  }

  for (const [node, b] of biases) {
    let name = node.inputs[2];
    if (!name) {
      name = uniqueName(graph, `${node.name}_bias`);
      while (node.inputs.length < 2) node.inputs.push("");
      node.inputs[2] = name;
      for (const p of pairs) if (p.first === node.name || p.second === node.name) p.biasesAdded.push(name);
      graph.initializers.set(name, { dtype: "float32", dims: [b.length], data: Float32Array.from(b) });
    } else {
      const old = graph.initializers.get(name)!;
      graph.initializers.set(name, { dtype: "float32", dims: [...old.dims], data: Float32Array.from(b) });
    }
  }
  return { model: out, report: { pairs, skipped, channelsMoved: pairs.reduce((n, p) => n + p.shifts.length, 0) } };
}

function usedValues(graph: Graph): Set<string> {
  const s = new Set<string>(graph.inputs.map((i) => i.name));
  for (const n of graph.nodes) for (const v of [...n.inputs, ...n.outputs]) if (v) s.add(v);
  return s;
}

function channelValues(map: Map<string, Float32Array>, label: string, tensor: string, channels: number, node: string): Float32Array {
  const v = map.get(tensor);
  if (!v) throw new Error(`${label} has no entry for ${tensor} (the output of ${node}); measure it with measureChannelExtremes(model, highBiasTensors(model), data, createExecutor)`);
  if (!(v instanceof Float32Array)) throw new Error(`${label} of ${tensor} must be a Float32Array`);
  if (v.length !== channels) throw new Error(`${label} of ${tensor} has ${v.length} values for ${channels} channels`);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${label} of ${tensor} is ${v[bad]} at channel ${bad} (expected a finite number measured on data)`);
  return v;
}

function rangeChange(tensor: string, min: Float32Array, max: Float32Array, shift: Float64Array): RangeChange {
  const before = { min: Infinity, max: -Infinity };
  const after = { min: Infinity, max: -Infinity };
  for (let i = 0; i < min.length; i++) {
    if (max[i]! < min[i]!) throw new Error(`channel ${i} of ${tensor}: maximum ${max[i]} is below minimum ${min[i]}`);
    before.min = Math.min(before.min, min[i]!);
    before.max = Math.max(before.max, max[i]!);
    after.min = Math.min(after.min, min[i]! - shift[i]!);
    after.max = Math.max(after.max, max[i]! - shift[i]!);
  }
  return { tensor, before, after };
}

/** Folds one batch of an [N, C, ...] tensor into running per-channel minima and maxima (channel axis 1). */
export function accumulateChannelExtremes(extremes: ChannelExtremes, name: string, t: Tensor): void {
  if (t.dims.length < 2) throw new Error(`tensor ${name} has rank ${t.dims.length}; per-channel extremes need a channel axis 1`);
  const data = toFloat32(t);
  const channels = t.dims[1]!;
  const inner = t.dims.slice(2).reduce((a, d) => a * d, 1);
  let min = extremes.channelMinima.get(name);
  let max = extremes.channelMaxima.get(name);
  if (!min || !max) {
    extremes.channelMinima.set(name, (min = new Float32Array(channels).fill(Infinity)));
    extremes.channelMaxima.set(name, (max = new Float32Array(channels).fill(-Infinity)));
  }
  if (min.length !== channels) throw new Error(`tensor ${name} has ${channels} channels in one batch and ${min.length} in another`);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isNaN(v)) throw new Error(`tensor ${name} contains NaN`);
    const c = Math.floor(i / inner) % channels;
    if (v < min[c]!) min[c] = v;
    if (v > max[c]!) max[c] = v;
  }
}

/** Per-channel minima and maxima (axis 1) of the named tensors over the data, one pass through the executor. */
export async function measureChannelExtremes(model: Model, names: Iterable<string>, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor): Promise<ChannelExtremes> {
  const extremes: ChannelExtremes = { channelMinima: new Map(), channelMaxima: new Map() };
  const wanted = [...names];
  if (!wanted.length) return extremes;
  await captureTensors(model, wanted, data, createExecutor, (tensors) => {
    for (const [name, t] of tensors) accumulateChannelExtremes(extremes, name, t);
  });
  return extremes;
}

/**
 * Extremes measured on the model before equalization, carried to the equalized model: every value
 * between a pair's layers was divided per channel by the pair's scale (s > 0, so minima stay minima).
 * `model` is either model (the node and value names are the same). Exact up to float rounding of
 * the equalized weights.
 */
export function extremesAfterEqualization(extremes: ChannelExtremes, model: Model, report: EqualizationReport): ChannelExtremes {
  const out: ChannelExtremes = { channelMinima: new Map(extremes.channelMinima), channelMaxima: new Map(extremes.channelMaxima) };
  const readers = consumers(model.graph);
  const byName = new Map(model.graph.nodes.map((n) => [n.name, n]));
  for (const p of report.pairs) {
    const first = byName.get(p.first);
    if (!first) throw new Error(`equalization report names ${p.first}, which the model does not have`);
    // The values from A's output up to B's input, following the sole readers the pair search required.
    const values: string[] = [];
    for (let value = first.outputs[0]!; ; ) {
      values.push(value);
      const next = readers.get(value)?.[0];
      if (!next || next.name === p.second) break;
      value = next.outputs[0]!;
    }
    for (const value of values) {
      for (const map of [out.channelMinima, out.channelMaxima]) {
        const v = map.get(value);
        if (!v) continue;
        if (v.length !== p.scales.length) throw new Error(`${value} has ${v.length} channels but the equalization of ${p.first} scaled ${p.scales.length}`);
        map.set(value, Float32Array.from(v, (x, i) => x / p.scales[i]!));
      }
    }
  }
  return out;
}

/**
 * What the absorption changed, for people: a summary line, then one line per pair (channels moved,
 * by how much, ranges before → after, exactness) and per layer output left alone (why).
 */
export function describeHighBiasAbsorption(report: HighBiasReport): string[] {
  const n = (v: number) => Number(v.toPrecision(4)).toString();
  const count = (k: number, word: string) => `${k} ${word}${k === 1 ? "" : "s"}`;
  const range = (r: RangeChange) => `${r.tensor} [${n(r.before.min)}, ${n(r.before.max)}] → [${n(r.after.min)}, ${n(r.after.max)}]`;
  const lines = report.pairs.map((p) => {
    const moved = p.shifts.length
      ? `${p.shifts.length}/${p.channels} channels moved (${p.shifts.map((s) => `ch ${s.channel}: ${n(s.shift)}`).join(", ")})`
      : `0/${p.channels} channels moved (no channel's minimum is above 0)`;
    const ranges = [p.preActivationRange, p.consumerInputRange].filter((r): r is RangeChange => r !== undefined).map(range);
    const exactness = p.exact ? "" : `; INEXACT at ${p.second}'s padded border (error ≤ ${n(p.borderErrorBound ?? 0)})`;
    return `${p.first} → ${p.second}: ${moved}${ranges.length ? `; range ${ranges.join(", ")}` : ""}${exactness}`;
  });
  lines.unshift(`${count(report.channelsMoved, "channel")} moved in ${count(report.pairs.length, "pair")}`);
  for (const s of report.skipped) lines.push(`${s.first}${s.second ? ` → ${s.second}` : ""}: not absorbed (${s.reason})`);
  return lines;
}
