/**
 * LayerNorm graphs for the fusion tests: the decomposed form exporters write
 * (ReduceMean, Sub, Pow | Mul, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β) with a chosen set of
 * QuantizeLinear → DequantizeLinear pairs on its edges, and the ONNX LayerNormalization op.
 * Quantization params come from the ranges the float pipeline reaches on the test data.
 */
import { rng } from "../helpers/models.js";
import type { Model } from "../../src/graph/ir.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { GraphBuilder, float, int, ints, paramsForRange } from "./graph_builder.js";

export type Edge = "mean" | "diff" | "square" | "variance" | "shifted" | "root" | "normalized" | "scaled";
export const ALL_EDGES: Edge[] = ["mean", "diff", "square", "variance", "shifted", "root", "normalized", "scaled"];
/** Where octet's quantizer puts them on PP-OCRv4's neck (not after Pow or Sqrt). */
export const OCTET_EDGES: Edge[] = ["mean", "diff", "variance", "shifted", "normalized", "scaled"];

export interface LayerNormCase {
  edges: Edge[];
  square?: "pow" | "mul";
  gamma?: "int8" | "float" | "per-axis" | "none";
  beta?: "int8" | "float" | "none";
  epsilon?: "float" | "int8";
  input?: "quantized" | "float";
  /** dims of x; the last is normalized. */
  dims?: number[];
  seed?: number;
}

/** Random rows with their own offsets and spreads, like activations entering a LayerNorm. */
export function layerNormInput(dims: number[], seed: number): Tensor {
  const r = rng(seed);
  const width = dims[dims.length - 1]!;
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let o = 0; o < n; o += width) {
    const offset = (r() - 0.5) * 2;
    const spread = 0.3 + r() * 1.5;
    for (let k = 0; k < width; k++) data[o + k] = offset + (r() + r() + r() - 1.5) * spread;
  }
  return { dtype: "float32", dims, data };
}

/** Min/max of each intermediate of the float pipeline on x (for quantization params). */
function ranges(x: Float32Array, width: number, gamma: Float32Array, beta: Float32Array, eps: number) {
  const track = () => ({ min: Infinity, max: -Infinity, add(v: number) { this.min = Math.min(this.min, v); this.max = Math.max(this.max, v); } });
  const t = { x: track(), mean: track(), diff: track(), square: track(), variance: track(), shifted: track(), root: track(), normalized: track(), scaled: track(), out: track() };
  for (let o = 0; o < x.length; o += width) {
    let s = 0;
    for (let k = 0; k < width; k++) { s += x[o + k]!; t.x.add(x[o + k]!); }
    const mean = s / width;
    t.mean.add(mean);
    let v = 0;
    for (let k = 0; k < width; k++) { const d = x[o + k]! - mean; t.diff.add(d); t.square.add(d * d); v += d * d; }
    const variance = v / width;
    t.variance.add(variance);
    t.shifted.add(variance + eps);
    const root = Math.sqrt(variance + eps);
    t.root.add(root);
    for (let k = 0; k < width; k++) {
      const nrm = (x[o + k]! - mean) / root;
      t.normalized.add(nrm);
      t.scaled.add(nrm * gamma[k]!);
      t.out.add(nrm * gamma[k]! + beta[k]!);
    }
  }
  return t;
}

export function decomposedLayerNorm(c: LayerNormCase): { model: Model; x: Tensor } {
  const dims = c.dims ?? [2, 6, 24];
  const width = dims[dims.length - 1]!;
  const r = rng((c.seed ?? 1) + 100);
  const gammaValues = Float32Array.from({ length: width }, () => 0.5 + r());
  const betaValues = Float32Array.from({ length: width }, () => r() - 0.5);
  const epsValue = 1e-5;
  const x = layerNormInput(dims, c.seed ?? 1);
  const range = ranges(x.data as Float32Array, width, gammaValues, betaValues, epsValue);
  const b = new GraphBuilder(13);
  const edges = new Set(c.edges);
  const p = (name: keyof typeof range) => paramsForRange(range[name].min * 1.05, range[name].max * 1.05, "uint8");
  const maybe = (v: string, e: Edge, key: keyof typeof range) => (edges.has(e) ? b.qdq(v, p(key)) : v);

  let input = b.input("x", ["N", ...dims.slice(1)]);
  if ((c.input ?? "quantized") === "quantized") input = b.qdq(input, p("x"));
  const mean = maybe(b.op("ReduceMean", [input], { axes: ints([-1]), keepdims: int(1) }), "mean", "mean");
  const diff = maybe(b.op("Sub", [input, mean]), "diff", "diff");
  const sq = c.square === "mul" ? b.op("Mul", [diff, diff]) : b.op("Pow", [diff, b.floats([2], [])]);
  const square = maybe(sq, "square", "square");
  const variance = maybe(b.op("ReduceMean", [square], { axes: ints([-1]), keepdims: int(1) }), "variance", "variance");
  const eps = (c.epsilon ?? "float") === "int8"
    ? b.quantizedConstant(Float32Array.of(epsValue), [], "uint8").name
    : b.floats([epsValue], []);
  const shifted = maybe(b.op("Add", [variance, eps]), "shifted", "shifted");
  const root = maybe(b.op("Sqrt", [shifted]), "root", "root");
  let y = b.op("Div", [diff, root]);
  const gamma = c.gamma ?? "int8";
  const beta = c.beta ?? "int8";
  const finalKey = beta !== "none" ? "out" : gamma !== "none" ? "scaled" : "normalized";
  if (gamma !== "none") {
    y = maybe(y, "normalized", "normalized");
    let g: string;
    if (gamma === "int8") g = b.quantizedConstant(gammaValues, [width]).name;
    else if (gamma === "float") g = b.floats([...gammaValues], [width]);
    else {
      // Per-axis params along the only axis: one scale per column.
      const scales = Float32Array.from(gammaValues, (v) => Math.fround(v / 127));
      const q = Int8Array.from(gammaValues, (v, i) => Math.round(v / scales[i]!));
      const raw = b.constant({ dtype: "int8", dims: [width], data: q }, "gq");
      g = b.op("DequantizeLinear", [raw, b.floats([...scales]), b.constant({ dtype: "int8", dims: [width], data: new Int8Array(width) })], { axis: int(0) });
    }
    y = b.op("Mul", [y, g]);
  }
  if (beta !== "none") {
    if (gamma !== "none") y = maybe(y, "scaled", "scaled");
    const bb = beta === "int8" ? b.quantizedConstant(betaValues, [width]).name : b.floats([...betaValues], [width]);
    y = b.op("Add", [y, bb]);
  }
  const out = b.qdq(y, p(finalKey));
  b.output(out);
  return { model: b.model(), x };
}

/** DequantizeLinear → LayerNormalization (opset 17) → QuantizeLinear → DequantizeLinear, or all float. */
export function layerNormalizationOp(opts: { quantized: boolean; dims?: number[]; axis?: number; seed?: number }): { model: Model; x: Tensor } {
  const dims = opts.dims ?? [2, 5, 16];
  const axis = opts.axis ?? -1;
  const normalized = dims.slice(axis < 0 ? axis + dims.length : axis);
  const size = normalized.reduce((a, c) => a * c, 1);
  const r = rng((opts.seed ?? 3) + 7);
  const gamma = Float32Array.from({ length: size }, () => 0.5 + r());
  const beta = Float32Array.from({ length: size }, () => r() - 0.5);
  const x = layerNormInput(dims, opts.seed ?? 3);
  const b = new GraphBuilder(17);
  let input = b.input("x", ["N", ...dims.slice(1)]);
  if (opts.quantized) input = b.qdq(input, paramsForRange(-6, 6));
  const scale = b.constant({ dtype: "float32", dims: normalized, data: gamma }, "gamma");
  const bias = b.constant({ dtype: "float32", dims: normalized, data: beta }, "beta");
  let y = b.op("LayerNormalization", [input, scale, bias], { axis: int(axis), epsilon: float(1e-5) });
  if (opts.quantized) y = b.qdq(y, paramsForRange(-4, 4));
  b.output(y);
  return { model: b.model(), x };
}
