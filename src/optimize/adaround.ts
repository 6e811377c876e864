/**
 * AdaRound over a model: for each planned Conv/Gemm/MatMul weight, gather that layer's input rows
 * from calibration data (one layer at a time, a uniform sample of at most `maxRows` rows kept by
 * reservoir sampling, so memory is maxRows × row width whatever the data size), build the Gram
 * matrices, and choose the rounding (adaround_core.ts). The scale and zero point stay those the
 * exporter picks (round-to-nearest's), so only the integer values change; the result plugs into
 * the QDQ model with applyWeightOverrides (weight_overrides.ts) and into bias correction
 * (BiasCorrectionOptions.weights).
 *
 * The layer inputs are the float model's (the paper's basic formulation, ‖W x − W̃ x‖²); errors of
 * earlier quantized layers are not fed forward.
 */
import type { Feeds } from "../calibrate/executor.js";
import { Mulberry32 } from "../data/prng.js";
import type { Model } from "../graph/ir.js";
import type { QuantPlan, WeightPlan } from "../plan/plan.js";
import { dequantize, type QuantizedArray } from "../quant/quantize.js";
import { arrayTypeOf, toFloat32, type DType, type Tensor } from "../tensor/tensor.js";
import { adaroundLayer, checkHyperparameters, DEFAULT_ADAROUND, type AdaRoundHyperparameters, type WeightMatrix } from "./adaround_core.js";
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
    const { grams, rows } = await layerGrams(model, layer, data, options.createExecutor, maxRows, random);
    const matrix = weightMatrix(layer);
    const outcome = adaroundLayer({ weight: toFloat32(layer.weight), matrix, qparams: nearest.qparams, grams }, hyper);
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

/** Per group, mean x xᵀ over a uniform sample of at most maxRows input rows of the layer. */
export async function layerGrams(
  model: Model, layer: LinearLayer, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor, maxRows: number, random: Mulberry32,
): Promise<{ grams: Float64Array[]; rows: number }> {
  let reservoir: Float32Array | undefined;
  let width = 0;
  let seen = 0;
  const input = layer.node.inputs[0]!;
  await captureTensors(model, [input], data, createExecutor, (tensors) => {
    const t = tensors.get(input);
    const x = layerInputValues(t, layer);
    const g = rowGeometry(layer, t!.dims);
    if (!reservoir) {
      width = g.width;
      reservoir = new Float32Array(maxRows * width);
    } else if (g.width !== width) {
      throw new Error(`${layer.node.name}: input rows changed width from ${width} to ${g.width} between batches`);
    }
    // Reservoir sampling (Vitter's algorithm R): every row seen so far is kept with equal probability.
    for (let r = 0; r < g.rows; r++, seen++) {
      const slot = seen < maxRows ? seen : random.integer(0, seen);
      if (slot < maxRows) readRow(x, g, r, reservoir.subarray(slot * width, (slot + 1) * width));
    }
  });
  const rows = Math.min(seen, maxRows);
  const groups = layer.group;
  const k = width / groups;
  const grams: Float64Array[] = [];
  for (let gi = 0; gi < groups; gi++) {
    const G = new Float64Array(k * k);
    const off = gi * k;
    for (let r = 0; r < rows; r++) {
      const base = r * width + off;
      for (let a = 0; a < k; a++) {
        const xa = reservoir![base + a]!;
        if (xa === 0) continue; // zeros (Relu outputs, padding) are common: skip their row of products
        const ga = a * k;
        for (let b = a; b < k; b++) G[ga + b]! += xa * reservoir![base + b]!;
      }
    }
    for (let a = 0; a < k; a++) {
      for (let b = a; b < k; b++) {
        const v = G[a * k + b]! / rows;
        G[a * k + b] = v;
        G[b * k + a] = v;
      }
    }
    grams.push(G);
  }
  return { grams, rows };
}

function integerTensor(like: Tensor, values: Int32Array): Tensor {
  const Ctor = arrayTypeOf(like.dtype as DType) as unknown as { from(v: ArrayLike<number>): Tensor["data"] };
  return { dtype: like.dtype, dims: [...like.dims], data: Ctor.from(values) };
}
