/**
 * The graph compiler: a quantized ONNX model (QDQ, QOperator, or a mix) → a Program of integer
 * kernels, with the float remainder in between.
 *
 * Walking the nodes in topological order, each node is, in this order of preference:
 *
 * 1. a QOperator node (QLinearConv, QLinearAdd, …) → one integer step;
 * 2. the start of an element-wise chain of one 8-bit tensor ending in a QuantizeLinear
 *    (DQ → Add(3) → Clip → Q, DQ → Sigmoid → Q, DQ → Q requantization) → one table step;
 * 3. an op with an integer kernel whose inputs come from DequantizeLinear nodes (constant params)
 *    and whose only reader is a QuantizeLinear, possibly through a Relu/Clip that becomes the
 *    kernel's clamp → one integer step consuming the integers behind the DequantizeLinears and
 *    producing the QuantizeLinear's output directly;
 * 4. anything else → a float step (DequantizeLinear and QuantizeLinear nodes are float steps too,
 *    "boundary" steps, needed only where float values meet the integer part).
 *
 * Steps whose outputs nothing needs (the DequantizeLinears an integer step bypassed) are dropped
 * at the end. All floating-point preparation (multipliers, tables, packed weights) happens here, or,
 * for what depends on the input's shape (Resize coordinates, SAME pads), on the first run with a shape.
 */
import type { Dim, Model, Node } from "../../graph/ir.js";
import { clipBounds } from "../../graph/op_arguments.js";
import type { FusedActivation } from "../../kernels/reference/common.js";
import { type Tensor, toNumbers } from "../../tensor/tensor.js";
import type { Int8Backend } from "../backend.js";
import { floatStep } from "../float_ops.js";
import { buildBinary } from "../ops/binary.js";
import type { BuildContext, OpBuilder } from "../ops/context.js";
import { buildConv, buildConvTranspose } from "../ops/conv.js";
import { buildLookup } from "../ops/lookup.js";
import { buildGemm, buildMatMul } from "../ops/matmul.js";
import { MOVEMENT_OPS, buildConcat, buildMovement, buildPad, buildResize } from "../ops/movement.js";
import { buildAveragePool, buildGlobalAveragePool, buildMaxPool } from "../ops/pooling.js";
import { buildSoftmax } from "../ops/softmax.js";
import type { Program, Step } from "../program.js";
import { fuseTables } from "./fuse_tables.js";
import { fuseSoftmax } from "./fuse_softmax.js";
import { fuseMaxPool } from "./fuse_max_pool.js";
import { GraphView } from "./graph_view.js";
import { isQOperator, lowerQOperator } from "./qoperator.js";
import { matchLayerNorm } from "./layer_norm.js";
import { type DequantizeInfo, type QuantizeInfo, dequantTable, nodeLabel, perTensor8, readDequantize, readQuantize } from "./quant_nodes.js";
import { NotInteger, type OpInput, type QuantizedOp } from "./quantized_op.js";
import { type FloatFunction, unaryView } from "./unary_functions.js";

const BUILDERS: Record<string, OpBuilder> = {
  Conv: buildConv,
  ConvTranspose: buildConvTranspose,
  MatMul: buildMatMul,
  Gemm: buildGemm,
  Add: buildBinary,
  Sub: buildBinary,
  Mul: buildBinary,
  MaxPool: buildMaxPool,
  AveragePool: buildAveragePool,
  GlobalAveragePool: buildGlobalAveragePool,
  Concat: buildConcat,
  Pad: buildPad,
  Resize: buildResize,
  Softmax: buildSoftmax,
};
for (const op of MOVEMENT_OPS) BUILDERS[op] = buildMovement;

/** Ops whose integer kernel can absorb a following Relu/Clip as its output clamp. */
const TAKES_ACTIVATION = new Set(["Conv", "ConvTranspose", "MatMul", "Gemm", "Add", "Sub", "Mul"]);

/** Op types whose outputs are shapes/indices rather than data: reported apart from float compute. */
const INTEGER_RESULT_DTYPES = new Set(["int64", "int32", "bool", "uint64"]);

export interface StepSummary {
  opType: string;
  kind: Step["kind"];
  nodes: string[];
}

export interface FloatNode {
  node: string;
  opType: string;
  /** Why it is not an integer step. */
  reason: string;
}

export interface CompileReport {
  backend: string;
  steps: StepSummary[];
  /** Steps by kind. */
  counts: { integer: number; float: number; boundary: number; shape: number };
  /** Ops that compute in float32 (between DequantizeLinear and QuantizeLinear), with the reason. */
  floatNodes: FloatNode[];
  /** Shape/index arithmetic (int64 Shape, Gather, Concat, …) — neither integer kernels nor float math. */
  shapeNodes: string[];
  warnings: string[];
}

export interface CompileOptions {
  backend: Int8Backend;
  /** Concrete shapes for graph inputs with dynamic dims (only used to check shapes at compile time). */
  inputShapes?: Record<string, Dim[]>;
  /**
   * Fusions that give the same values as the steps they merge (default: all on). Turning one off
   * compiles those nodes one by one, which is what the tests compare the fused program with.
   */
  fusions?: CompileFusions;
}

export interface CompileFusions {
  /** LayerNorm (the LayerNormalization op, or its decomposed ReduceMean/Sub/Pow/… form) as one step (compile/layer_norm.ts). */
  layerNorm?: boolean;
  /** A bias before and a DequantizeLinear after an integer Softmax, in the Softmax's kernel (compile/fuse_softmax.ts; backends with fusedSoftmax only). */
  softmax?: boolean;
  /** A convolution and the MaxPool reading it as one kernel (compile/fuse_max_pool.ts; backends with convMaxPool only). */
  maxPool?: boolean;
}

interface OutputMatch {
  q: QuantizeInfo;
  nodes: Node[];
  activation?: FusedActivation;
}

export function compileModel(model: Model, options: CompileOptions): { program: Program; report: CompileReport } {
  const view = new GraphView(model, options.inputShapes);
  const warnings: string[] = [];
  const ctx: BuildContext = { view, backend: options.backend, warn: (m) => { if (!warnings.includes(m)) warnings.push(m); } };
  const opset = view.opset;

  // Every Q/DQ node is read (and checked) up front, so malformed params fail here with the node's name.
  const dequantized = new Map<string, DequantizeInfo>();
  const quantizers = new Map<Node, QuantizeInfo | undefined>();
  for (const node of view.order) {
    if (node.opType === "DequantizeLinear") {
      const info = readDequantize(view, node);
      if (info && node.outputs[0]) dequantized.set(node.outputs[0], info);
    } else if (node.opType === "QuantizeLinear") {
      quantizers.set(node, readQuantize(view, node));
    }
  }

  const classify = (name: string | undefined): OpInput | undefined => {
    if (!name) return undefined;
    const dq = dequantized.get(name);
    if (dq) return dq.constant
      ? { kind: "quantized", value: dq.input, quant: dq.quant, constant: dq.constant }
      : { kind: "quantized", value: dq.input, quant: dq.quant };
    const c = view.constant(name);
    if (c) return { kind: "constant", value: name, tensor: c };
    return { kind: "runtime", value: name };
  };

  const perTensorQuantizer = (node: Node | undefined): QuantizeInfo | undefined => {
    if (!node || node.opType !== "QuantizeLinear") return undefined;
    const q = quantizers.get(node);
    return q && q.quant.scale.length === 1 ? q : undefined;
  };

  // dtypes of values the integer steps produce (shape inference knows nothing of contrib ops).
  const knownDTypes = new Map<string, string>();
  const dtypeOf = (name: string) => knownDTypes.get(name) ?? view.dtypeOf(name);
  const record = (op: QuantizedOp) => { for (const o of op.outputs) knownDTypes.set(o.value, o.quant.dtype); };

  const matchOutput = (value: string, allowActivation: boolean): OutputMatch | undefined => {
    const reader = view.soleReader(value);
    const q = perTensorQuantizer(reader);
    if (q) return { q, nodes: [reader!] };
    if (!allowActivation || !reader || reader.domain !== "") return undefined;
    let activation: FusedActivation | undefined;
    if (reader.opType === "Relu") activation = { kind: "relu" };
    if (reader.opType === "Clip") {
      const bounds = clipBounds(reader, opset, (name) => {
        const c = view.constant(name);
        if (c) return toNumbers(c);
        const dq = dequantized.get(name);
        if (dq?.constant) return toNumbers(dq.constant).map((v) => Math.fround((v - dq.quant.zeroPoint[0]!) * dq.quant.scale[0]!));
        return undefined;
      });
      if (bounds) activation = { kind: "clip", min: bounds.min, max: bounds.max };
    }
    if (!activation) return undefined;
    const next = view.soleReader(reader.outputs[0]!);
    const q2 = perTensorQuantizer(next);
    if (!q2) return undefined;
    return { q: q2, nodes: [reader, next!], activation };
  };

  /** DQ → f1 → f2 → … → Q starting at `node`, as one table step. */
  const tryLookupChain = (node: Node, inputs: (OpInput | undefined)[]): { step: Step; absorbed: Node[] } | undefined => {
    const first = unaryView(node, inputs, opset);
    if (!first) return undefined;
    const data = inputs[first.dataInput];
    if (!data || data.kind !== "quantized" || data.constant) return undefined;
    const chain: Node[] = [node];
    const fns: FloatFunction[] = [first.fn];
    const constantDims = [...first.constantDims];
    let value = node.outputs[0]!;
    for (;;) {
      const reader = view.soleReader(value);
      if (!reader) return undefined;
      const q = perTensorQuantizer(reader);
      if (q) {
        const composed: FloatFunction = (x) => fns.reduce((v, f) => f(v), x);
        const op: QuantizedOp = {
          opType: "LookupTable", node, nodes: [...chain, reader], inputs, outputs: [{ value: q.output, quant: q.quant }],
        };
        try {
          const step = buildLookup(op, ctx, { fn: composed, dataInput: first.dataInput, constantDims, opTypes: chain.map((n) => n.opType) });
          record(op);
          return { step, absorbed: [...chain, reader] };
        } catch (e) {
          if (e instanceof NotInteger) return undefined;
          throw e;
        }
      }
      const readerInputs = reader.inputs.map((name) => (name === value ? { kind: "runtime" as const, value } : classify(name)));
      const next = unaryView(reader, readerInputs, opset);
      if (!next || reader.inputs[next.dataInput] !== value) return undefined;
      chain.push(reader);
      fns.push(next.fn);
      constantDims.push(...next.constantDims);
      value = reader.outputs[0]!;
    }
  };

  const tryInteger = (node: Node): { step: Step; absorbed: Node[] } | { reason: string } => {
    try {
      if (isQOperator(node)) {
        const op = lowerQOperator(view, node);
        record(op);
        if (op.opType === "Sigmoid" || op.opType === "LeakyRelu") {
          const fnView = unaryView({ ...node, opType: op.opType, domain: "", inputs: ["x"] }, [{ kind: "runtime", value: "x" }], opset)!;
          return { step: buildLookup(op, ctx, { fn: fnView.fn, dataInput: 0, constantDims: [], opTypes: [op.opType] }), absorbed: [node] };
        }
        return { step: BUILDERS[op.opType]!(op, ctx), absorbed: [node] };
      }
      if (node.domain !== "") return { reason: `custom-domain op ${node.domain}.${node.opType} has no integer kernel` };
      const inputs = node.inputs.map(classify);
      const chain = tryLookupChain(node, inputs);
      if (chain) return chain;
      const builder = BUILDERS[node.opType];
      if (!builder) return { reason: "no integer kernel for this op" };
      const outputs = node.outputs.filter((o) => o);
      const matches = outputs.map((o) => matchOutput(o, TAKES_ACTIVATION.has(node.opType) && outputs.length === 1));
      if (matches.some((m) => !m)) return { reason: "its output is not quantized (no QuantizeLinear reads it)" };
      if (!inputs.some((i) => i?.kind === "quantized")) return { reason: "its inputs are not quantized (no DequantizeLinear feeds it)" };
      const op: QuantizedOp = {
        opType: node.opType, node, nodes: [node, ...matches.flatMap((m) => m!.nodes)], inputs,
        outputs: matches.map((m) => ({ value: m!.q.output, quant: m!.q.quant })),
        ...(matches[0]!.activation ? { activation: matches[0]!.activation } : {}),
      };
      const step = builder(op, ctx);
      record(op);
      return { step, absorbed: op.nodes };
    } catch (e) {
      if (e instanceof NotInteger) return { reason: e.reason };
      throw e;
    }
  };

  const candidates: Step[] = [];
  const floatReasons = new Map<Step, string>();
  const missing = new Map<Step, string>();
  const absorbed = new Set<Node>();

  const pushFloat = (node: Node, reason: string | undefined) => {
    // Shape and Size read only dims: read the integers behind a DequantizeLinear instead of
    // dequantizing a tensor just to measure it.
    let inputs = node.inputs;
    if ((node.opType === "Shape" || node.opType === "Size") && node.domain === "") {
      const dq = dequantized.get(node.inputs[0] ?? "");
      if (dq) inputs = [dq.input, ...node.inputs.slice(1)];
    }
    const step = floatStep(node, opset, inputs, options.backend);
    const dq = node.opType === "DequantizeLinear" ? dequantized.get(node.outputs[0] ?? "") : undefined;
    if (step && dq && !dq.constant && perTensor8(dq.quant)) {
      step.facts = { kind: "dequantize", inputDType: dq.quant.dtype, values: dequantTable(dq.quant) };
    }
    if (step && MOVEMENT_OPS.has(node.opType) && node.domain === "" && ["int8", "uint8"].includes(dtypeOf(node.inputs[0] ?? "") ?? "")) {
      // Moving 8-bit integers (e.g. a Reshape between QOperator nodes) is integer work.
      step.kind = "integer";
    }
    if (step) {
      candidates.push(step);
      if (reason !== undefined) floatReasons.set(step, reason);
      return;
    }
    const placeholder: Step = {
      nodes: [node.name || node.opType], opType: node.opType, kind: "float", inputs: node.inputs, outputs: node.outputs,
      run: () => { throw new Error(`${nodeLabel(node)} has no implementation`); },
    };
    candidates.push(placeholder);
    missing.set(placeholder, `${nodeLabel(node)}: ${reason ?? "no implementation"}, and octet has no float implementation of it either`);
  };

  for (const node of view.order) {
    if (absorbed.has(node)) continue;
    if (node.opType === "Constant" && node.domain === "") continue;
    if ((node.opType === "QuantizeLinear" || node.opType === "DequantizeLinear") && (node.domain === "" || node.domain === "com.microsoft")) {
      pushFloat(node, undefined);
      continue;
    }
    if (options.fusions?.layerNorm !== false && (node.opType === "ReduceMean" || node.opType === "LayerNormalization")) {
      const ln = matchLayerNorm(node, { view, dequantized, quantizers, backend: options.backend });
      if (ln) {
        candidates.push(ln.step);
        floatReasons.set(ln.step, "LayerNorm statistics (mean, variance, square root) run in float, fused into one step");
        for (const n of ln.absorbed) absorbed.add(n);
        if (ln.output) knownDTypes.set(ln.output.value, ln.output.dtype);
        continue;
      }
    }
    const attempt = tryInteger(node);
    if ("step" in attempt) {
      candidates.push(attempt.step);
      for (const n of attempt.absorbed) absorbed.add(n);
    } else {
      pushFloat(node, attempt.reason);
    }
  }

  // Keep only the steps some graph output depends on.
  const needed = new Set(model.graph.outputs.map((v) => v.name));
  const kept: Step[] = [];
  for (let i = candidates.length - 1; i >= 0; i--) {
    const step = candidates[i]!;
    if (!step.outputs.some((o) => needed.has(o))) continue;
    kept.push(step);
    for (const v of step.inputs) if (v) needed.add(v);
  }
  kept.reverse();
  const graphOutputs = new Set(model.graph.outputs.map((v) => v.name));
  const poolFused = options.fusions?.maxPool === false ? kept : fuseMaxPool(kept, graphOutputs, options.backend);
  const softmaxFused = options.fusions?.softmax === false ? poolFused : fuseSoftmax(poolFused, graphOutputs, options.backend);
  const fused = fuseTables(softmaxFused, graphOutputs, options.backend);
  kept.length = 0;
  kept.push(...fused);
  const problems = kept.filter((s) => missing.has(s)).map((s) => missing.get(s)!);
  if (problems.length > 0) throw new Error(`cannot run this model:\n  ${problems.join("\n  ")}`);

  const constants = new Map<string, Tensor>();
  for (const step of kept) for (const v of step.inputs) if (v && view.constants.has(v)) constants.set(v, view.constants.get(v)!);
  for (const o of model.graph.outputs) if (view.constants.has(o.name)) constants.set(o.name, view.constants.get(o.name)!);

  const floatNodes: FloatNode[] = [];
  const shapeNodes: string[] = [];
  const counts = { integer: 0, float: 0, boundary: 0, shape: 0 };
  for (const step of kept) {
    const shapeLike = step.kind === "float" && step.outputs.every((o) => !o || INTEGER_RESULT_DTYPES.has(view.dtypeOf(o) ?? ""));
    if (shapeLike) {
      counts.shape++;
      shapeNodes.push(`${step.nodes[0]} (${step.opType})`);
      continue;
    }
    counts[step.kind]++;
    if (step.kind === "float") {
      floatNodes.push({ node: step.nodes[0]!, opType: step.opType, reason: floatReasons.get(step) ?? "not quantized" });
    }
  }
  const report: CompileReport = {
    backend: options.backend.name,
    steps: kept.map((s) => ({ opType: s.opType, kind: s.kind, nodes: s.nodes })),
    counts, floatNodes, shapeNodes, warnings,
  };
  const inputNames = [...view.graphInputs];
  return {
    program: { steps: kept, inputNames, outputNames: model.graph.outputs.map((v) => v.name), constants },
    report,
  };
}
