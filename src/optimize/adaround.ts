/**
 * AdaRound over a model: for each planned Conv/Gemm/MatMul weight, gather that layer's input rows
 * from calibration data (one layer at a time, a uniform sample of at most `maxRows` rows kept by
 * reservoir sampling, so memory is maxRows × row width whatever the data size), build the Gram
 * matrices, and choose the rounding (adaround_core.ts). The scale and zero point stay those the
 * exporter picks (round-to-nearest's), so only the integer values change; the result plugs into
 * the QDQ model with applyWeightOverrides (weight_overrides.ts) and into bias correction
 * (BiasCorrectionOptions.weights).
 *
 * By default the layer inputs are the float model's (the paper's basic formulation,
 * ‖W x − W̃ x‖²). With `quantizedModel`, layers are fitted in order, each from the input it gets in
 * the quantized model with the earlier layers' chosen weights (‖W x − W̃ x̂‖², the paper's
 * asymmetric reconstruction), which also absorbs the activation quantization of that input.
 */
import type { Feeds } from "../calibrate/executor.js";
import { Mulberry32 } from "../data/prng.js";
import type { Model } from "../graph/ir.js";
import type { QuantPlan, WeightPlan } from "../plan/plan.js";
import { dequantize, type QuantizedArray } from "../quant/quantize.js";
import { arrayTypeOf, toFloat32, type DType, type Tensor } from "../tensor/tensor.js";
import { adaroundLayer, checkHyperparameters, DEFAULT_ADAROUND, type AdaRoundHyperparameters, type WeightMatrix } from "./adaround_core.js";
import { withExtraOutputs } from "../calibrate/expose.js";
import { captureTensors, type CreateExecutor } from "./capture.js";
import { layerInputValues, readRow, rowGeometry } from "./layer_rows.js";
import { linearLayer, linearLayerProblem, type LinearLayer } from "./linear_layer.js";
import { quantizePlannedWeight, type QuantizedWeight } from "./planned_weights.js";

export interface AdaRoundOptions extends Partial<AdaRoundHyperparameters> {
  createExecutor: CreateExecutor;
  /** Input rows kept per layer (default 4096). */
  maxRows?: number;
  /** Seed of the row sampling (default 0). */
  seed?: number;
  /** Only these nodes (default: every planned Conv/Gemm/MatMul weight). */
  nodes?: string[];
  /** Called after each layer. */
  onLayer?: (layer: LayerAdaRound, index: number, total: number) => void;
  /**
   * Asymmetric reconstruction: the quantized model with the weights chosen so far (round-to-
   * nearest for the rest). Each layer is then fitted to the float output from the input it really
   * gets in that model (read at its node's data input, which keeps its name in a QDQ export), so
   * earlier layers' errors and its own input quantization are compensated. Without it, the float
   * model's input is used (the paper's basic form).
   */
  quantizedModel?: (chosen: Map<string, QuantizedWeight>) => Model | Promise<Model>;
}

export interface LayerAdaRound {
  node: string;
  weight: string;
  dtype: string;
  rows: number;
  /** Weights per output channel (the Gram matrices' size). */
  columns: number;
  groups: number;
  weights: number;
  iterations: number;
  /** Mean squared output error per row (summed over channels) with nearest rounding, and with AdaRound's, on the sampled rows. */
  lossNearest: number;
  lossAdaRound: number;
  /** Weights rounded the other way than nearest. */
  changed: number;
  undecided: number;
  seconds: number;
}

export interface AdaRoundReport {
  layers: LayerAdaRound[];
  skipped: { node: string; reason: string }[];
}

export interface AdaRoundResult {
  /** The chosen integer weights with the exporter's params, by weight name. */
  weights: Map<string, QuantizedWeight>;
  report: AdaRoundReport;
}

export async function adaround(model: Model, plan: QuantPlan, data: AsyncIterable<Feeds>, options: AdaRoundOptions): Promise<AdaRoundResult> {
  if (!options || typeof options.createExecutor !== "function") throw new Error("adaround needs options.createExecutor");
  const hyper: AdaRoundHyperparameters = {
    iterations: options.iterations ?? DEFAULT_ADAROUND.iterations,
    lambda: options.lambda ?? DEFAULT_ADAROUND.lambda,
    betaStart: options.betaStart ?? DEFAULT_ADAROUND.betaStart,
    betaEnd: options.betaEnd ?? DEFAULT_ADAROUND.betaEnd,
    warmup: options.warmup ?? DEFAULT_ADAROUND.warmup,
    learningRate: options.learningRate ?? DEFAULT_ADAROUND.learningRate,
  };
  checkHyperparameters(hyper);
  const maxRows = options.maxRows ?? 4096;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new Error(`AdaRound maxRows must be a positive integer, got ${maxRows}`);
  const graph = model.graph;
  const nodesByName = new Map(graph.nodes.map((n) => [n.name, n]));
  const wanted = options.nodes ? new Set(options.nodes) : undefined;
  if (wanted) {
    for (const name of wanted) {
      if (!nodesByName.has(name)) throw new Error(`AdaRound: no node named ${name}`);
      if (![...plan.weights.values()].some((w) => w.node === name)) throw new Error(`AdaRound: node ${name} has no quantized weight in the plan`);
    }
  }
  const skipped: AdaRoundReport["skipped"] = [];
  const todo: { layer: LinearLayer; weightPlan: WeightPlan }[] = [];
  for (const w of plan.weights.values()) {
    if (wanted && !wanted.has(w.node)) continue;
    const node = nodesByName.get(w.node);
    if (!node) throw new Error(`plan refers to node ${w.node}, which the model does not have`);
    const problem = linearLayerProblem(node, graph) ?? (node.inputs[1] !== w.name ? `its weight input is not ${w.name}` : undefined);
    if (problem) skipped.push({ node: node.name, reason: problem });
    else todo.push({ layer: linearLayer(node, graph), weightPlan: w });
  }

  const weights = new Map<string, QuantizedWeight>();
  const layers: LayerAdaRound[] = [];
  const random = new Mulberry32(options.seed ?? 0);
  for (const [index, { layer, weightPlan }] of todo.entries()) {
    const start = performance.now();
    const nearest = quantizePlannedWeight(graph, weightPlan);
    let quantized: QuantizedInput | undefined;
    if (options.quantizedModel) {
      const twin = await options.quantizedModel(weights);
      const node = twin.graph.nodes.find((n) => n.name === layer.node.name);
      if (!node) throw new Error(`AdaRound: the quantized model has no node ${layer.node.name}`);
      quantized = { model: twin, input: node.inputs[0]! };
    }
    const stats = await layerGrams(model, layer, data, options.createExecutor, maxRows, random, quantized);
    const rows = stats.rows;
    const matrix = weightMatrix(layer);
    const outcome = adaroundLayer({
      weight: toFloat32(layer.weight), matrix, qparams: nearest.qparams, grams: stats.grams,
      ...(stats.cross ? { cross: stats.cross, floatGrams: stats.floatGrams! } : {}),
    }, hyper);
    const q = integerTensor(nearest.q, outcome.q);
    weights.set(layer.weightName, { q, qparams: nearest.qparams, dequantized: dequantize(q.data as QuantizedArray, nearest.qparams, q.dims) });
    const report: LayerAdaRound = {
      node: layer.node.name, weight: layer.weightName, dtype: nearest.qparams.dtype, rows, columns: matrix.columns, groups: matrix.groups,
      weights: outcome.q.length, iterations: hyper.iterations, lossNearest: outcome.lossNearest, lossAdaRound: outcome.lossAdaRound,
      changed: outcome.changed, undecided: outcome.undecided, seconds: (performance.now() - start) / 1000,
    };
    layers.push(report);
    options.onLayer?.(report, index, todo.length);
  }
  return { weights, report: { layers, skipped } };
}

/** The per-group matrix view of a layer's weight (see WeightMatrix). */
export function weightMatrix(layer: LinearLayer): WeightMatrix {
  const dims = layer.weight.dims;
  const taps = layer.opType === "Conv" ? dims.slice(2).reduce((a, d) => a * d, 1) : 1;
  const groups = layer.group;
  const perGroupOut = layer.outChannels / groups;
  const perGroupIn = layer.inChannels / groups;
  const columns = perGroupIn * taps;
  const flat = new Int32Array(layer.outIndex.length);
  for (let i = 0; i < flat.length; i++) {
    const m = layer.outIndex[i]!;
    const g = Math.floor(m / perGroupOut);
    const k = (layer.inIndex[i]! - g * perGroupIn) * taps + (i % taps);
    flat[m * columns + k] = i;
  }
  return { outChannels: layer.outChannels, groups, columns, flat, channelOf: (m) => m };
}

/** A quantized twin of the model and the name of the layer's input in it (asymmetric reconstruction). */
export interface QuantizedInput {
  model: Model;
  input: string;
}

export interface LayerStatistics {
  /** Per group E[x̂ x̂ᵀ] (x̂ = x without a quantized twin). */
  grams: Float64Array[];
  /** With a quantized twin: per group E[x̂ xᵀ] and E[x xᵀ]. */
  cross?: Float64Array[];
  floatGrams?: Float64Array[];
  rows: number;
}

/**
 * Per group, the second moments of a uniform sample of at most maxRows input rows of the layer:
 * E[x xᵀ] of the float model's rows, or, with a quantized twin, E[x̂ x̂ᵀ], E[x̂ xᵀ] and E[x xᵀ]
 * over the same rows of both models (both run on each batch).
 */
export async function layerGrams(
  model: Model, layer: LinearLayer, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor, maxRows: number, random: Mulberry32,
  quantized?: QuantizedInput,
): Promise<LayerStatistics> {
  let floatRows: Float32Array | undefined;
  let quantRows: Float32Array | undefined;
  let width = 0;
  let seen = 0;
  const input = layer.node.inputs[0]!;
  const twin = quantized ? await createExecutor(withExtraOutputs(quantized.model, [quantized.input])) : undefined;
  const quantInputIsGraphInput = quantized?.model.graph.inputs.some((i) => i.name === quantized.input) ?? false;
  try {
    await captureTensors(model, [input], data, createExecutor, async (tensors, feeds) => {
      const t = tensors.get(input);
      const x = layerInputValues(t, layer);
      const g = rowGeometry(layer, t!.dims);
      let xq: Float32Array | undefined;
      if (twin) {
        const tq = quantInputIsGraphInput ? feeds[quantized!.input] : (await twin.run(feeds)).get(quantized!.input);
        xq = layerInputValues(tq, layer);
        if (xq.length !== x.length) throw new Error(`${layer.node.name}: the quantized model's input has ${xq.length} values, the float one ${x.length}`);
      }
      if (!floatRows) {
        width = g.width;
        floatRows = new Float32Array(maxRows * width);
        if (xq) quantRows = new Float32Array(maxRows * width);
      } else if (g.width !== width) {
        throw new Error(`${layer.node.name}: input rows changed width from ${width} to ${g.width} between batches`);
      }
      // Reservoir sampling (Vitter's algorithm R): every row seen so far is kept with equal probability.
      for (let r = 0; r < g.rows; r++, seen++) {
        const slot = seen < maxRows ? seen : random.integer(0, seen);
        if (slot >= maxRows) continue;
        readRow(x, g, r, floatRows.subarray(slot * width, (slot + 1) * width));
        if (xq) readRow(xq, g, r, quantRows!.subarray(slot * width, (slot + 1) * width));
      }
    });
  } finally {
    await twin?.dispose();
  }
  const rows = Math.min(seen, maxRows);
  const groups = layer.group;
  const k = width / groups;
  const moments = (a: Float32Array, b: Float32Array) => {
    const out: Float64Array[] = [];
    for (let gi = 0; gi < groups; gi++) out.push(secondMoment(a, b, rows, width, gi * k, k, a === b));
    return out;
  };
  if (!quantRows) return { grams: moments(floatRows!, floatRows!), rows };
  return { grams: moments(quantRows, quantRows), cross: moments(quantRows, floatRows!), floatGrams: moments(floatRows!, floatRows!), rows };
}

/** M[a, b] = mean over rows of a_row[off + a] · b_row[off + b] (k × k); symmetric when a = b. */
function secondMoment(a: Float32Array, b: Float32Array, rows: number, width: number, off: number, k: number, symmetric: boolean): Float64Array {
  const M = new Float64Array(k * k);
  for (let r = 0; r < rows; r++) {
    const base = r * width + off;
    for (let i = 0; i < k; i++) {
      const ai = a[base + i]!;
      if (ai === 0) continue; // zeros (Relu outputs, padding) are common: skip their row of products
      const mi = i * k;
      for (let j = symmetric ? i : 0; j < k; j++) M[mi + j]! += ai * b[base + j]!;
    }
  }
  for (let i = 0; i < k; i++) {
    for (let j = symmetric ? i : 0; j < k; j++) {
      const v = M[i * k + j]! / rows;
      M[i * k + j] = v;
      if (symmetric) M[j * k + i] = v;
    }
  }
  return M;
}

function integerTensor(like: Tensor, values: Int32Array): Tensor {
  const Ctor = arrayTypeOf(like.dtype as DType) as unknown as { from(v: ArrayLike<number>): Tensor["data"] };
  return { dtype: like.dtype, dims: [...like.dims], data: Ctor.from(values) };
}
