/**
 * Absorbing a per-output-channel affine map y = s·x + t into the linear op that produced x:
 * the weights of output channel c are multiplied by s[c] and the bias becomes b·s + t. This is the
 * arithmetic behind BatchNormalization folding (s = γ/√(σ² + ε), t = β − μ·s) and behind folding a
 * following Mul/Add/Sub/Div by a per-channel constant.
 *
 * Output-channel layout of the weights (ONNX operator docs):
 *  - Conv: W [M, C/group, k...], output channel m is W[m].
 *  - ConvTranspose: W [C, M/group, k...]; output channel o = g·(M/group) + j is made from the
 *    slices W[c, j] for the input channels c of group g = floor(c / (C/group)).
 *  - Gemm: Y = α·A'·B' + β·C with B' = B (transB = 0, B [K, N]) or Bᵀ (transB = 1, B [N, K]);
 *    output channel n is column n of B'.
 */
import type { Graph, Node } from "../ir.js";
import { attr, intAttr } from "../ir.js";
import { sizeOf, type Tensor } from "../../tensor/tensor.js";
import { addInitializer, numbersOf, readNames, tensorFromNumbers } from "../constants.js";

export interface AffineTarget {
  node: Node;
  /** Number of output channels. */
  channels: number;
  /** Rank of the node's output (the channel axis is 1). */
  outputRank: number;
  weight: Tensor;
  bias: Tensor | undefined;
}

const FLOAT_WEIGHTS = new Set(["float32", "float64"]);

/** The node as an affine target, when its weight (and bias) are float initializers. */
export function affineTarget(graph: Graph, node: Node): AffineTarget | undefined {
  if (node.domain !== "") return undefined;
  if (node.opType !== "Conv" && node.opType !== "ConvTranspose" && node.opType !== "Gemm") return undefined;
  const weight = graph.initializers.get(node.inputs[1] ?? "");
  if (!weight || !FLOAT_WEIGHTS.has(weight.dtype)) return undefined;
  const biasName = node.inputs[2];
  const bias = biasName ? graph.initializers.get(biasName) : undefined;
  if (biasName && (!bias || bias.dtype !== weight.dtype)) return undefined;
  if (node.opType === "Gemm") {
    if (weight.dims.length !== 2) return undefined;
    const channels = intAttr(node, "transB", 0) ? weight.dims[0]! : weight.dims[1]!;
    return { node, channels, outputRank: 2, weight, bias };
  }
  if (weight.dims.length < 3) return undefined;
  const channels = node.opType === "Conv" ? weight.dims[0]! : weight.dims[1]! * intAttr(node, "group", 1);
  return { node, channels, outputRank: weight.dims.length, weight, bias };
}

/** Output channel of each weight element's leading index structure, as a function of flat index. */
function channelOfWeight(target: AffineTarget): (flat: number) => number {
  const { node, weight } = target;
  const dims = weight.dims;
  if (node.opType === "Conv") {
    const per = sizeOf(dims.slice(1));
    return (i) => Math.floor(i / per);
  }
  if (node.opType === "ConvTranspose") {
    const group = intAttr(node, "group", 1);
    const inPerGroup = dims[0]! / group;
    const outPerGroup = dims[1]!;
    const spatial = sizeOf(dims.slice(2));
    return (i) => {
      const c = Math.floor(i / (outPerGroup * spatial));
      const j = Math.floor(i / spatial) % outPerGroup;
      return Math.floor(c / inPerGroup) * outPerGroup + j;
    };
  }
  // Gemm
  const transB = intAttr(node, "transB", 0) === 1;
  const cols = dims[1]!;
  return transB ? (i) => Math.floor(i / cols) : (i) => i % cols;
}

/** Replaces an initializer input of `node` with `t`: in place if only this node reads it. */
function setInput(graph: Graph, node: Node, index: number, t: Tensor, base: string, readers: Map<string, number>): void {
  const name = node.inputs[index];
  if (name && (readers.get(name) ?? 0) <= 1) {
    graph.initializers.set(name, t);
    return;
  }
  while (node.inputs.length < index) node.inputs.push("");
  node.inputs[index] = addInitializer(graph, base, t);
}

function countReaders(graph: Graph): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) m.set(i, (m.get(i) ?? 0) + 1);
  // Reads from subgraphs or graph outputs make a name shared.
  for (const r of readNames(graph)) if (!m.has(r)) m.set(r, 2);
  for (const o of graph.outputs) m.set(o.name, 2);
  return m;
}

/**
 * Folds y = scale·x + shift (per output channel) into `target`, whose output becomes `output`.
 */
export function absorbChannelAffine(graph: Graph, target: AffineTarget, scale: ArrayLike<number>, shift: ArrayLike<number>, output: string): void {
  const { node, weight, channels } = target;
  if (scale.length !== channels || shift.length !== channels) {
    throw new Error(`node ${node.name} (${node.opType}): affine map has ${scale.length} channels, the node has ${channels}`);
  }
  const readers = countReaders(graph);
  // A pure shift (Add/Sub) leaves the weights as they are.
  if (Array.from(scale).some((s) => s !== 1)) {
    const channelOf = channelOfWeight(target);
    const src = weight.data as Float32Array | Float64Array;
    const w = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) w[i] = src[i]! * scale[channelOf(i)]!;
    setInput(graph, node, 1, tensorFromNumbers(weight.dtype, weight.dims, w), `${node.name}_weight_folded`, readers);
  }

  let bias: Tensor;
  if (node.opType === "Gemm") {
    // β·C broadcast over [rows, N]; each column scaled and shifted. Rows stay as C had them.
    const beta = attr(node, "beta", "float") ?? 1;
    const c = target.bias;
    const rows = c && c.dims.length === 2 ? c.dims[0]! : 1;
    const cv = c ? numbersOf(c) : [];
    const cCols = c ? (c.dims.length === 0 ? 1 : c.dims[c.dims.length - 1]!) : 1;
    const values: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let n = 0; n < channels; n++) {
        const cval = c ? cv[(rows > 1 ? r * cCols : 0) + (cCols === 1 ? 0 : n)]! : 0;
        values.push(beta * cval * scale[n]! + shift[n]!);
      }
    }
    bias = tensorFromNumbers(weight.dtype, rows > 1 ? [rows, channels] : [channels], values);
    node.attributes.set("beta", { kind: "float", value: 1 });
  } else {
    const b = target.bias ? numbersOf(target.bias) : new Array<number>(channels).fill(0);
    if (b.length !== channels) throw new Error(`node ${node.name} (${node.opType}): bias has ${b.length} values for ${channels} channels`);
    bias = tensorFromNumbers(weight.dtype, [channels], b.map((v, c) => v * scale[c]! + shift[c]!));
  }
  setInput(graph, node, 2, bias, `${node.name}_bias_folded`, readers);
  node.outputs[0] = output;
}

/**
 * A constant that broadcasts along the channel axis (1) only, against an output of `rank` with
 * `channels` channels, as one value per channel; undefined otherwise.
 */
export function perChannelValues(c: Tensor, rank: number, channels: number): number[] | undefined {
  if (c.dims.length > rank || c.dtype === "string") return undefined;
  const padded = [...new Array<number>(rank - c.dims.length).fill(1), ...c.dims];
  for (let i = 0; i < rank; i++) if (i !== 1 && padded[i] !== 1) return undefined;
  const v = numbersOf(c);
  if (padded[1] === 1) return new Array<number>(channels).fill(v[0]!);
  if (padded[1] !== channels) return undefined;
  return v;
}
