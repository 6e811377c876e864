/**
 * The layers the weight-side PTQ algorithms work on: Conv and Gemm (and MatMul with a constant
 * right-hand side), i.e. every op whose output is a linear function of its input with constant
 * weights. They all share one view: each weight element connects one input channel to one output
 * channel, so "scale output channel i" and "scale input channel c" are loops over the flat weight
 * with two index maps, whatever the op's layout:
 *
 *   Conv   W [M, C/g, kH, kW], group g: element (m, cl, ·, ·) reads input channel
 *          ⌊m / (M/g)⌋·(C/g) + cl (ONNX Conv: output channel m belongs to group ⌊m/(M/g)⌋).
 *          g = 1 is a plain conv; g = C = M a depthwise conv.
 *   Gemm   Y = A·B + C with B [K, N] (transB = 0) or [N, K] (transB = 1); only alpha = beta = 1,
 *          transA = 0 (other forms are rare after export and would need their factors carried).
 *   MatMul Y = A·B with a constant 2-D B [K, N]; no bias.
 */
import { attr, intAttr, type Graph, type Node } from "../graph/ir.js";
import { toFloat32, type Tensor } from "../tensor/tensor.js";

export interface LinearLayer {
  node: Node;
  opType: "Conv" | "Gemm" | "MatMul";
  weightName: string;
  /** Bias initializer name, when the node has a constant bias. */
  biasName?: string;
  weight: Tensor;
  outChannels: number;
  inChannels: number;
  group: number;
  /** Per-channel quantization axis of the weight (the output-channel axis). */
  outAxis: number;
  /** For each flat weight index, its output channel and its input channel. */
  outIndex: Int32Array;
  inIndex: Int32Array;
}

/** Why `node` is not a layer these algorithms handle, or undefined when it is. */
export function linearLayerProblem(node: Node, graph: Graph): string | undefined {
  if (node.domain !== "") return `custom domain ${node.domain}`;
  if (node.opType !== "Conv" && node.opType !== "Gemm" && node.opType !== "MatMul") return `${node.opType} is not a Conv, Gemm or MatMul`;
  const w = graph.initializers.get(node.inputs[1] ?? "");
  if (!w) return "its weight is not a constant initializer";
  if (w.dtype !== "float32") return `its weight is ${w.dtype}, not float32`;
  if (node.opType === "Conv") {
    if (w.dims.length < 3) return `conv weight of rank ${w.dims.length}`;
  } else if (node.opType === "Gemm") {
    if (intAttr(node, "transA", 0) !== 0) return "Gemm with transA = 1";
    if ((attr(node, "alpha", "float") ?? 1) !== 1 || (attr(node, "beta", "float") ?? 1) !== 1) return "Gemm with alpha or beta ≠ 1";
    if (w.dims.length !== 2) return `Gemm weight of rank ${w.dims.length}`;
  } else if (w.dims.length !== 2) {
    return `MatMul weight of rank ${w.dims.length} (only 2-D constant right-hand sides)`;
  }
  const biasName = node.opType === "MatMul" ? "" : node.inputs[2] ?? "";
  if (biasName) {
    const b = graph.initializers.get(biasName);
    if (!b) return "its bias is not a constant initializer";
    if (b.dtype !== "float32") return `its bias is ${b.dtype}, not float32`;
    const out = outputChannelsOf(node, w);
    if (b.dims.reduce((a, d) => a * d, 1) !== out) return `its bias has ${b.dims.join("×")} values for ${out} output channels (broadcast biases are not handled)`;
  }
  return undefined;
}

function outputChannelsOf(node: Node, w: Tensor): number {
  if (node.opType === "Conv") return w.dims[0]!;
  if (node.opType === "Gemm") return intAttr(node, "transB", 0) ? w.dims[0]! : w.dims[1]!;
  return w.dims[1]!;
}

/** The layer view of a Conv/Gemm/MatMul node; throws with the reason when it has none. */
export function linearLayer(node: Node, graph: Graph): LinearLayer {
  const problem = linearLayerProblem(node, graph);
  if (problem) throw new Error(`node ${node.name} (${node.opType}): ${problem}`);
  const weightName = node.inputs[1]!;
  const weight = graph.initializers.get(weightName)!;
  const biasName = node.opType === "MatMul" ? undefined : node.inputs[2] || undefined;
  const size = weight.dims.reduce((a, d) => a * d, 1);
  const outIndex = new Int32Array(size);
  const inIndex = new Int32Array(size);
  let outChannels: number, inChannels: number, group = 1, outAxis: number;
  if (node.opType === "Conv") {
    group = intAttr(node, "group", 1);
    const [m, cg] = weight.dims as [number, number];
    const taps = size / (m * cg);
    if (m % group !== 0) throw new Error(`node ${node.name}: ${m} output channels do not divide into ${group} groups`);
    const perGroupOut = m / group;
    outChannels = m;
    inChannels = cg * group;
    outAxis = 0;
    for (let i = 0; i < size; i++) {
      const oc = Math.floor(i / (cg * taps));
      const cl = Math.floor(i / taps) % cg;
      outIndex[i] = oc;
      inIndex[i] = Math.floor(oc / perGroupOut) * cg + cl;
    }
  } else {
    const transposed = node.opType === "Gemm" && intAttr(node, "transB", 0) === 1;
    const [d0, d1] = weight.dims as [number, number];
    outChannels = transposed ? d0 : d1;
    inChannels = transposed ? d1 : d0;
    outAxis = transposed ? 0 : 1;
    for (let i = 0; i < size; i++) {
      const r = Math.floor(i / d1);
      const c = i % d1;
      outIndex[i] = transposed ? r : c;
      inIndex[i] = transposed ? c : r;
    }
  }
  return { node, opType: node.opType as LinearLayer["opType"], weightName, ...(biasName ? { biasName } : {}), weight, outChannels, inChannels, group, outAxis, outIndex, inIndex };
}

/** max |w| over the weights that produce each output channel. */
export function outputChannelRanges(layer: LinearLayer, weight: Float32Array = toFloat32(layer.weight)): Float64Array {
  const r = new Float64Array(layer.outChannels);
  for (let i = 0; i < weight.length; i++) {
    const a = Math.abs(weight[i]!);
    const c = layer.outIndex[i]!;
    if (a > r[c]!) r[c] = a;
  }
  return r;
}

/** max |w| over the weights that read each input channel. */
export function inputChannelRanges(layer: LinearLayer, weight: Float32Array = toFloat32(layer.weight)): Float64Array {
  const r = new Float64Array(layer.inChannels);
  for (let i = 0; i < weight.length; i++) {
    const a = Math.abs(weight[i]!);
    const c = layer.inIndex[i]!;
    if (a > r[c]!) r[c] = a;
  }
  return r;
}

/** The node's (single) data input: input 0 for all three ops. */
export function layerInput(layer: LinearLayer): string {
  return layer.node.inputs[0]!;
}
