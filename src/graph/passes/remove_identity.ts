/**
 * Removes Identity nodes, and Dropout nodes in inference form (no training_mode input set, mask
 * output unused), which are the identity at inference. Readers of the node's output are rewired to
 * its input. When the output is a graph output, the producer of the input is renamed instead, so
 * graph output names never change; if that is impossible (the input is a graph input, an
 * initializer, or itself a graph output) the node stays.
 */
import type { Graph, Model, Node } from "../ir.js";
import { consumers, producers } from "../ir.js";

export interface IdentityRemovalReport {
  removed: number;
  byOp: Record<string, number>;
}

function isInferenceIdentity(n: Node, graph: Graph, used: Map<string, Node[]>): boolean {
  if (n.domain !== "") return false;
  if (n.opType === "Identity") return n.inputs.length === 1 && n.outputs.length === 1;
  if (n.opType === "Dropout") {
    // Dropout-12+: optional inputs ratio and training_mode; training_mode absent means inference.
    if (n.inputs[2]) return false;
    const mask = n.outputs[1];
    return !mask || (!used.has(mask) && !graph.outputs.some((o) => o.name === mask));
  }
  return false;
}

/** Renames every read of `from` to `to`, in this graph and in subgraphs that read it from outside. */
export function renameReads(graph: Graph, from: string, to: string): void {
  for (const n of graph.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    for (const a of n.attributes.values()) {
      if (a.kind === "graph") renameInSubgraph(a.value, from, to);
      if (a.kind === "graphs") a.value.forEach((g) => renameInSubgraph(g, from, to));
    }
  }
}

function renameInSubgraph(g: Graph, from: string, to: string): void {
  // A subgraph that defines `from` itself shadows the outer name: leave it alone.
  if (g.initializers.has(from) || g.inputs.some((v) => v.name === from) || g.nodes.some((n) => n.outputs.includes(from))) return;
  renameReads(g, from, to);
  for (const o of g.outputs) if (o.name === from) o.name = to;
}

export function removeIdentities(model: Model): IdentityRemovalReport {
  const graph = model.graph;
  const report: IdentityRemovalReport = { removed: 0, byOp: {} };
  const outputNames = () => new Set(graph.outputs.map((o) => o.name));
  for (const n of [...graph.nodes]) {
    const used = consumers(graph);
    if (!isInferenceIdentity(n, graph, used)) continue;
    const input = n.inputs[0]!;
    const output = n.outputs[0]!;
    const outs = outputNames();
    if (!outs.has(output)) {
      renameReads(graph, output, input);
      if (graph.valueInfo.has(output)) graph.valueInfo.delete(output);
    } else {
      const p = producers(graph).get(input);
      if (!p || outs.has(input) || graph.initializers.has(input)) continue;
      // The producer now writes the graph output directly; other readers of `input` follow.
      p.outputs = p.outputs.map((o) => (o === input ? output : o));
      renameReads(graph, input, output);
      const vi = graph.valueInfo.get(input);
      graph.valueInfo.delete(input);
      if (vi) graph.valueInfo.set(output, { ...vi, name: output });
    }
    graph.nodes = graph.nodes.filter((x) => x !== n);
    report.removed++;
    report.byOp[n.opType] = (report.byOp[n.opType] ?? 0) + 1;
  }
  return report;
}
