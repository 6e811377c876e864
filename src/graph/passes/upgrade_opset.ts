/**
 * Upgrades a model to a newer ai.onnx opset, exactly: every node is rewritten into the form the
 * target opset defines with the same results. Each opset step at which a node's op has a new schema
 * version (opset_history.ts) either needs nothing (types added, compatible defaults) or has an
 * adapter below; the adapters follow the changes listed in the ONNX Changelog and the steps the
 * ONNX version converter registers (onnx/version_converter/convert.h). Where the ONNX converter is
 * not exact, octet is:
 *  - Softmax/LogSoftmax/Hardmax 12→13: before 13 the input is coerced to 2-D at `axis` and
 *    normalised over everything from `axis` on; from 13 only over `axis`. These agree when `axis`
 *    is the last axis, which is checked with shape inference; otherwise the node becomes
 *    Reshape(Softmax-13(Flatten(x, axis), axis = 1), Shape(x)), which is the pre-13 definition.
 *  - Resize 10→11: Resize-10 sampled with asymmetric coordinates; Resize-11 defaults to half_pixel,
 *    so the mode is written explicitly (and nearest rounding as ONNX Runtime's Resize-10 does it).
 * Ops, or op/version steps, octet does not know raise an Error naming the node.
 */
import type { Attribute, Graph, Model, Node } from "../ir.js";
import { attr, makeNode, onnxOpset, uniqueName, usedNames } from "../ir.js";
import type { DType } from "../../tensor/tensor.js";
import { addInitializer, float32Tensor, int64Tensor, numbersOf, tensorFromNumbers } from "../constants.js";
import { MAX_KNOWN_OPSET, minimumIrVersion, opVersions } from "../opset_history.js";
import { softmaxAxis } from "../op_arguments.js";
import { inferValueFacts, type ValueFacts } from "../shape_inference.js";

export interface UpgradeChange {
  node: string;
  opType: string;
  /** The opset step at which the change applies. */
  step: number;
  change: string;
}

export interface OpsetUpgradeReport {
  from: number;
  to: number;
  /** Nodes whose form changed (not counting a bare version bump). */
  rewritten: UpgradeChange[];
  /** Nodes whose op needed no change. */
  unchanged: number;
}

interface StepContext {
  graph: Graph;
  /** Facts from shape inference at the original opset (top-level graph only). */
  facts: Map<string, ValueFacts>;
  target: number;
  step: number;
  report: OpsetUpgradeReport;
  taken: Set<string>;
}

/** Rewrites a node for opset `ctx.step`; returns the nodes that replace it (or nothing to keep it). */
type Adapter = (node: Node, ctx: StepContext) => Node[] | void;

function where(node: Node): string {
  return `node ${node.name} (${node.opType})`;
}

function note(ctx: StepContext, node: Node, change: string): void {
  ctx.report.rewritten.push({ node: node.name, opType: node.opType, step: ctx.step, change });
}

function constantInput(ctx: StepContext, base: string, t: Parameters<typeof addInitializer>[2]): string {
  return addInitializer(ctx.graph, base, t, ctx.taken);
}

/** Moves an ints attribute to an int64 input at `index` (nothing when the attribute is absent). */
function intsAttributeToInput(node: Node, ctx: StepContext, name: string, index: number): boolean {
  const v = attr(node, name, "ints");
  node.attributes.delete(name);
  if (v === undefined) return false;
  while (node.inputs.length < index) node.inputs.push("");
  node.inputs[index] = constantInput(ctx, `${node.name}_${name}`, int64Tensor(v));
  note(ctx, node, `attribute ${name} → input ${index}`);
  return true;
}

function dtypeOf(node: Node, ctx: StepContext, value: string): DType {
  const d = ctx.facts.get(value)?.dtype ?? ctx.graph.initializers.get(value)?.dtype ?? ctx.graph.inputs.find((v) => v.name === value)?.dtype;
  if (!d) throw new Error(`upgradeOpset: ${where(node)}: the dtype of ${value} is unknown, so its bounds cannot become typed inputs`);
  return d;
}

const axesToInput: Adapter = (node, ctx) => {
  intsAttributeToInput(node, ctx, "axes", 1);
};

/** Before 13 the op works on x coerced to 2-D at `axis`; see the header. */
const softmaxTo13: Adapter = (node, ctx) => {
  const opset = ctx.step - 1;
  const axis = softmaxAxis(node, opset);
  const x = node.inputs[0]!;
  const rank = ctx.facts.get(x)?.shape?.length;
  if (axis === -1 || (rank !== undefined && axis === rank - 1)) {
    node.attributes.set("axis", { kind: "int", value: axis });
    note(ctx, node, `axis ${axis} is the last axis${rank === undefined ? "" : ` of rank ${rank}`}: same meaning in the 13 form`);
    return;
  }
  const g = ctx.graph;
  const y = node.outputs[0]!;
  const flat = uniqueName(g, `${node.name}_flat`, ctx.taken);
  const soft = uniqueName(g, `${node.name}_2d`, ctx.taken);
  const shape = uniqueName(g, `${node.name}_shape`, ctx.taken);
  const flatten = makeNode("Flatten", [x], [flat], { axis: { kind: "int", value: axis } }, uniqueName(g, `${node.name}_flatten`, ctx.taken));
  const inner = makeNode(node.opType, [flat], [soft], { axis: { kind: "int", value: 1 } }, node.name);
  const shapeOf = makeNode("Shape", [x], [shape], {}, uniqueName(g, `${node.name}_shape_of`, ctx.taken));
  const back = makeNode("Reshape", [soft, shape], [y], {}, uniqueName(g, `${node.name}_reshape`, ctx.taken));
  note(ctx, node, `axis ${axis} is not the last axis${rank === undefined ? " (rank unknown)" : ` of rank ${rank}`}: wrapped as Flatten → ${node.opType}(axis=1) → Reshape`);
  return [flatten, shapeOf, inner, back];
};

const ADAPTERS: Record<string, Adapter> = {
  "Slice@10": (node, ctx) => {
    const starts = attr(node, "starts", "ints");
    const ends = attr(node, "ends", "ints");
    const axes = attr(node, "axes", "ints");
    if (!starts || !ends) throw new Error(`upgradeOpset: ${where(node)}: Slice-1 needs starts and ends`);
    for (const a of ["starts", "ends", "axes"]) node.attributes.delete(a);
    node.inputs = [node.inputs[0]!, constantInput(ctx, `${node.name}_starts`, int64Tensor(starts)), constantInput(ctx, `${node.name}_ends`, int64Tensor(ends))];
    if (axes) node.inputs.push(constantInput(ctx, `${node.name}_axes`, int64Tensor(axes)));
    note(ctx, node, "attributes starts/ends/axes → inputs");
  },
  "TopK@10": (node, ctx) => {
    const k = attr(node, "k", "int");
    if (k === undefined) throw new Error(`upgradeOpset: ${where(node)}: TopK-1 needs attribute k`);
    node.attributes.delete("k");
    node.inputs = [node.inputs[0]!, constantInput(ctx, `${node.name}_k`, int64Tensor([k]))];
    note(ctx, node, "attribute k → input");
  },
  "Upsample@10": (node, ctx) => {
    // Upsample is deprecated at 10; Resize-10 takes the same (X, scales) and mode.
    const scales = attr(node, "scales", "floats");
    if (scales) {
      node.attributes.delete("scales");
      node.inputs = [node.inputs[0]!, constantInput(ctx, `${node.name}_scales`, float32Tensor(scales))];
    }
    note(ctx, node, "Upsample → Resize-10");
    node.opType = "Resize";
  },
  "Resize@11": (node, ctx) => {
    const scalesName = node.inputs[1] ?? "";
    const mode = attr(node, "mode", "string") ?? "nearest";
    // Resize-10 used asymmetric coordinates: x_original = x_resized / scale.
    node.attributes.set("coordinate_transformation_mode", { kind: "string", value: "asymmetric" });
    if (mode === "nearest") {
      // ONNX Runtime's Resize-10 rounds the source index down when upsampling and up when
      // downsampling (its "simple" nearest mode); one nearest_mode must cover every axis.
      const scales = ctx.graph.initializers.get(scalesName);
      const s = scales ? numbersOf(scales) : undefined;
      let nearest: string;
      if (s && s.every((v) => v >= 1)) nearest = "floor";
      else if (s && s.every((v) => v <= 1)) nearest = "ceil";
      else {
        throw new Error(`upgradeOpset: ${where(node)}: nearest Resize-10 with ${s ? `scales [${s.join(",")}] that both enlarge and shrink` : "computed scales"} has no exact Resize-11 form`);
      }
      node.attributes.set("nearest_mode", { kind: "string", value: nearest });
    }
    // roi is optional from 13; Resize-11/12 want the input present (an empty tensor).
    const roi = ctx.target >= 13 ? "" : constantInput(ctx, `${node.name}_roi`, float32Tensor([]));
    node.inputs = [node.inputs[0]!, roi, scalesName];
    note(ctx, node, `inputs (X, scales) → (X, roi, scales), coordinate_transformation_mode=asymmetric${mode === "nearest" ? `, nearest_mode=${attr(node, "nearest_mode", "string")}` : ""}`);
  },
  "Clip@11": (node, ctx) => {
    const min = attr(node, "min", "float");
    const max = attr(node, "max", "float");
    node.attributes.delete("min");
    node.attributes.delete("max");
    if (min === undefined && max === undefined) return;
    const dtype = dtypeOf(node, ctx, node.inputs[0]!);
    const inputs = [node.inputs[0]!, "", ""];
    if (min !== undefined) inputs[1] = constantInput(ctx, `${node.name}_min`, tensorFromNumbers(dtype, [], [min]));
    if (max !== undefined) inputs[2] = constantInput(ctx, `${node.name}_max`, tensorFromNumbers(dtype, [], [max]));
    while (inputs[inputs.length - 1] === "") inputs.pop();
    node.inputs = inputs;
    note(ctx, node, "attributes min/max → inputs");
  },
  "Pad@11": (node, ctx) => {
    const pads = attr(node, "pads", "ints");
    if (!pads) throw new Error(`upgradeOpset: ${where(node)}: Pad-2 needs attribute pads`);
    const value = attr(node, "value", "float");
    node.attributes.delete("pads");
    node.attributes.delete("value");
    node.inputs = [node.inputs[0]!, constantInput(ctx, `${node.name}_pads`, int64Tensor(pads))];
    if (value !== undefined && value !== 0) {
      const dtype = dtypeOf(node, ctx, node.inputs[0]!);
      node.inputs.push(constantInput(ctx, `${node.name}_value`, tensorFromNumbers(dtype, [], [value])));
    }
    note(ctx, node, "attributes pads/value → inputs");
  },
  "Scatter@11": (node, ctx) => {
    // Scatter is deprecated at 11; ScatterElements-11 has the same definition.
    note(ctx, node, "Scatter → ScatterElements");
    node.opType = "ScatterElements";
  },
  "Dropout@12": (node, ctx) => {
    const ratio = attr(node, "ratio", "float");
    node.attributes.delete("ratio");
    if (ratio === undefined) return;
    const x = ctx.facts.get(node.inputs[0]!)?.dtype;
    const dtype: DType = x === "float16" || x === "float64" ? x : "float32";
    node.inputs = [node.inputs[0]!, constantInput(ctx, `${node.name}_ratio`, tensorFromNumbers(dtype, [], [ratio]))];
    note(ctx, node, "attribute ratio → input");
  },
  "ReduceSum@13": axesToInput,
  "Squeeze@13": axesToInput,
  "Unsqueeze@13": axesToInput,
  "Split@13": (node, ctx) => {
    intsAttributeToInput(node, ctx, "split", 1);
  },
  "Softmax@13": softmaxTo13,
  "LogSoftmax@13": softmaxTo13,
  "Hardmax@13": softmaxTo13,
  "BatchNormalization@14": (node, ctx) => {
    // Before 14 a BatchNormalization with more than one output is in training mode (it normalises
    // with the batch's statistics, as ONNX Runtime does); from 14 that is training_mode = 1 with
    // outputs (Y, running_mean, running_var), and saved_mean/saved_var no longer exist.
    const extra = node.outputs.slice(1);
    if (!extra.some((o) => o)) return;
    const read = new Set(ctx.graph.nodes.flatMap((n) => n.inputs));
    const saved = extra.slice(2).filter((o) => o && (read.has(o) || ctx.graph.outputs.some((v) => v.name === o)));
    if (saved.length) throw new Error(`upgradeOpset: ${where(node)}: training-mode outputs ${saved.join(", ")} (saved mean/variance) do not exist from BatchNormalization-14`);
    node.outputs = node.outputs.slice(0, 3);
    while (node.outputs.length < 3) node.outputs.push("");
    node.attributes.set("training_mode", { kind: "int", value: 1 });
    note(ctx, node, "training-mode form (extra outputs) → training_mode=1 with (Y, running_mean, running_var)");
  },
  "RoiAlign@16": (node, ctx) => {
    // RoiAlign-16 changed the default coordinate mode to half_pixel; keep the old behaviour.
    if (!node.attributes.has("coordinate_transformation_mode")) {
      node.attributes.set("coordinate_transformation_mode", { kind: "string", value: "output_half_pixel" });
      note(ctx, node, "coordinate_transformation_mode=output_half_pixel made explicit");
    }
  },
  "Split@18": (node, ctx) => {
    if (!node.inputs[1]) {
      node.attributes.set("num_outputs", { kind: "int", value: node.outputs.length });
      note(ctx, node, `num_outputs=${node.outputs.length} added`);
    }
  },
  ...Object.fromEntries(
    ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"]
      .map((op) => [`${op}@18`, axesToInput]),
  ),
};

/** Steps that change semantics in ways octet does not rewrite. */
const UNSUPPORTED: Record<string, string> = {
  "GroupNormalization@21": "GroupNormalization-21 changed scale and bias from per-group to per-channel",
  "GridSample@20": "GridSample-20 renamed its modes and generalised to N-D",
  "DFT@20": "DFT-20 moved axis from an attribute to an input",
};

export interface UpgradeOptions {
  /** Known shapes of graph inputs, to decide more Softmax axes statically. */
  inputShapes?: Record<string, (number | string | undefined)[]>;
}

/**
 * Rewrites `model` in place to ai.onnx opset `target` (default 13) and returns what changed.
 * Throws, naming the node, for an op or step octet cannot upgrade exactly; the model is then
 * left partly rewritten, so callers should upgrade a copy when they need the original on failure.
 */
export function upgradeOpset(model: Model, target = 13, options: UpgradeOptions = {}): OpsetUpgradeReport {
  const from = onnxOpset(model);
  if (!Number.isInteger(target) || target > MAX_KNOWN_OPSET) throw new Error(`upgradeOpset: target opset ${target} is not supported (octet upgrades up to ${MAX_KNOWN_OPSET})`);
  if (target < from) throw new Error(`upgradeOpset: the model is at opset ${from}; downgrading to ${target} is not supported`);
  const report: OpsetUpgradeReport = { from, to: target, rewritten: [], unchanged: 0 };
  if (target === from) return report;
  checkKnown(model.graph, from);
  const facts = inferValueFacts(model.graph, from, { inputShapes: options.inputShapes });
  upgradeGraph(model.graph, from, target, facts, report);
  for (const o of model.opsetImports) if (o.domain === "" || o.domain === "ai.onnx") o.version = target;
  model.irVersion = Math.max(model.irVersion, minimumIrVersion(target));
  return report;
}

function checkKnown(graph: Graph, from: number): void {
  for (const n of graph.nodes) {
    if (n.domain !== "") continue;
    if (!opVersions(n.opType)) {
      throw new Error(`upgradeOpset: ${where(n)}: octet does not know the version history of ${n.opType}, so it cannot upgrade it from opset ${from}`);
    }
    for (const a of n.attributes.values()) subgraphsOf(a).forEach((g) => checkKnown(g, from));
  }
}

function subgraphsOf(a: Attribute): Graph[] {
  return a.kind === "graph" ? [a.value] : a.kind === "graphs" ? a.value : [];
}

function upgradeGraph(graph: Graph, from: number, target: number, facts: Map<string, ValueFacts>, report: OpsetUpgradeReport): void {
  const taken = usedNames(graph);
  const rewrittenBefore = report.rewritten.length;
  const out: Node[] = [];
  for (const original of graph.nodes) {
    if (original.domain !== "") {
      out.push(original);
      continue;
    }
    for (const a of original.attributes.values()) {
      // Subgraphs carry no facts of their own: their Softmax nodes take the exact wrapped form.
      subgraphsOf(a).forEach((g) => upgradeGraph(g, from, target, new Map(), report));
    }
    let nodes: Node[] = [original];
    for (let step = from + 1; step <= target; step++) {
      const next: Node[] = [];
      for (const node of nodes) {
        const versions = opVersions(node.opType);
        if (!versions) throw new Error(`upgradeOpset: ${where(node)}: octet does not know the version history of ${node.opType}`);
        if (!versions.includes(step)) {
          next.push(node);
          continue;
        }
        const key = `${node.opType}@${step}`;
        if (UNSUPPORTED[key]) throw new Error(`upgradeOpset: ${where(node)}: cannot upgrade to opset ${step}: ${UNSUPPORTED[key]}`);
        const adapter = ADAPTERS[key];
        const replaced = adapter ? adapter(node, { graph, facts, target, step, report, taken }) : undefined;
        next.push(...(replaced ?? [node]));
      }
      nodes = next;
    }
    out.push(...nodes);
  }
  graph.nodes = out;
  const touched = new Set(report.rewritten.slice(rewrittenBefore).map((c) => c.node));
  report.unchanged += graph.nodes.filter((n) => n.domain === "" && !touched.has(n.name)).length;
}
