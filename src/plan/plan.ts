/**
 * The planner: walks a prepared graph and decides, for every tensor, whether and how it is
 * quantized. The result (a QuantPlan) is what calibration observes, what optimizers adjust and
 * what the exporters write; PTQ and QAT both produce one.
 */
import { consumers, topologicalOrder, type Graph, type Node } from "../graph/ir.js";
import type { Preset, TensorFormat } from "./preset.js";
import { activationInputs, ruleFor } from "./rules.js";

export interface ActivationPlan {
  name: string;
  format: TensorFormat;
  /** Calibrate this tensor's range, reuse another quantized tensor's params, or use a fixed range. */
  source: { kind: "calibrated" } | { kind: "shared"; tensor: string } | { kind: "fixed"; min: number; max: number };
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
}

export interface PlanOptions {
  preset: Preset;
  /** Node names or op types to leave in float. */
  exclude?: string[];
}

/** Ops whose output can absorb a following Relu/Clip: ONNX Runtime and TensorRT fuse the pair. */
const fusableProducers = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

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
  };

  // Conv/Gemm → Relu|Clip with nothing else reading the intermediate: quantize only the activation's output.
  const fusedActivation = new Map<string, Node>();
  for (const node of graph.nodes) {
    if (!fusableProducers.has(node.opType) || excluded.has(node.name) || excluded.has(node.opType)) continue;
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
      plan.floatNodes.push({ name: node.name, opType: node.opType, reason: "excluded by the user" });
      continue;
    }
    if (!rule) {
      plan.floatNodes.push({ name: node.name, opType: node.opType, reason: node.domain ? `custom domain ${node.domain}` : "no quantization rule for this op" });
      continue;
    }
    const inputs = activationInputs(node, rule);
    const weightIndex = rule.weight?.input;
    const weightName = weightIndex !== undefined ? node.inputs[weightIndex] : undefined;
    const weightIsConstant = weightName !== undefined && graph.initializers.has(weightName);
    const dataInputs = inputs.filter((i) => !(i === weightIndex && weightIsConstant));

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
