/**
 * octet's graph IR: a plain, mutable mirror of an ONNX graph with typed attributes and
 * initializers decoded into typed arrays. Values are referenced by name, as in ONNX; the empty
 * string is an omitted optional input.
 */
import type { DType, Tensor } from "../tensor/tensor.js";

export type Attribute =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  | { kind: "ints"; value: number[] }
  | { kind: "floats"; value: number[] }
  | { kind: "strings"; value: string[] }
  | { kind: "tensor"; value: Tensor }
  | { kind: "graph"; value: Graph }
  | { kind: "graphs"; value: Graph[] };

export interface Node {
  name: string;
  opType: string;
  /** "" is the default ONNX domain (ai.onnx). */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, Attribute>;
  docString?: string;
}

/** A dimension is a number when known, a symbolic name (e.g. "batch") when dynamic, or undefined. */
export type Dim = number | string | undefined;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** undefined when the rank itself is unknown. */
  shape?: Dim[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Constant tensors by value name (ONNX initializers; Constant nodes stay nodes until folded). */
  initializers: Map<string, Tensor>;
  /** Known types/shapes of intermediate values. */
  valueInfo: Map<string, ValueInfo>;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadata: Map<string, string>;
  graph: Graph;
}

/** The ai.onnx opset version a model imports. */
export function onnxOpset(model: Model): number {
  const imp = model.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx");
  if (!imp) throw new Error("model imports no ai.onnx opset");
  return imp.version;
}

interface AttributeValues {
  int: number; float: number; string: string; ints: number[]; floats: number[]; strings: string[];
  tensor: Tensor; graph: Graph; graphs: Graph[];
}
type AttributeValue<K extends Attribute["kind"]> = AttributeValues[K];

export function attr<K extends Attribute["kind"]>(node: Node, name: string, kind: K): AttributeValue<K> | undefined {
  const a = node.attributes.get(name);
  if (a === undefined) return undefined;
  if (a.kind !== kind) {
    throw new Error(`node ${node.name} (${node.opType}): attribute ${name} is ${a.kind}, expected ${kind}`);
  }
  return a.value as unknown as AttributeValue<K>;
}

export function intAttr(node: Node, name: string, fallback: number): number {
  return attr(node, name, "int") ?? fallback;
}

export function floatAttr(node: Node, name: string, fallback: number): number {
  return attr(node, name, "float") ?? fallback;
}

export function intsAttr(node: Node, name: string, fallback: number[]): number[] {
  return attr(node, name, "ints") ?? fallback;
}

export function stringAttr(node: Node, name: string, fallback: string): string {
  return attr(node, name, "string") ?? fallback;
}

export function emptyGraph(name = "graph"): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, Attribute> = {},
  name = outputs[0] ? `${opType}_${outputs[0]}` : opType,
  domain = "",
): Node {
  return { name, opType, domain, inputs, outputs, attributes: new Map(Object.entries(attributes)) };
}

/** Map from value name to the node that produces it. */
export function producers(graph: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Map from value name to the nodes that read it (a node appears once per input slot). */
export function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/** A name not yet used by any value or node in the graph, derived from `base`. */
export function uniqueName(graph: Graph, base: string, taken?: Set<string>): string {
  const used = taken ?? usedNames(graph);
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
  used.add(name);
  return name;
}

export function usedNames(graph: Graph): Set<string> {
  const s = new Set<string>();
  for (const n of graph.nodes) {
    s.add(n.name);
    for (const v of n.inputs) s.add(v);
    for (const v of n.outputs) s.add(v);
  }
  for (const v of graph.inputs) s.add(v.name);
  for (const v of graph.outputs) s.add(v.name);
  for (const k of graph.initializers.keys()) s.add(k);
  return s;
}

/**
 * Nodes in topological order (Kahn's algorithm, stable with respect to the stored order).
 * Throws on a cycle or on an input that nothing produces.
 */
export function topologicalOrder(graph: Graph): Node[] {
  const available = new Set<string>([...graph.initializers.keys(), ...graph.inputs.map((v) => v.name), ""]);
  const outerScope = outerNames(graph);
  const pending = [...graph.nodes];
  const order: Node[] = [];
  let progressed = true;
  while (pending.length && progressed) {
    progressed = false;
    for (let i = 0; i < pending.length; ) {
      const n = pending[i]!;
      if (n.inputs.every((v) => available.has(v) || outerScope.has(v))) {
        order.push(n);
        for (const o of n.outputs) available.add(o);
        pending.splice(i, 1);
        progressed = true;
      } else i++;
    }
  }
  if (pending.length) {
    const n = pending[0]!;
    const missing = n.inputs.filter((v) => !available.has(v));
    throw new Error(`graph ${graph.name}: node ${n.name} (${n.opType}) reads ${missing.join(", ")}, which nothing produces (or a cycle)`);
  }
  return order;
}

/** Names that a subgraph may read from its enclosing graph; empty at the top level. */
const outerScopes = new WeakMap<Graph, Set<string>>();
function outerNames(graph: Graph): Set<string> {
  return outerScopes.get(graph) ?? new Set();
}
export function setOuterScope(subgraph: Graph, names: Set<string>): void {
  outerScopes.set(subgraph, names);
}

/** Remove nodes whose outputs reach no graph output, and initializers nothing reads. */
export function removeDeadNodes(graph: Graph): void {
  const live = new Set(graph.outputs.map((v) => v.name));
  const keep: Node[] = [];
  for (const n of [...topologicalOrder(graph)].reverse()) {
    if (n.outputs.some((o) => live.has(o))) {
      keep.push(n);
      for (const i of n.inputs) live.add(i);
      for (const a of n.attributes.values()) {
        if (a.kind === "graph") subgraphReads(a.value).forEach((v) => live.add(v));
        if (a.kind === "graphs") a.value.forEach((g) => subgraphReads(g).forEach((v) => live.add(v)));
      }
    }
  }
  const keepSet = new Set(keep);
  graph.nodes = graph.nodes.filter((n) => keepSet.has(n));
  for (const k of [...graph.initializers.keys()]) if (!live.has(k)) graph.initializers.delete(k);
}

function subgraphReads(g: Graph): string[] {
  const reads: string[] = [];
  for (const n of g.nodes) {
    reads.push(...n.inputs);
    for (const a of n.attributes.values()) {
      if (a.kind === "graph") reads.push(...subgraphReads(a.value));
      if (a.kind === "graphs") a.value.forEach((sg) => reads.push(...subgraphReads(sg)));
    }
  }
  reads.push(...g.outputs.map((o) => o.name));
  return reads;
}

/**
 * A copy whose structure (nodes, value lists, maps) can be rewritten freely. Tensor data is
 * shared: passes replace initializers, they never write into them.
 */
export function cloneModel(m: Model): Model {
  const g = m.graph;
  return {
    ...m,
    opsetImports: m.opsetImports.map((o) => ({ ...o })),
    metadata: new Map(m.metadata),
    graph: {
      ...g,
      nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: new Map(n.attributes) })),
      inputs: g.inputs.map((v) => ({ ...v })),
      outputs: g.outputs.map((v) => ({ ...v })),
      initializers: new Map(g.initializers),
      valueInfo: new Map(g.valueInfo),
    },
  };
}
