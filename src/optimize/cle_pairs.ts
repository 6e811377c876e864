/**
 * Which pairs of layers cross-layer equalization may rescale: a layer A (Conv/Gemm/MatMul) whose
 * output reaches the data input of a layer B only through ops that act on each channel separately
 * and are positively homogeneous, f(x/s) = f(x)/s for every s > 0 (Nagel et al. 2019, "Data-Free
 * Quantization Through Weight Equalization and Bias Correction", §4.1, eq. 3–5: the property that
 * lets the scale of A's output channel i move into B's input channel i).
 *
 * Homogeneous per-channel ops: Relu, LeakyRelu, PRelu, MaxPool, AveragePool, GlobalAveragePool,
 * GlobalMaxPool, Identity, Dropout (inference), and Clip with min 0 and no max (which is a Relu).
 * After a global pool the spatial extent is 1×1, so Flatten(axis 1) then keeps channel c at
 * feature c and a Gemm may follow.
 *
 * Clip with a finite upper bound (Relu6 = Clip(0, 6)) is NOT homogeneous: Clip(x/s, 0, 6) equals
 * Clip(x, 0, 6)/s only if the bound becomes 6/s, a different bound per channel, which ONNX Clip
 * cannot express. The `clip` policy decides:
 *   - "skip" (default): the pair is not equalized;
 *   - "relu-if-unreached": the Clip becomes a Relu when calibration showed its input never reaches
 *     the upper bound (then the model computes exactly the same on the calibration data; inputs
 *     beyond the bound would no longer be clipped);
 *   - "relu": the Clip becomes a Relu regardless, as Nagel et al. did for MobileNetV2 (§5.1:
 *     "we replace ReLU6 with ReLU"), which changes the float model.
 *
 * Every intermediate value must have exactly one reader and not be a graph output (else the
 * rescaled channel would leak elsewhere), A's and B's weights and biases must be read by them
 * alone, and A's output channels must be B's input channels.
 */
import { consumers, onnxOpset, type Graph, type Model, type Node } from "../graph/ir.js";
import { clipBounds } from "../graph/op_arguments.js";
import { toFloat32 } from "../tensor/tensor.js";
import { linearLayerProblem } from "./linear_layer.js";

export type ClipPolicy = "skip" | "relu-if-unreached" | "relu";

export interface ObservedRange {
  min: number;
  max: number;
}

export interface EqualizationPair {
  first: string;
  second: string;
  /** The ops between the two layers, in order (op types), after any Clip → Relu replacement. */
  through: string[];
  /** Clip nodes that must become Relu for this pair. */
  clipsToRelu: string[];
}

export interface SkippedPair {
  first: string;
  second?: string;
  reason: string;
}

export interface PairSearchOptions {
  clip?: ClipPolicy;
  /** Observed [min, max] per tensor (calibration), used by "relu-if-unreached". */
  observedRanges?: Map<string, ObservedRange>;
}

const homogeneous = new Set(["Relu", "LeakyRelu", "PRelu", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Identity", "Dropout"]);
const globalPools = new Set(["GlobalAveragePool", "GlobalMaxPool"]);

/** Finds every pair A → (homogeneous ops) → B in the graph, and why other layer outputs do not qualify. */
export function findEqualizationPairs(model: Model, options: PairSearchOptions = {}): { pairs: EqualizationPair[]; skipped: SkippedPair[] } {
  const graph = model.graph;
  const policy = options.clip ?? "skip";
  if (!["skip", "relu-if-unreached", "relu"].includes(policy)) throw new Error(`unknown clip policy "${String(policy)}" (skip, relu-if-unreached, relu)`);
  const readers = consumers(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const opset = onnxOpset(model);
  const readNumbers = (name: string) => {
    const t = graph.initializers.get(name);
    return t ? Array.from(toFloat32(t)) : undefined;
  };
  const pairs: EqualizationPair[] = [];
  const skipped: SkippedPair[] = [];
  const soleReader = (value: string): Node | string => {
    if (outputs.has(value)) return `${value} is a graph output`;
    const r = readers.get(value) ?? [];
    if (r.length !== 1) return `${value} has ${r.length} readers`;
    return r[0]!;
  };
  const ownsParameters = (node: Node): string | undefined => {
    for (const name of node.inputs.slice(1, node.opType === "MatMul" ? 2 : 3)) {
      if (name && (readers.get(name)?.length ?? 0) > 1) return `${node.name}'s parameter ${name} is shared with other nodes`;
    }
    return undefined;
  };

  for (const a of graph.nodes) {
    if (linearLayerProblem(a, graph) !== undefined) continue;
    const aProblem = ownsParameters(a);
    if (aProblem) {
      skipped.push({ first: a.name, reason: aProblem });
      continue;
    }
    let value = a.outputs[0]!;
    const through: string[] = [];
    const clipsToRelu: string[] = [];
    let spatialIsOne = false;
    let failure: string | undefined;
    let b: Node | undefined;
    for (;;) {
      const next = soleReader(value);
      if (typeof next === "string") {
        failure = next;
        break;
      }
      if (linearLayerProblem(next, graph) === undefined) {
        if (next.inputs[0] !== value) failure = `${next.name} reads ${value} as a parameter, not as its data input`;
        else b = next;
        break;
      }
      const step = throughStep(next, spatialIsOne, opset, readNumbers, policy, options.observedRanges);
      if (typeof step === "string") {
        failure = `${next.name} (${next.opType}): ${step}`;
        break;
      }
      if (step.clipToRelu) clipsToRelu.push(next.name);
      through.push(step.clipToRelu ? "Relu" : next.opType);
      if (globalPools.has(next.opType)) spatialIsOne = true;
      value = next.outputs[0]!;
      if (next.outputs.filter(Boolean).length !== 1) {
        failure = `${next.name} has several outputs`;
        break;
      }
    }
    if (!b) {
      skipped.push({ first: a.name, reason: failure ?? "no following layer" });
      continue;
    }
    const pairProblem = compatibility(a, b, graph, spatialIsOne) ?? ownsParameters(b);
    if (pairProblem) {
      skipped.push({ first: a.name, second: b.name, reason: pairProblem });
      continue;
    }
    pairs.push({ first: a.name, second: b.name, through, clipsToRelu });
  }
  return { pairs, skipped };
}

function throughStep(
  node: Node, spatialIsOne: boolean, opset: number, readNumbers: (n: string) => number[] | undefined,
  policy: ClipPolicy, ranges: Map<string, ObservedRange> | undefined,
): { clipToRelu: boolean } | string {
  if (node.domain !== "") return "custom-domain op";
  if (homogeneous.has(node.opType)) {
    if (node.opType === "PRelu" && !readNumbers(node.inputs[1] ?? "")) return "PRelu slope is not a constant";
    if (node.opType === "MaxPool" && node.outputs.filter(Boolean).length > 1) return "MaxPool with an indices output";
    return { clipToRelu: false };
  }
  if (node.opType === "Flatten" || node.opType === "Squeeze") {
    if (!spatialIsOne) return "only channel-preserving after a global pool (1×1 spatial)";
    if (node.opType === "Flatten" && (node.attributes.get("axis")?.value ?? 1) !== 1) return "Flatten with axis ≠ 1";
    return { clipToRelu: false };
  }
  if (node.opType === "Clip") {
    const bounds = clipBounds(node, opset, readNumbers);
    if (!bounds) return "Clip bounds are not constants";
    if (bounds.min !== 0) return `Clip with lower bound ${bounds.min} is not positively homogeneous`;
    if (bounds.max === Infinity) return { clipToRelu: false };
    if (policy === "relu") return { clipToRelu: true };
    if (policy === "relu-if-unreached") {
      const r = ranges?.get(node.inputs[0]!) ?? ranges?.get(node.outputs[0]!);
      if (!r) return `Clip(0, ${bounds.max}) is not homogeneous and no observed range of ${node.inputs[0]} was given`;
      if (r.max >= bounds.max) return `Clip(0, ${bounds.max}) is not homogeneous and calibration reached its bound (max ${r.max})`;
      return { clipToRelu: true };
    }
    return `Clip(0, ${bounds.max}) (Relu6-like) is not positively homogeneous (clip policy "skip")`;
  }
  return `${node.opType} does not act per channel homogeneously`;
}

function compatibility(a: Node, b: Node, graph: Graph, spatialIsOne: boolean): string | undefined {
  const wa = graph.initializers.get(a.inputs[1]!)!;
  const wb = graph.initializers.get(b.inputs[1]!)!;
  const aOut = a.opType === "Conv" ? wa.dims[0]! : a.opType === "Gemm" && (a.attributes.get("transB")?.value ?? 0) === 1 ? wa.dims[0]! : wa.dims[1]!;
  const group = b.opType === "Conv" ? Number(b.attributes.get("group")?.value ?? 1) : 1;
  const bIn = b.opType === "Conv" ? wb.dims[1]! * group : b.opType === "Gemm" && (b.attributes.get("transB")?.value ?? 0) === 1 ? wb.dims[1]! : wb.dims[0]!;
  if (aOut !== bIn) return `${a.name} has ${aOut} output channels but ${b.name} reads ${bIn} input channels`;
  const aSpatial = a.opType === "Conv";
  const bSpatial = b.opType === "Conv";
  if (aSpatial && !bSpatial && !spatialIsOne) return `${a.name} is a Conv and ${b.name} a ${b.opType}: channels map to features only after a global pool`;
  if (!aSpatial && bSpatial) return `${a.name} (${a.opType}) feeds a Conv`;
  return undefined;
}
