/**
 * QDQ ONNX export: the float graph with QuantizeLinear → DequantizeLinear pairs on every quantized
 * activation and DequantizeLinear on quantized weights and biases (stored as integer initializers,
 * so the file is ~4× smaller). ONNX Runtime's QDQ transformer turns DQ → op → Q groups into its
 * integer kernels (QLinearConv, QLinearMatMul, QLinearAdd, ...), and TensorRT reads the same
 * layout as explicit quantization.
 *
 * Layout rules (ONNX Runtime, "Quantize ONNX models", QDQ format):
 * - an activation gets one Q → DQ right after its producer; all readers read the DQ output;
 * - a graph output that is quantized keeps its name on the DQ output (the float producer's
 *   output is renamed), so the model's interface is unchanged;
 * - weights: int8 initializer + DequantizeLinear (axis = output-channel axis when per channel);
 * - biases: int32 initializer with scale input_scale · weight_scale, zero point 0.
 */
import { cloneModel, onnxOpset, removeDeadNodes, topologicalOrder, uniqueName, usedNames, type Graph, type Model, type Node } from "../graph/ir.js";
import { quantizeBias } from "../quant/bias.js";
import type { QParams } from "../quant/qparams.js";
import { quantizeTensor } from "../quant/quantize.js";
import { quantizeWeight } from "../quant/weights.js";
import { EXCLUDED_BY_USER, type QuantPlan } from "../plan/plan.js";
import { arrayTypeOf, toFloat32, type DType, type Tensor, type TypedArray } from "../tensor/tensor.js";

export interface QdqExport {
  model: Model;
  /** Params of every quantized tensor, by the tensor's name in the float model. */
  params: Map<string, QParams>;
  warnings: string[];
}

export function exportQdq(floatModel: Model, plan: QuantPlan, activationParams: Map<string, QParams>): QdqExport {
  const model = cloneModel(floatModel);
  const graph = model.graph;
  const opset = onnxOpset(model);
  const warnings: string[] = [];
  const params = new Map(activationParams);
  const taken = usedNames(graph);
  const newNodes: Node[] = [];
  const rewire = new Map<string, string>(); // float tensor name → name readers should use instead
  const floatValue = new Map<string, string>(); // quantized activation → where its float value still is

  const addInit = (base: string, t: Tensor) => {
    const name = uniqueName(graph, base, taken);
    graph.initializers.set(name, t);
    return name;
  };
  /** Scale and zero-point initializers; the zero point's dtype sets the quantized dtype in ONNX. */
  const addParams = (base: string, qp: QParams, zeroPointDType: DType = qp.dtype) => {
    const dims = qp.axis !== undefined ? [qp.scale.length] : [];
    const scale = addInit(`${base}_scale`, { dtype: "float32", dims, data: Float32Array.from(qp.scale) });
    const zp = addInit(`${base}_zero_point`, { dtype: zeroPointDType, dims, data: integerArray(zeroPointDType, qp.zeroPoint) });
    return { scale, zp };
  };
  const dequantizeNode = (input: string, qp: QParams, output: string, base: string, zeroPointDType?: DType) => {
    const { scale, zp } = addParams(base, qp, zeroPointDType);
    const node: Node = {
      name: uniqueName(graph, `${base}_DequantizeLinear`, taken),
      opType: "DequantizeLinear",
      domain: "",
      inputs: [input, scale, zp],
      outputs: [output],
      attributes: new Map(qp.axis !== undefined ? [["axis", { kind: "int" as const, value: qp.axis }]] : []),
    };
    newNodes.push(node);
  };

  if ([...plan.weights.values()].some((w) => w.axis !== undefined) && opset < 13) {
    throw new Error(`per-channel weights need opset ≥ 13 (DequantizeLinear axis); the model is opset ${opset}: upgrade it first`);
  }

  // Weights: integer initializers + DequantizeLinear.
  const weightParams = new Map<string, QParams>();
  for (const w of plan.weights.values()) {
    const float = graph.initializers.get(w.name)!;
    const opts = { dtype: w.format.dtype, symmetric: w.format.symmetric, narrow: w.format.narrow, ...(w.axis !== undefined ? { axis: w.axis } : {}) };
    let { q, qparams } = quantizeWeight(float, opts);
    const widened = widenScalesForBias(qparams, biasesOf(plan, w.name, graph, params));
    if (widened.length) {
      q = quantizeTensor(float, qparams);
      warnings.push(`weight ${w.name}: scale of channel(s) ${widened.join(", ")} widened so that the bias fits int32`);
    }
    const stored = storableWeight(q, opset, warnings, w.name);
    graph.initializers.delete(w.name);
    const qName = addInit(`${w.name}_quantized`, stored);
    const dq = uniqueName(graph, `${w.name}_dequantized`, taken);
    dequantizeNode(qName, { ...qparams, dtype: stored.dtype as QParams["dtype"] }, dq, w.name);
    rewire.set(w.name, dq);
    weightParams.set(w.name, qparams);
    params.set(w.name, qparams);
  }

  // Biases: int32, scale = input scale × weight scale (per channel).
  for (const b of plan.biases.values()) {
    const inputParams = params.get(b.input);
    const wp = weightParams.get(b.weight);
    if (!inputParams || !wp) continue; // input not quantized: the bias stays float
    const float = graph.initializers.get(b.name)!;
    const qb = quantizeBias(toFloat32(float), inputParams.scale[0]!, wp.scale);
    if (qb.saturatedChannels.length) {
      warnings.push(`bias ${b.name} of ${b.node}: channels ${qb.saturatedChannels.join(", ")} saturate int32 (input or weight scale too small)`);
    }
    graph.initializers.delete(b.name);
    const qName = addInit(`${b.name}_quantized`, { dtype: "int32", dims: float.dims, data: qb.values });
    const dq = uniqueName(graph, `${b.name}_dequantized`, taken);
    const perChannel = qb.scale.length > 1;
    const bqp: QParams = { dtype: "int8", scale: qb.scale, zeroPoint: new Int32Array(qb.scale.length), ...(perChannel ? { axis: 0 } : {}) };
    dequantizeNode(qName, bqp, dq, b.name, "int32");
    rewire.set(b.name, dq);
  }

  for (const [name, qp] of activationParams) {
    if ((qp.dtype === "int4" || qp.dtype === "uint4") && opset < 21) {
      throw new Error(`activation ${name}: ${qp.dtype} QuantizeLinear needs opset 21; the model is opset ${opset}`);
    }
  }

  const foldsByOutput = new Map(plan.scaleFolds.map((f) => [f.output, f]));
  const foldedNodes = new Set(plan.scaleFolds.map((f) => f.node));
  graph.nodes = graph.nodes.filter((n) => !foldedNodes.has(n.name));

  // Activations: constants become integer initializers + DQ; computed tensors get Q → DQ.
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  for (const [name, qp] of activationParams) {
    const base = sanitize(name);
    if (graph.initializers.has(name)) {
      const q = quantizeTensor(graph.initializers.get(name)!, qp);
      const qName = addInit(`${base}_quantized`, q);
      const dq = uniqueName(graph, `${base}_dequantized`, taken);
      dequantizeNode(qName, qp, dq, base);
      rewire.set(name, dq);
      continue;
    }
    const fold = foldsByOutput.get(name);
    let source = fold ? fold.input : name;
    let dqOut = uniqueName(graph, `${base}_DequantizeLinear_Output`, taken);
    if (graphOutputs.has(name)) {
      // Keep the interface: the DQ output takes the graph output's name.
      source = uniqueName(graph, `${base}_float`, taken);
      for (const n of graph.nodes) n.outputs = n.outputs.map((o) => (o === name ? source : o));
      dqOut = name;
      if (!fold) floatValue.set(name, source);
    } else {
      rewire.set(name, dqOut);
      if (!fold) floatValue.set(name, name);
    }
    const { scale, zp } = addParams(base, qp);
    // A folded x·factor quantizes x with scale s/factor: the same integers as quantizing x·factor with s.
    const qScale = fold ? addInit(`${base}_folded_scale`, { dtype: "float32", dims: [], data: Float32Array.of(qp.scale[0]! / fold.factor) }) : scale;
    const qZeroPoint = fold?.offset
      ? addInit(`${base}_folded_zero_point`, { dtype: qp.dtype, dims: [], data: integerArray(qp.dtype, Int32Array.of(qp.zeroPoint[0]! + Math.round(fold.offset / qp.scale[0]!))) })
      : zp;
    const qOut = uniqueName(graph, `${base}_QuantizeLinear_Output`, taken);
    newNodes.push({
      name: uniqueName(graph, `${base}_QuantizeLinear`, taken), opType: "QuantizeLinear", domain: "",
      inputs: [source, qScale, qZeroPoint], outputs: [qOut], attributes: new Map(),
    });
    newNodes.push({
      name: uniqueName(graph, `${base}_DequantizeLinear`, taken), opType: "DequantizeLinear", domain: "",
      inputs: [qOut, scale, zp], outputs: [dqOut], attributes: new Map(),
    });
  }

  // A Conv/Gemm/MatMul with constant weights that the user (or the mixed-precision search) excluded
  // reads the float activation, not its DQ: fed by a DQ, ONNX Runtime's WeightBiasQuantization would
  // quantize its float weights per tensor behind the user's back
  // (qdq_transformer/weight_bias_quantization.cc); ONNX Runtime's own quantizer treats
  // nodes_to_exclude the same way.
  const excludedNodes = new Set(plan.floatNodes.filter((f) => f.reason === EXCLUDED_BY_USER).map((f) => f.name));
  const keepsFloat = (n: Node) =>
    excludedNodes.has(n.name) && weightedOps.has(n.opType) && n.inputs.slice(1).some((i) => floatModel.graph.initializers.has(i));
  for (const n of graph.nodes) {
    const floatReader = keepsFloat(n);
    n.inputs = n.inputs.map((i) => (floatReader && floatValue.has(i) ? floatValue.get(i)! : rewire.get(i) ?? i));
  }
  graph.nodes.push(...newNodes);
  graph.nodes = topologicalOrder(graph);
  // Q/DQ pairs that only float readers needed are now unread.
  removeDeadNodes(graph);
  // Shapes of renamed/rewired intermediates are re-inferred by runtimes; stale entries would mislead.
  graph.valueInfo.clear();
  model.producerName = "octet";
  return { model, params, warnings };
}

const INT32_MAX = 2 ** 31 - 1;

/** Ops whose constant weights ONNX Runtime quantizes by itself when their input comes from a DQ. */
const weightedOps = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** The float biases quantized with this weight, with the scale of the input they are added to. */
function biasesOf(plan: QuantPlan, weight: string, graph: Graph, params: Map<string, QParams>) {
  const out: { bias: Float32Array; inputScale: number }[] = [];
  for (const b of plan.biases.values()) {
    const input = params.get(b.input);
    if (b.weight === weight && input) out.push({ bias: toFloat32(graph.initializers.get(b.name)!), inputScale: input.scale[0]! });
  }
  return out;
}

/**
 * A bias is stored as int32 with scale input_scale × weight_scale; a channel whose weights are
 * tiny next to its bias would overflow int32. Widen that channel's weight scale (in place) until
 * the bias fits, as ONNX Runtime's quantizer does (qdq_quantizer.py, "adjust weight scale for int32
 * bias"); returns the widened channels.
 */
function widenScalesForBias(qp: QParams, biases: { bias: Float32Array; inputScale: number }[]): number[] {
  const widened = new Set<number>();
  for (const { bias, inputScale } of biases) {
    for (let c = 0; c < bias.length; c++) {
      const i = qp.scale.length === 1 ? 0 : c;
      const needed = Math.fround((Math.abs(bias[c]!) / (inputScale * INT32_MAX)) * 1.0001);
      if (qp.scale[i]! < needed) {
        qp.scale[i] = needed;
        widened.add(i);
      }
    }
  }
  return [...widened].sort((a, b) => a - b);
}

function integerArray(dtype: DType, values: Int32Array): TypedArray {
  const Ctor = arrayTypeOf(dtype) as unknown as { from(v: ArrayLike<number>): TypedArray };
  return Ctor.from(values);
}

/** int4 needs opset 21 (ONNX INT4); older models keep 4-bit values in int8 storage. */
function storableWeight(q: Tensor, opset: number, warnings: string[], name: string): Tensor {
  if ((q.dtype === "int4" || q.dtype === "uint4") && opset < 21) {
    warnings.push(`weight ${name}: ${q.dtype} values stored in ${q.dtype === "int4" ? "int8" : "uint8"} (ONNX INT4 needs opset 21; the model is ${opset})`);
    return { dtype: q.dtype === "int4" ? "int8" : "uint8", dims: q.dims, data: q.data };
  }
  return q;
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_.\-/]/g, "_");
}
