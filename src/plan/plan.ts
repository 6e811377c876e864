/**
 * The planner: walks a prepared graph and decides, for every tensor, whether and how it is
 * quantized. The result (a QuantPlan) is what calibration observes, what optimizers adjust and
 * what the exporters write; PTQ and QAT both produce one.
 */
import { consumers, floatAttr, topologicalOrder, type Graph, type Node } from "../graph/ir.js";
import type { Preset, TensorFormat } from "./preset.js";
import { activationInputs, ruleFor } from "./rules.js";

export interface ActivationPlan {
  name: string;
  format: TensorFormat;
  /** Calibrate this tensor's range, reuse another quantized tensor's params, or use a fixed range. */
  source:
    | { kind: "calibrated" }
    | { kind: "shared"; tensor: string }
    | { kind: "fixed"; min: number; max: number }
    /** Exact params: scale, and zero point as an offset above the dtype's qmin. */
    | { kind: "exact"; scale: number; zeroPointAboveQmin: number };
  /** True when the tensor is an initializer: its range is read from its values, not calibrated. */
  constant: boolean;
}

export interface WeightPlan {
  name: string;
  format: TensorFormat;
  /** Per-channel axis, or undefined for per-tensor. */
  axis?: number;
  node: string;
}

export interface BiasPlan {
  name: string;
  input: string;
  weight: string;
  node: string;
}

/**
 * An affine node output = factor·input + offset folded into quantization: the node is removed and
 * `input` is quantized straight to `output`'s integer values, with scale s_out / factor and zero
 * point z_out + offset / s_out (an integer by construction), then dequantized with (s_out, z_out).
 * Saturation of the integer type does the clamping. So x/6 in a decomposed HardSwish, and
 * HardSigmoid (clip(αx + β, 0, 1), with the output's step 1/256 so that β/s is an integer), cost
 * nothing at run time.
 */
export interface ScaleFold {
  node: string;
  input: string;
  output: string;
  factor: number;
  offset: number;
}

/** HardSigmoid's output step: 1/256 puts β = 0.5 on an integer code (TFLite uses it for [0, 1] outputs). */
export const UNIT_INTERVAL_SCALE = 1 / 256;

export interface FloatNode {
  name: string;
  opType: string;
  reason: string;
}

export interface QuantPlan {
  activations: Map<string, ActivationPlan>;
  weights: Map<string, WeightPlan>;
  biases: Map<string, BiasPlan>;
  /** Nodes that run on quantized inputs/outputs. */
  quantizedNodes: string[];
  /** Nodes left in float, and why. */
  floatNodes: FloatNode[];
  /** Pairs (producer, activation) with no Q/DQ between them. */
  fusions: { producer: string; activation: string }[];
  scaleFolds: ScaleFold[];
}

/** The FloatNode reason of nodes named by `exclude` (the exporter keeps their inputs float). */
export const EXCLUDED_BY_USER = "excluded by the user";

export interface PlanOptions {
  preset: Preset;
  /** Node names or op types to leave in float. */
  exclude?: string[];
}

/**
 * Whether a following Relu/Clip can absorb this node's output quantization: any op whose output
 * would get its own calibrated params. The pair then has one Q, on the activation's output, whose
 * range lies inside the clamp, so saturation does the clamping: ONNX Runtime removes the Relu/Clip
 * (ReluQuantFusion, ClipQuantFusion) and fuses DQ → op → Q (QLinearConv, QLinearAdd, ...), and
 * no requantization is left between e.g. the x + 3 and the Clip of a decomposed HardSwish.
 */
function canAbsorbActivation(node: Node): boolean {
  const rule = ruleFor(node);
  return rule !== undefined && rule.output.kind === "calibrated" && !isClampActivationOp(node.opType);
}

function isClampActivationOp(opType: string): boolean {
  return opType === "Relu" || opType === "Clip";
}

export function planQuantization(graph: Graph, options: PlanOptions): QuantPlan {
  const { preset } = options;
  const excluded = new Set(options.exclude ?? []);
  const consumersOf = consumers(graph);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const plan: QuantPlan = {
    activations: new Map(),
    weights: new Map(),
    biases: new Map(),
    quantizedNodes: [],
    floatNodes: [],
    fusions: [],
    scaleFolds: [],
  };

  // Conv/Gemm → Relu|Clip with nothing else reading the intermediate: quantize only the activation's output.
  const fusedActivation = new Map<string, Node>();
  for (const node of graph.nodes) {
    if (!canAbsorbActivation(node) || excluded.has(node.name) || excluded.has(node.opType)) continue;
    const out = node.outputs[0]!;
    const readers = consumersOf.get(out) ?? [];
    const act = readers[0];
    if (readers.length !== 1 || graphOutputs.has(out) || !act) continue;
    if (!isClampActivation(act, graph) || excluded.has(act.name) || excluded.has(act.opType)) continue;
    fusedActivation.set(node.name, act);
    plan.fusions.push({ producer: node.name, activation: act.name });
  }
  const fusedActivationNodes = new Set([...fusedActivation.values()].map((n) => n.name));

  const isFloatTensor = (name: string) => {
    const init = graph.initializers.get(name);
    if (init) return init.dtype === "float32";
    const vi = graph.valueInfo.get(name) ?? graph.inputs.find((v) => v.name === name);
    return vi ? vi.dtype === "float32" : true; // intermediates of a float model are float unless known otherwise
  };

  const addActivation = (name: string, source: ActivationPlan["source"]) => {
    if (!name || plan.activations.has(name) || plan.weights.has(name)) return;
    plan.activations.set(name, { name, format: preset.activation, source, constant: graph.initializers.has(name) });
  };

  for (const node of topologicalOrder(graph)) {
    const rule = ruleFor(node);
    if (excluded.has(node.name) || excluded.has(node.opType)) {
      plan.floatNodes.push({ name: node.name, opType: node.opType, reason: EXCLUDED_BY_USER });
      continue;
    }
    if (!rule) {
      const shapeMath = node.opType === "Shape" || node.inputs.every((i) => !i || !isFloatTensor(i));
      const reason = shapeMath ? "integer/shape computation" : node.domain ? `custom domain ${node.domain}` : "no quantization rule for this op";
      plan.floatNodes.push({ name: node.name, opType: node.opType, reason });
      continue;
    }
    const inputs = activationInputs(node, rule);
    const weightIndex = rule.weight?.input;
    const weightName = weightIndex !== undefined ? node.inputs[weightIndex] : undefined;
    const weightIsConstant = weightName !== undefined && graph.initializers.has(weightName);
    const dataInputs = inputs.filter((i) => !(i === weightIndex && weightIsConstant));

    const fold = scaleFoldOf(node, graph, consumersOf, graphOutputs, !preset.activation.symmetric);
    if (fold && plan.activations.get(fold.input)?.source.kind === "calibrated" && !plan.activations.get(fold.input)!.constant
      && !graph.inputs.some((i) => i.name === fold.input) && !plan.scaleFolds.some((f) => f.output === fold.input)) {
      plan.activations.delete(fold.input);
      addActivation(fold.output, fold.offset ? { kind: "exact", scale: UNIT_INTERVAL_SCALE, zeroPointAboveQmin: 0 } : { kind: "calibrated" });
      plan.scaleFolds.push(fold);
      plan.quantizedNodes.push(node.name);
      continue;
    }

    const floatReason = whyFloat(node, graph, dataInputs, isFloatTensor);
    if (floatReason) {
      plan.floatNodes.push({ name: node.name, opType: node.opType, reason: floatReason });
      continue;
    }
    // Data movement on values that are not quantized stays float: it costs nothing there.
    if (rule.output.kind === "shared" && !plan.activations.has(node.inputs[rule.output.input]!)) {
      plan.floatNodes.push({ name: node.name, opType: node.opType, reason: "input is not quantized (data movement stays float)" });
      continue;
    }

    if (!fusedActivationNodes.has(node.name)) {
      for (const i of dataInputs) addActivation(node.inputs[i]!, { kind: "calibrated" });
    }
    if (weightName && weightIsConstant && rule.weight) {
      const format = preset.weight;
      const weightPlan: WeightPlan = { name: weightName, format, node: node.name };
      if (format.perChannel) weightPlan.axis = rule.weight.axis(node, graph);
      if (!plan.weights.has(weightName)) plan.weights.set(weightName, weightPlan);
      const biasName = rule.bias !== undefined ? node.inputs[rule.bias] : undefined;
      if (biasName && graph.initializers.has(biasName)) {
        plan.biases.set(biasName, { name: biasName, input: node.inputs[0]!, weight: weightName, node: node.name });
      }
    }
    if (!fusedActivation.has(node.name)) {
      const out = node.outputs[0]!;
      const o = rule.output;
      if (o.kind === "shared") {
        for (const output of node.outputs) addActivation(output, { kind: "shared", tensor: node.inputs[o.input]! });
      } else if (o.kind === "fixed") addActivation(out, { kind: "fixed", min: o.min, max: o.max });
      else addActivation(out, { kind: "calibrated" });
    }
    plan.quantizedNodes.push(node.name);
  }
  return plan;
}

/**
 * Div or Mul by a positive constant scalar, or (with asymmetric activations, whose zero point can
 * carry the offset) HardSigmoid, reading a value nothing else reads.
 */
function scaleFoldOf(node: Node, graph: Graph, consumersOf: Map<string, Node[]>, graphOutputs: Set<string>, asymmetric: boolean): ScaleFold | undefined {
  const single = (input: string) => (consumersOf.get(input) ?? []).length === 1 && !graphOutputs.has(input);
  if (node.opType === "HardSigmoid" && asymmetric) {
    const alpha = floatAttr(node, "alpha", 0.2);
    const beta = floatAttr(node, "beta", 0.5);
    const input = node.inputs[0]!;
    if (!(alpha > 0) || !Number.isInteger(beta / UNIT_INTERVAL_SCALE) || beta < 0 || beta >= 1 || !single(input)) return undefined;
    return { node: node.name, input, output: node.outputs[0]!, factor: alpha, offset: beta };
  }
  if (node.opType !== "Div" && node.opType !== "Mul") return undefined;
  const scalarAt = (i: number) => {
    const t = graph.initializers.get(node.inputs[i] ?? "");
    return t && t.dtype === "float32" && (t.data as Float32Array).length === 1 ? (t.data as Float32Array)[0]! : undefined;
  };
  let input: string | undefined;
  let factor: number | undefined;
  if (node.opType === "Div" && scalarAt(1) !== undefined) [input, factor] = [node.inputs[0], 1 / scalarAt(1)!];
  else if (node.opType === "Mul" && scalarAt(1) !== undefined) [input, factor] = [node.inputs[0], scalarAt(1)];
  else if (node.opType === "Mul" && scalarAt(0) !== undefined) [input, factor] = [node.inputs[1], scalarAt(0)];
  if (!input || factor === undefined || !(factor > 0) || !Number.isFinite(factor)) return undefined;
  if (!single(input)) return undefined;
  return { node: node.name, input, output: node.outputs[0]!, factor, offset: 0 };
}

function whyFloat(node: Node, graph: Graph, dataInputs: number[], isFloatTensor: (n: string) => boolean): string | undefined {
  for (const i of dataInputs) {
    const name = node.inputs[i]!;
    if (!isFloatTensor(name)) return `input ${name} is not float32`;
  }
  if (node.opType === "Div" && !graph.initializers.has(node.inputs[1] ?? "")) return "Div by a non-constant divisor";
  return undefined;
}

/** Relu, or Clip whose bounds are constants (Relu6 is Clip(0, 6)). */
function isClampActivation(node: Node, graph: Graph): boolean {
  if (node.opType === "Relu") return true;
  if (node.opType !== "Clip") return false;
  return node.inputs.slice(1).every((name) => name === "" || graph.initializers.has(name));
}
