/**
 * Recognising LayerNorm in the graph so that it runs as one step (ops/layer_norm.ts):
 *
 * - the ONNX LayerNormalization op, with constant scale and bias, possibly between a
 *   DequantizeLinear and a QuantizeLinear;
 * - the decomposed form exporters write (PP-OCRv4's SVTR neck, opset 9–13 exports):
 *
 *     x ─┬─ ReduceMean ─[Q→DQ]─┐
 *        └──────────────────── Sub ─[Q→DQ]─┬─ Pow(·, c) | Mul(d, d) ─[Q→DQ]─ ReduceMean ─[Q→DQ]─ Add ε ─[Q→DQ]─ Sqrt ─[Q→DQ]─┐
 *                                          └───────────────────────────────────────────────────────────────────────── Div ─[Q→DQ]─ [Mul γ ─[Q→DQ]─] [Add β] ─ Q ─▶
 *
 *   over the last axis (keepdims), each [Q→DQ] optional, every intermediate value read only inside
 *   the pattern, ending in a per-tensor QuantizeLinear. The step reproduces each edge's rounding
 *   and, where the unfused compiler would run an integer table (a Sub, Mul or Add whose inputs
 *   are dequantized and whose output is quantized), the same table — so the fused program gives
 *   the same bytes as the unfused one. The decision rules below mirror compiler.ts's.
 *
 * Only the nodes of the pattern are absorbed: the input's DequantizeLinear and the constants'
 * DequantizeLinears stay (and are dropped as dead steps when nothing else reads them).
 */
import type { Node } from "../../graph/ir.js";
import { attr, floatAttr, intAttr } from "../../graph/ir.js";
import { reduceAxes } from "../../graph/op_arguments.js";
import { qRange } from "../../quant/dtype.js";
import { dequantizeTensor } from "../../quant/quantize.js";
import { type Tensor, toFloat32, toNumbers } from "../../tensor/tensor.js";
import { type Int8DType, isInt8DType } from "../../kernels/reference/common.js";
import type { Int8Backend } from "../backend.js";
import { binaryOpTable } from "../ops/binary.js";
import {
  type AffineStage, type DecomposedLayerNormPlan, type LayerNormalizationPlan, type OutputQuantization, type Rounding,
  decomposedLayerNorm, layerNormalization, layerNormalizationWithStatistics,
} from "../ops/layer_norm.js";
import type { Step } from "../program.js";
import type { GraphView } from "./graph_view.js";
import { type DequantizeInfo, type QuantizeInfo, type TensorQuant, asQParams, dequantTable, perTensor8 } from "./quant_nodes.js";
import { NotInteger } from "./quantized_op.js";

export interface LayerNormContext {
  view: GraphView;
  /** DequantizeLinear outputs with constant params → their info (compiler.ts's map). */
  dequantized: Map<string, DequantizeInfo>;
  /** QuantizeLinear nodes → their constant 8-bit params, when they have them. */
  quantizers: Map<Node, QuantizeInfo | undefined>;
  backend: Int8Backend;
}

export interface LayerNormMatch {
  step: Step;
  absorbed: Node[];
  /** The quantized output value and its params, when the step writes 8-bit. */
  output?: { value: string; dtype: Int8DType };
}

const f = Math.fround;

function outputQuantization(q: TensorQuant & { dtype: Int8DType }): OutputQuantization {
  const { qmin, qmax } = qRange(q.dtype);
  return { dtype: q.dtype, scale: f(q.scale[0]!), zeroPoint: q.zeroPoint[0]!, qmin, qmax };
}

/** A Q → DQ pair on an edge: the values after it, its nodes, and its two sets of params. */
interface Edge {
  values: string[];
  nodes: Node[];
  q?: QuantizeInfo & { quant: TensorQuant & { dtype: Int8DType } };
  dq?: DequantizeInfo & { quant: TensorQuant & { dtype: Int8DType } };
}

function rounding(edge: Edge): Rounding | undefined {
  if (!edge.q || !edge.dq) return undefined;
  return { ...outputQuantization(edge.q.quant), dequant: dequantTable(edge.dq.quant) };
}

export function matchLayerNorm(node: Node, ctx: LayerNormContext): LayerNormMatch | undefined {
  if (node.domain !== "") return undefined;
  if (node.opType === "LayerNormalization") return matchLayerNormalization(node, ctx);
  if (node.opType === "ReduceMean") return matchDecomposed(node, ctx);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Shared reading of the graph.

function helpers(ctx: LayerNormContext) {
  const { view, dequantized, quantizers } = ctx;
  const opset = view.opset;

  const perTensorQ = (n: Node | undefined) => {
    if (!n || n.opType !== "QuantizeLinear") return undefined;
    const q = quantizers.get(n);
    return q && perTensor8(q.quant) && !view.graphOutputs.has(q.output) ? (q as Edge["q"]) : undefined;
  };

  /** What follows a value: a Q whose output only DequantizeLinears (with equal params) read, or nothing. */
  const after = (value: string): Edge | undefined => {
    if (view.graphOutputs.has(value)) return undefined;
    const readers = view.readers(value);
    const q = readers.length === 1 ? perTensorQ(readers[0]) : undefined;
    if (!q) return readers.some((r) => r.opType === "QuantizeLinear") ? undefined : { values: [value], nodes: [] };
    if (view.readers(value)[0]!.inputs.filter((i) => i === value).length !== 1) return undefined;
    const dqs = view.readers(q.output);
    if (dqs.length === 0) return undefined;
    let first: DequantizeInfo | undefined;
    for (const d of dqs) {
      const info = d.opType === "DequantizeLinear" ? dequantized.get(d.outputs[0] ?? "") : undefined;
      if (!info || info.input !== q.output || !perTensor8(info.quant) || view.graphOutputs.has(d.outputs[0]!)) return undefined;
      if (first && (first.quant.scale[0] !== info.quant.scale[0] || first.quant.zeroPoint[0] !== info.quant.zeroPoint[0])) return undefined;
      first ??= info;
    }
    return { values: dqs.map((d) => d.outputs[0]!), nodes: [readers[0]!, ...dqs], q, dq: first as Edge["dq"] };
  };

  /** Distinct nodes reading any of the values. */
  const readersOf = (values: string[]): Node[] => [...new Set(values.flatMap((v) => view.readers(v)))];

  /** A constant input: its float values (a plain constant, or a DequantizeLinear of one) and, when quantized, its integers and params. */
  const constantOf = (name: string | undefined): { values: Float32Array; dims: number[]; quantized?: { tensor: Tensor; quant: TensorQuant } } | undefined => {
    if (!name) return undefined;
    const dq = dequantized.get(name);
    if (dq?.constant) {
      if (!isInt8DType(dq.quant.dtype)) return undefined;
      const values = dequantizeTensor(dq.constant, asQParams(dq.quant)).data as Float32Array;
      return { values, dims: dq.constant.dims, quantized: { tensor: dq.constant, quant: dq.quant } };
    }
    const c = view.constant(name);
    if (!c || (c.dtype !== "float32" && c.dtype !== "float64" && c.dtype !== "float16")) return undefined;
    return { values: Float32Array.from(toFloat32(c)), dims: c.dims };
  };

  /** ReduceMean over the last axis with keepdims, of a value of known rank. */
  const isLastAxisMean = (n: Node): boolean => {
    if (n.opType !== "ReduceMean" || n.domain !== "" || intAttr(n, "keepdims", 1) !== 1) return false;
    const rank = view.rankOf(n.inputs[0] ?? "");
    if (rank === undefined || rank === 0) return false;
    const axes = reduceAxes(n, opset, (name) => { const c = view.constant(name); return c ? toNumbers(c) : undefined; });
    if (!axes || axes.length !== 1) return false;
    return axes[0] === -1 || axes[0] === rank - 1;
  };

  return { after, readersOf, constantOf, perTensorQ, isLastAxisMean };
}

/** The input: the integers behind a per-tensor 8-bit DequantizeLinear, or the float value itself. */
function inputOf(ctx: LayerNormContext, value: string): { read: string; plan: { dtype: Int8DType; dequant: Float32Array } | "float32"; quant?: TensorQuant & { dtype: Int8DType } } | undefined {
  const dq = ctx.dequantized.get(value);
  if (dq && !dq.constant && perTensor8(dq.quant)) return { read: dq.input, plan: { dtype: dq.quant.dtype, dequant: dequantTable(dq.quant) }, quant: dq.quant };
  const dtype = ctx.view.dtypeOf(value);
  if (dtype !== undefined && dtype !== "float32") return undefined;
  return { read: value, plan: "float32" };
}

/** An integer table as the unfused compiler would build it, or undefined where it would run the op in float. */
function tableOrFloat(opType: "Sub" | "Mul" | "Add", a: TensorQuant | undefined, b: TensorQuant | undefined, out: TensorQuant | undefined): Uint8Array | undefined {
  if (!perTensor8(a) || !perTensor8(b) || !perTensor8(out)) return undefined;
  try {
    return binaryOpTable(opType, { a: asQParams(a), b: asQParams(b), output: asQParams(out) });
  } catch (e) {
    if (e instanceof NotInteger) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The decomposed form.

function matchDecomposed(mean1: Node, ctx: LayerNormContext): LayerNormMatch | undefined {
  const { view } = ctx;
  const h = helpers(ctx);
  if (!h.isLastAxisMean(mean1)) return undefined;
  const x = mean1.inputs[0]!;
  const input = inputOf(ctx, x);
  if (!input) return undefined;
  const absorbed: Node[] = [mean1];

  // mean → Sub(x, mean)
  const eMean = h.after(mean1.outputs[0]!);
  if (!eMean) return undefined;
  const subs = h.readersOf(eMean.values);
  const sub = subs[0];
  if (subs.length !== 1 || sub!.opType !== "Sub" || sub!.inputs[0] !== x || !eMean.values.includes(sub!.inputs[1]!)) return undefined;
  absorbed.push(...eMean.nodes, sub!);

  // d → square and Div
  const eDiff = h.after(sub!.outputs[0]!);
  if (!eDiff) return undefined;
  const dReaders = h.readersOf(eDiff.values);
  if (dReaders.length !== 2) return undefined;
  const isD = (v: string | undefined) => v !== undefined && eDiff.values.includes(v);
  const div = dReaders.find((n) => n.opType === "Div" && isD(n.inputs[0]) && !isD(n.inputs[1]));
  const sq = dReaders.find((n) => n !== div);
  if (!div || !sq) return undefined;
  let square: DecomposedLayerNormPlan["square"];
  let squareIsMul = false;
  if (sq.opType === "Pow" && isD(sq.inputs[0]) && !isD(sq.inputs[1])) {
    const c = h.constantOf(sq.inputs[1]);
    if (!c || c.values.length !== 1) return undefined;
    square = { exponent: c.values[0]! };
  } else if (sq.opType === "Mul" && isD(sq.inputs[0]) && isD(sq.inputs[1])) {
    squareIsMul = true;
    square = { exponent: 2 };
  } else return undefined;
  absorbed.push(...eDiff.nodes, sq);

  // square → ReduceMean
  const eSquare = h.after(sq.outputs[0]!);
  if (!eSquare) return undefined;
  const means = h.readersOf(eSquare.values);
  const mean2 = means[0];
  if (means.length !== 1 || !h.isLastAxisMean(mean2!) || !eSquare.values.includes(mean2!.inputs[0]!)) return undefined;
  absorbed.push(...eSquare.nodes, mean2!);

  // variance → Add ε
  const eVar = h.after(mean2!.outputs[0]!);
  if (!eVar) return undefined;
  const adds = h.readersOf(eVar.values);
  const addEps = adds[0];
  if (adds.length !== 1 || addEps!.opType !== "Add") return undefined;
  const varSlot = eVar.values.includes(addEps!.inputs[0]!) ? 0 : eVar.values.includes(addEps!.inputs[1]!) ? 1 : -1;
  if (varSlot < 0 || eVar.values.includes(addEps!.inputs[1 - varSlot]!)) return undefined;
  const eps = h.constantOf(addEps!.inputs[1 - varSlot]);
  if (!eps || eps.values.length !== 1) return undefined;
  absorbed.push(...eVar.nodes, addEps!);

  // var + ε → Sqrt → Div's divisor
  const eShifted = h.after(addEps!.outputs[0]!);
  if (!eShifted) return undefined;
  const roots = h.readersOf(eShifted.values);
  const sqrt = roots[0];
  if (roots.length !== 1 || sqrt!.opType !== "Sqrt" || !eShifted.values.includes(sqrt!.inputs[0]!)) return undefined;
  absorbed.push(...eShifted.nodes, sqrt!);
  const eRoot = h.after(sqrt!.outputs[0]!);
  if (!eRoot) return undefined;
  const divs = h.readersOf(eRoot.values);
  if (divs.length !== 1 || divs[0] !== div || !eRoot.values.includes(div.inputs[1]!)) return undefined;
  absorbed.push(...eRoot.nodes, div);

  // Div → [Mul γ] → [Add β] → Q (the output).
  const width = view.staticDim(x, -1);
  const stages: { node: Node; constantSlot: number; constant: NonNullable<ReturnType<typeof h.constantOf>>; edge: Edge }[] = [];
  let value = div.outputs[0]!;
  for (;;) {
    // A Mul/Add with a constant reading the value (through a Q → DQ pair or not) continues the
    // pattern; anything else ends it.
    const edge = h.after(value);
    if (!edge || stages.length === 2) break;
    const readers = h.readersOf(edge.values);
    const next = readers[0];
    if (readers.length !== 1 || (next!.opType !== "Mul" && next!.opType !== "Add") || next!.inputs.length !== 2) break;
    const slot = edge.values.includes(next!.inputs[0]!) ? 0 : edge.values.includes(next!.inputs[1]!) ? 1 : -1;
    if (slot < 0 || edge.values.includes(next!.inputs[1 - slot]!)) break;
    const c = h.constantOf(next!.inputs[1 - slot]);
    if (!c) break;
    const size = c.values.length;
    // [W] or [1, …, 1, W] (or one value): a per-column constant that does not raise the rank.
    const perColumn = c.dims.slice(0, -1).every((d) => d === 1) && (size === 1 || width === undefined || size === width);
    if (!perColumn || c.dims.length > (view.rankOf(x) ?? 0)) break;
    stages.push({ node: next!, constantSlot: 1 - slot, constant: c, edge });
    absorbed.push(...edge.nodes, next!);
    value = next!.outputs[0]!;
  }
  // The output: a per-tensor QuantizeLinear (its DequantizeLinears stay, reading the step's output).
  const outQ = view.readers(value).length === 1 ? h.perTensorQ(view.readers(value)[0]) : undefined;
  if (!outQ || view.graphOutputs.has(value)) return undefined;
  absorbed.push(view.readers(value)[0]!);

  // The plan, with the unfused compiler's choice of integer table or float for each op.
  const roundingOf = (e: Edge) => rounding(e);
  const plan: DecomposedLayerNormPlan = {
    input: input.plan,
    square,
    epsilon: eps.values[0]!,
    affine: [],
    output: outputQuantization(outQ.quant),
  };
  const set = <K extends keyof DecomposedLayerNormPlan>(key: K, v: DecomposedLayerNormPlan[K] | undefined) => { if (v !== undefined) plan[key] = v; };
  set("mean", roundingOf(eMean));
  set("difference", roundingOf(eDiff));
  set("squareRounding", roundingOf(eSquare));
  set("variance", roundingOf(eVar));
  set("shifted", roundingOf(eShifted));
  set("root", roundingOf(eRoot));
  // Sub(x, mean): both dequantized, output quantized → the integer Sub.
  set("subtractTable", eMean.dq && eDiff.q ? tableOrFloat("Sub", input.quant, eMean.dq.quant, eDiff.q.quant) : undefined);
  if (squareIsMul && eDiff.dq && eSquare.q) {
    const table = tableOrFloat("Mul", eDiff.dq.quant, eDiff.dq.quant, eSquare.q.quant);
    if (table) plan.square = { table };
  }
  // Each γ/β stage reads the value after the previous edge (the Div's, then the stage's).
  const edgesAfterStages = [...stages.slice(1).map((s) => s.edge), undefined];
  if (stages.length > 0) set("normalized", roundingOf(stages[0]!.edge));
  stages.forEach((s, i) => {
    const inputEdge = s.edge;
    const outputEdge = edgesAfterStages[i];
    const outQuant = outputEdge ? outputEdge.q?.quant : outQ.quant;
    const stage: AffineStage = { op: s.node.opType as "Mul" | "Add", constant: s.constant.values, constantFirst: s.constantSlot === 0 };
    if (s.constant.values.length > 1 && s.constant.quantized && inputEdge.dq && outQuant) {
      const q = s.constant.quantized;
      const a = s.constantSlot === 0 ? q.quant : inputEdge.dq.quant;
      const b = s.constantSlot === 0 ? inputEdge.dq.quant : q.quant;
      const table = tableOrFloat(stage.op, a, b, outQuant);
      if (table) {
        const bytes = new Uint8Array(q.tensor.data.length);
        const ints = toNumbers(q.tensor);
        for (let k = 0; k < bytes.length; k++) bytes[k] = ints[k]! & 0xff;
        stage.table = { table, bytes };
      }
    }
    if (outputEdge) {
      const r = roundingOf(outputEdge);
      if (r) stage.rounding = r;
    }
    plan.affine.push(stage);
  });
  if (!validPlan(plan)) return undefined;
  const kernel = decomposedLayerNorm(plan, ctx.backend, width);
  const outDType = outQ.quant.dtype;
  const step: Step = {
    nodes: absorbed.map((n) => n.name || n.opType),
    opType: "LayerNorm",
    kind: "float",
    inputs: [input.read],
    outputs: [outQ.output],
    run: ([t]) => [kernel(t!)],
  };
  return { step, absorbed, output: { value: outQ.output, dtype: outDType } };
}

/** Tables need the byte of their input: every table stage's input must be rounded. */
function validPlan(plan: DecomposedLayerNormPlan): boolean {
  let rounded = plan.normalized !== undefined;
  for (const s of plan.affine) {
    if (s.table && !rounded) return false;
    rounded = s.rounding !== undefined;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The ONNX LayerNormalization op.

function matchLayerNormalization(node: Node, ctx: LayerNormContext): LayerNormMatch | undefined {
  const { view } = ctx;
  const h = helpers(ctx);
  // The optional Mean and InvStdDev outputs, when something reads them (float32 statistics).
  const statistics = node.outputs.slice(1).some((o) => o && (view.readers(o).length > 0 || view.graphOutputs.has(o)));
  if (intAttr(node, "stash_type", 1) !== 1) return undefined;
  const x = node.inputs[0];
  if (!x) return undefined;
  const input = inputOf(ctx, x);
  const scale = h.constantOf(node.inputs[1]);
  const bias = node.inputs[2] ? h.constantOf(node.inputs[2]) : undefined;
  if (!input || !scale || (node.inputs[2] && !bias)) return undefined;
  const y = node.outputs[0]!;
  const readers = view.readers(y);
  const q = readers.length === 1 && !view.graphOutputs.has(y) ? h.perTensorQ(readers[0]) : undefined;
  const plan: LayerNormalizationPlan = {
    input: input.plan,
    axis: attr(node, "axis", "int") ?? -1,
    epsilon: floatAttr(node, "epsilon", 1e-5),
    scale: scale.values,
    output: q ? outputQuantization(q.quant) : "float32",
  };
  if (bias) plan.bias = bias.values;
  const absorbed = q ? [node, readers[0]!] : [node];
  let run: Step["run"];
  if (statistics) {
    const kernel = layerNormalizationWithStatistics(plan, ctx.backend);
    run = ([t]) => kernel(t!);
  } else {
    const kernel = layerNormalization(plan, ctx.backend);
    run = ([t]) => [kernel(t!)];
  }
  const step: Step = {
    nodes: absorbed.map((n) => n.name || n.opType),
    opType: "LayerNormalization",
    kind: "float",
    inputs: [input.read],
    outputs: statistics ? [q ? q.output : y, node.outputs[1] ?? "", node.outputs[2] ?? ""] : [q ? q.output : y],
    run,
  };
  return q ? { step, absorbed, output: { value: q.output, dtype: q.quant.dtype } } : { step, absorbed };
}
