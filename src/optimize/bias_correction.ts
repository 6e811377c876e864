/**
 * Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight
 * Equalization and Bias Correction", §4.2).
 *
 * Quantizing a weight W to W̃ = W + ε shifts the expected output of the layer by
 *
 *   E[ỹ] − E[y] = E[W̃ x] − E[W x] = ε · E[x]           (eq. 13, per output channel),
 *
 * and, since quantization errors are biased per channel (rounding a channel's weights does not
 * cancel out), this shift passes through the following layers as a systematic error. Subtracting
 * it from the bias removes it on average (eq. 14–15). The paper computes E[x] analytically from
 * BatchNorm statistics when no data is available, or "empirically" from a representative dataset;
 * octet does the latter, so it works for any model, including ones whose BatchNorm was folded.
 *
 * For a Conv, the expectation is over samples and output positions of the input *patch*: weight
 * tap (c, ky, kx) sees E over positions of x[c, iy, ix], with 0 where the window hangs in the
 * padding, so the correction is exact at the borders too (a per-channel E[x_c] would not be).
 *
 * When the layer input's activation params are given, the input's own quantization is included:
 * the correction becomes E[W̃ x̃] − E[W x] with x̃ = fake-quantized x, which also removes the mean
 * shift that clipping by a percentile/entropy range causes. Errors accumulated upstream are not
 * modelled (x is the float model's input to the layer).
 */
import type { Feeds } from "../calibrate/executor.js";
import { cloneModel, uniqueName, type Model } from "../graph/ir.js";
import type { QuantPlan } from "../plan/plan.js";
import type { QParams } from "../quant/qparams.js";
import { fakeQuantize } from "../quant/quantize.js";
import { toFloat32 } from "../tensor/tensor.js";
import { captureTensors, type CreateExecutor } from "./capture.js";
import { addRowSums, layerInputValues, rowGeometry } from "./layer_rows.js";
import { linearLayer, linearLayerProblem, type LinearLayer } from "./linear_layer.js";
import { quantizePlannedWeight, type QuantizedWeight } from "./planned_weights.js";

export interface BiasCorrectionOptions {
  createExecutor: CreateExecutor;
  /**
   * The quantized weights to correct for, by weight name (e.g. AdaRound's); every other planned
   * weight is rounded to nearest as the exporter will.
   */
  weights?: Map<string, QuantizedWeight>;
  /** Activation params of the plan: when a layer's input is among them, its quantization is included. */
  activationParams?: Map<string, QParams>;
  /** Only these nodes (default: every quantized Conv/Gemm of the plan). */
  nodes?: string[];
}

export interface LayerBiasCorrection {
  node: string;
  bias: string;
  /** True when the layer had no bias and one was added. */
  added: boolean;
  /** Whether the input's quantization was included in the expectation. */
  inputQuantized: boolean;
  /** The expected output shift removed, per output channel (E[W̃x̃] − E[Wx]). */
  shift: Float32Array;
  maxAbsShift: number;
  /** max |shift| relative to the layer's largest |bias| (after correction), for a sense of scale. */
  relativeToBias: number;
}

export interface BiasCorrectionReport {
  layers: LayerBiasCorrection[];
  skipped: { node: string; reason: string }[];
  samples: number;
}

export interface BiasCorrectionResult {
  /** The float model with corrected (or added) biases; quantize it with `plan`. */
  model: Model;
  /** The plan with every added bias planned (int32, as for existing ones). */
  plan: QuantPlan;
  report: BiasCorrectionReport;
}

export async function correctBiases(model: Model, plan: QuantPlan, data: AsyncIterable<Feeds>, options: BiasCorrectionOptions): Promise<BiasCorrectionResult> {
  if (!options || typeof options.createExecutor !== "function") throw new Error("correctBiases needs options.createExecutor");
  const graph = model.graph;
  const nodesByName = new Map(graph.nodes.map((n) => [n.name, n]));
  const wanted = options.nodes ? new Set(options.nodes) : undefined;
  if (wanted) {
    for (const name of wanted) {
      if (!nodesByName.has(name)) throw new Error(`bias correction: no node named ${name}`);
      if (![...plan.weights.values()].some((w) => w.node === name)) throw new Error(`bias correction: node ${name} has no quantized weight in the plan`);
    }
  }
  const skipped: BiasCorrectionReport["skipped"] = [];
  const targets: { layer: LinearLayer; weight: QuantizedWeight; qp?: QParams; sums?: Float64Array; sumsQ?: Float64Array; rows: number }[] = [];
  for (const w of plan.weights.values()) {
    if (wanted && !wanted.has(w.node)) continue;
    const node = nodesByName.get(w.node);
    if (!node) throw new Error(`plan refers to node ${w.node}, which the model does not have`);
    const problem = linearLayerProblem(node, graph) ?? (node.opType === "MatMul" ? "MatMul has no bias input (a bias would need an Add)" : undefined)
      ?? (node.inputs[1] !== w.name ? `its weight input is not ${w.name}` : undefined);
    if (problem) {
      skipped.push({ node: node.name, reason: problem });
      continue;
    }
    const weight = options.weights?.get(w.name) ?? quantizePlannedWeight(graph, w);
    const qp = options.activationParams?.get(node.inputs[0]!);
    targets.push({ layer: linearLayer(node, graph), weight, ...(qp ? { qp } : {}), rows: 0 });
  }

  let samples = 0;
  if (targets.length) {
    await captureTensors(model, targets.map((t) => t.layer.node.inputs[0]!), data, options.createExecutor, (tensors, feeds) => {
      samples += Object.values(feeds)[0]?.dims[0] ?? 1;
      for (const t of targets) {
        const xt = tensors.get(t.layer.node.inputs[0]!);
        const x = layerInputValues(xt, t.layer);
        const g = rowGeometry(t.layer, xt!.dims);
        t.sums ??= new Float64Array(g.width);
        addRowSums(x, g, t.sums);
        if (t.qp) {
          t.sumsQ ??= new Float64Array(g.width);
          addRowSums(fakeQuantize(x, t.qp), g, t.sumsQ);
        }
        t.rows += g.rows;
      }
    });
  }

  const out = cloneModel(model);
  const outPlan: QuantPlan = { ...plan, biases: new Map(plan.biases) };
  const layers: LayerBiasCorrection[] = [];
  for (const t of targets) {
    const { layer, weight } = t;
    const w = toFloat32(layer.weight);
    const wq = weight.dequantized;
    if (wq.length !== w.length) throw new Error(`bias correction: quantized weight of ${layer.node.name} has ${wq.length} values, the float weight ${w.length}`);
    const taps = t.sums!.length / layer.inChannels;
    const mean = t.sums!.map((s) => s / t.rows);
    const meanQ = t.sumsQ ? t.sumsQ.map((s) => s / t.rows) : mean;
    const shift = new Float64Array(layer.outChannels);
    for (let i = 0; i < w.length; i++) {
      const col = layer.inIndex[i]! * taps + (i % taps);
      shift[layer.outIndex[i]!]! += wq[i]! * meanQ[col]! - w[i]! * mean[col]!;
    }
    const node = out.graph.nodes.find((n) => n.name === layer.node.name)!;
    let biasName = layer.biasName;
    const old = biasName ? toFloat32(out.graph.initializers.get(biasName)!) : new Float32Array(layer.outChannels);
    const corrected = new Float32Array(layer.outChannels);
    for (let c = 0; c < corrected.length; c++) corrected[c] = old[c]! - shift[c]!;
    const added = !biasName;
    if (!biasName) {
      biasName = uniqueName(out.graph, `${layer.node.name}_bias`);
      while (node.inputs.length < 2) node.inputs.push("");
      node.inputs[2] = biasName;
      outPlan.biases.set(biasName, { name: biasName, input: node.inputs[0]!, weight: layer.weightName, node: node.name });
    }
    const dims = added ? [layer.outChannels] : [...out.graph.initializers.get(biasName)!.dims];
    out.graph.initializers.set(biasName, { dtype: "float32", dims, data: corrected });
    let maxShift = 0, maxBias = 0;
    for (let c = 0; c < shift.length; c++) {
      maxShift = Math.max(maxShift, Math.abs(shift[c]!));
      maxBias = Math.max(maxBias, Math.abs(corrected[c]!));
    }
    layers.push({
      node: layer.node.name, bias: biasName, added, inputQuantized: t.sumsQ !== undefined,
      shift: Float32Array.from(shift), maxAbsShift: maxShift, relativeToBias: maxBias > 0 ? maxShift / maxBias : Infinity,
    });
  }
  return { model: out, plan: outPlan, report: { layers, skipped, samples } };
}
