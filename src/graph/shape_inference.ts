/**
 * Shape and dtype inference over a graph, from its inputs and initializers forward in topological
 * order, for the ops octet handles (rules in shape/). Dynamic dims stay symbolic names where they
 * pass through unchanged and become unknown where arithmetic on them would be needed; ops without
 * a rule (or outside the default domain) get unknown outputs, never an error. Shape tensors are
 * followed element by element, so Reshape targets computed from Shape(x) resolve.
 */
import type { Dim, Graph, Model, Node, ValueInfo } from "./ir.js";
import { onnxOpset, topologicalOrder } from "./ir.js";
import type { Tensor } from "../tensor/tensor.js";
import { constantNodeValue, numbersOf } from "./constants.js";
import { allNumbers, factsOfTensor, type RuleContext, type ShapeRule, type ValueFacts } from "./shape/facts.js";
import { convRules } from "./shape/conv_rules.js";
import { elementwiseRules } from "./shape/elementwise_rules.js";
import { tensorRules } from "./shape/tensor_rules.js";

export type { ValueFacts } from "./shape/facts.js";

const RULES: Record<string, ShapeRule> = { ...elementwiseRules, ...convRules, ...tensorRules };

export interface ShapeInferenceOptions {
  /** Replace the declared shapes of these graph inputs (e.g. fix a dynamic batch to 1). */
  inputShapes?: Record<string, Dim[]>;
}

export function hasShapeRule(opType: string): boolean {
  return opType in RULES;
}

/** Merges an inferred shape with a declared one: known numbers win over symbols and unknowns. */
function mergeShapes(inferred: Dim[] | undefined, declared: Dim[] | undefined): Dim[] | undefined {
  if (!inferred) return declared;
  if (!declared || declared.length !== inferred.length) return inferred;
  return inferred.map((d, i) => {
    const e = declared[i];
    if (typeof d === "number") return d;
    if (typeof e === "number") return e;
    return d ?? e;
  });
}

/**
 * Facts (dtype, shape, small integer contents) for every value of `graph` that can be inferred.
 * Does not modify the graph.
 */
export function inferValueFacts(graph: Graph, opset: number, options: ShapeInferenceOptions = {}): Map<string, ValueFacts> {
  const facts = new Map<string, ValueFacts>();
  const constants = new Map<string, Tensor>(graph.initializers);
  for (const [name, t] of graph.initializers) facts.set(name, factsOfTensor(t));
  for (const v of graph.inputs) {
    const shape = options.inputShapes?.[v.name] ?? v.shape;
    facts.set(v.name, { dtype: v.dtype, shape: shape ? [...shape] : undefined });
  }
  if (options.inputShapes) {
    for (const name of Object.keys(options.inputShapes)) {
      if (!graph.inputs.some((v) => v.name === name)) throw new Error(`inputShapes names ${name}, which is not a graph input`);
    }
  }
  const declared = new Map<string, ValueInfo>(graph.valueInfo);
  for (const v of graph.outputs) declared.set(v.name, v);

  const readNumbers = (name: string): number[] | undefined => {
    const t = constants.get(name);
    if (t && !Array.isArray(t.data) && t.dtype !== "string") return numbersOf(t);
    const v = facts.get(name)?.value;
    return allNumbers(v) ? v : undefined;
  };
  const readInts = (name: string): number[] | undefined => {
    const v = facts.get(name)?.value;
    if (allNumbers(v)) return v;
    const t = constants.get(name);
    return t && t.dtype !== "string" && t.dtype !== "float32" && t.dtype !== "float64" && t.dtype !== "float16" ? numbersOf(t) : undefined;
  };

  for (const node of topologicalOrder(graph)) {
    if (node.opType === "Constant" && node.domain === "") {
      const t = constantNodeValue(node);
      if (t && node.outputs[0]) constants.set(node.outputs[0], t);
    }
    const results = inferNode(node, opset, facts, constants, readInts, readNumbers);
    node.outputs.forEach((o, i) => {
      if (!o) return;
      const r = results[i] ?? {};
      const d = declared.get(o);
      const merged: ValueFacts = { dtype: r.dtype ?? d?.dtype, shape: mergeShapes(r.shape, d?.shape) };
      if (r.value) merged.value = r.value;
      facts.set(o, merged);
    });
  }
  return facts;
}

function inferNode(
  node: Node, opset: number, facts: Map<string, ValueFacts>, constants: Map<string, Tensor>,
  readInts: (n: string) => number[] | undefined, readNumbers: (n: string) => number[] | undefined,
): ValueFacts[] {
  const rule = node.domain === "" ? RULES[node.opType] : undefined;
  if (!rule) return [];
  const ctx: RuleContext = {
    opset,
    node,
    inputs: node.inputs.map((n) => (n ? facts.get(n) ?? {} : {})),
    constant: (i) => constants.get(node.inputs[i] ?? ""),
    readInts,
    readNumbers,
  };
  return rule(ctx);
}

export interface ShapeInferenceReport {
  /** Facts for every value, including graph inputs, initializers and outputs. */
  facts: Map<string, ValueFacts>;
  /** Intermediate values whose shape is fully known (all dims numbers or symbols). */
  known: number;
  /** Intermediate values with an unknown rank or an unknown dim. */
  partial: string[];
}

/**
 * Infers dtypes and shapes and records them in `model.graph.valueInfo` (for every node output
 * that is not a graph output and whose dtype is known).
 */
export function inferShapes(model: Model, options: ShapeInferenceOptions = {}): ShapeInferenceReport {
  const graph = model.graph;
  const facts = inferValueFacts(graph, onnxOpset(model), options);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  let known = 0;
  const partial: string[] = [];
  for (const node of graph.nodes) {
    for (const o of node.outputs) {
      if (!o || outputs.has(o)) continue;
      const f = facts.get(o);
      if (!f?.dtype) continue;
      const vi: ValueInfo = f.shape ? { name: o, dtype: f.dtype, shape: f.shape } : { name: o, dtype: f.dtype };
      graph.valueInfo.set(o, vi);
      if (f.shape && f.shape.every((d) => d !== undefined)) known++;
      else partial.push(o);
    }
  }
  return { facts, known, partial };
}
