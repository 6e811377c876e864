/**
 * Constant folding: Constant nodes become initializers, then every node whose inputs are all
 * constant is evaluated in TypeScript (eval/) and replaced by its outputs as initializers. Integer
 * values that shape inference knows exactly (Shape of a static dim, Gather of it, ...) are folded too,
 * even when the node reads a dynamic tensor. Unknown ops, other domains, nodes with subgraphs and
 * values that are graph outputs are left as they are.
 */
import type { Graph, Model, Node } from "../ir.js";
import { onnxOpset, topologicalOrder } from "../ir.js";
import { sizeOf, type Tensor } from "../../tensor/tensor.js";
import { constantNodeValue, pruneUnusedInitializers, tensorFromNumbers } from "../constants.js";
import { CannotEvaluate, canEvaluate, evaluateNode } from "../eval/index.js";
import { allNumbers, isIntegerDType } from "../shape/facts.js";
import { inferValueFacts } from "../shape_inference.js";

/**
 * Folding uses only the shapes the model declares: assuming other input shapes would bake them into
 * the graph (a folded Shape node), so there is deliberately no inputShapes option here.
 */
export interface ConstantFoldingOptions {
  /**
   * Do not fold a node whose outputs would hold more than this many elements in total and more than
   * its inputs do (ConstantOfShape/Expand/Tile would otherwise bloat the model). Default 2^22.
   */
  maxElements?: number;
}

export interface ConstantFoldingReport {
  /** Constant nodes turned into initializers. */
  constantsToInitializers: number;
  /** Nodes evaluated and removed, total and by op type. */
  nodesFolded: number;
  foldedByOp: Record<string, number>;
  /** Initializers no longer read by anything, removed. */
  initializersRemoved: number;
  /** Nodes with constant inputs that were left in place, and why. */
  notFolded: { node: string; opType: string; reason: string }[];
}

function hasSubgraph(n: Node): boolean {
  for (const a of n.attributes.values()) if (a.kind === "graph" || a.kind === "graphs") return true;
  return false;
}

function elements(ts: readonly (Tensor | undefined)[]): number {
  return ts.reduce((s, t) => s + (t ? sizeOf(t.dims) : 0), 0);
}

function constantsToInitializers(graph: Graph, report: ConstantFoldingReport): void {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  graph.nodes = graph.nodes.filter((n) => {
    if (n.opType !== "Constant" || n.domain !== "") return true;
    const name = n.outputs[0];
    const t = constantNodeValue(n);
    if (!name || !t || outputs.has(name)) {
      if (name && !t) report.notFolded.push({ node: n.name, opType: n.opType, reason: "sparse or string constant" });
      return true;
    }
    graph.initializers.set(name, t);
    report.constantsToInitializers++;
    return false;
  });
}

export function foldConstants(model: Model, options: ConstantFoldingOptions = {}): ConstantFoldingReport {
  const graph = model.graph;
  const opset = onnxOpset(model);
  const maxElements = options.maxElements ?? 2 ** 22;
  const report: ConstantFoldingReport = { constantsToInitializers: 0, nodesFolded: 0, foldedByOp: {}, initializersRemoved: 0, notFolded: [] };
  constantsToInitializers(graph, report);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const refused = new Set<Node>();

  // Folding in topological order lets one pass fold whole chains; a second pass catches values that
  // shape inference only learns once earlier nodes have become constants.
  for (let round = 0; round < 4; round++) {
    const facts = inferValueFacts(graph, opset);
    const folded = new Set<Node>();
    for (const node of topologicalOrder(graph)) {
      if (node.domain !== "" || hasSubgraph(node) || refused.has(node)) continue;
      if (node.outputs.some((o) => graphOutputs.has(o)) || node.outputs.length === 0) continue;
      const results = tryEvaluate(node, graph, opset, maxElements, report, refused) ?? fromKnownValues(node, facts);
      if (!results) continue;
      node.outputs.forEach((o, i) => { if (o) graph.initializers.set(o, results[i]!); });
      folded.add(node);
      report.nodesFolded++;
      report.foldedByOp[node.opType] = (report.foldedByOp[node.opType] ?? 0) + 1;
    }
    if (folded.size === 0) break;
    graph.nodes = graph.nodes.filter((n) => !folded.has(n));
  }
  report.initializersRemoved = pruneUnusedInitializers(graph);
  return report;
}

function tryEvaluate(
  node: Node, graph: Graph, opset: number, maxElements: number, report: ConstantFoldingReport, refused: Set<Node>,
): Tensor[] | undefined {
  if (!canEvaluate(node)) return undefined;
  const present = node.inputs.filter((i) => i);
  if (!present.every((i) => graph.initializers.has(i))) return undefined;
  const inputs = node.inputs.map((i) => (i ? graph.initializers.get(i) : undefined));
  let results: Tensor[];
  try {
    results = evaluateNode(node, inputs, { opset });
  } catch (e) {
    if (e instanceof CannotEvaluate) {
      refused.add(node);
      report.notFolded.push({ node: node.name, opType: node.opType, reason: e.message });
      return undefined;
    }
    throw e;
  }
  if (results.length < node.outputs.filter((o) => o).length) {
    throw new Error(`node ${node.name} (${node.opType}): evaluator produced ${results.length} outputs for ${node.outputs.length}`);
  }
  const outSize = elements(results);
  if (outSize > maxElements && outSize > elements(inputs)) {
    refused.add(node);
    report.notFolded.push({ node: node.name, opType: node.opType, reason: `output of ${outSize} elements exceeds maxElements` });
    return undefined;
  }
  return results;
}

/** Integer outputs whose every element shape inference knows (e.g. Shape of static dims). */
function fromKnownValues(node: Node, facts: ReturnType<typeof inferValueFacts>): Tensor[] | undefined {
  const out: Tensor[] = [];
  for (const o of node.outputs) {
    const f = o ? facts.get(o) : undefined;
    if (!f || !isIntegerDType(f.dtype) || !allNumbers(f.value) || !allNumbers(f.shape)) return undefined;
    if (f.shape.length > 1 || sizeOf(f.shape) !== f.value.length) return undefined;
    out.push(tensorFromNumbers(f.dtype!, f.shape, f.value));
  }
  return out;
}
