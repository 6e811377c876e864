/**
 * What the compiler needs to know about the graph it is compiling: who produces and who reads each
 * value, which values are constants (initializers and Constant nodes), what shape inference knows
 * about dtypes and shapes, and the opset. Read-only: the compiler never edits the model.
 */
import type { Dim, Model, Node } from "../../graph/ir.js";
import { consumers, onnxOpset, producers, topologicalOrder } from "../../graph/ir.js";
import { constantNodeValue } from "../../graph/constants.js";
import { inferValueFacts, type ValueFacts } from "../../graph/shape_inference.js";
import type { DType, Tensor } from "../../tensor/tensor.js";

export class GraphView {
  readonly opset: number;
  readonly order: Node[];
  readonly producerOf: Map<string, Node>;
  readonly consumersOf: Map<string, Node[]>;
  readonly constants = new Map<string, Tensor>();
  readonly graphOutputs: Set<string>;
  readonly graphInputs: Set<string>;
  /** Shape-inference facts; empty when inference failed (it is a help, never a requirement). */
  readonly facts: Map<string, ValueFacts>;
  /** Why shape inference failed, if it did. */
  readonly factsError?: string;

  constructor(readonly model: Model, inputShapes?: Record<string, Dim[]>) {
    const g = model.graph;
    this.opset = onnxOpset(model);
    this.order = topologicalOrder(g);
    this.producerOf = producers(g);
    this.consumersOf = consumers(g);
    for (const [k, t] of g.initializers) this.constants.set(k, t);
    for (const n of this.order) {
      if (n.opType === "Constant" && n.domain === "" && n.outputs[0]) {
        const t = constantNodeValue(n);
        if (!t) throw new Error(`node ${n.name} (Constant) has no value attribute octet can read`);
        this.constants.set(n.outputs[0], t);
      }
    }
    // Graph inputs that are also initializers (old exporters) are inputs with a default: the feed wins.
    this.graphInputs = new Set(g.inputs.map((v) => v.name).filter((n) => !g.initializers.has(n)));
    this.graphOutputs = new Set(g.outputs.map((v) => v.name));
    let facts = new Map<string, ValueFacts>();
    let factsError: string | undefined;
    try {
      facts = inferValueFacts(g, this.opset, inputShapes ? { inputShapes } : {});
    } catch (e) {
      factsError = (e as Error).message;
    }
    this.facts = facts;
    if (factsError !== undefined) this.factsError = factsError;
  }

  constant(name: string | undefined): Tensor | undefined {
    return name ? this.constants.get(name) : undefined;
  }

  readers(name: string): Node[] {
    return this.consumersOf.get(name) ?? [];
  }

  /** The single node reading `name`, when exactly one node reads it once and it is not a graph output. */
  soleReader(name: string): Node | undefined {
    const r = this.readers(name);
    if (r.length !== 1 || this.graphOutputs.has(name)) return undefined;
    const node = r[0]!;
    if (node.inputs.filter((i) => i === name).length !== 1) return undefined;
    return node;
  }

  producer(name: string): Node | undefined {
    return this.producerOf.get(name);
  }

  dtypeOf(name: string): DType | undefined {
    const c = this.constants.get(name);
    if (c) return c.dtype;
    const input = this.model.graph.inputs.find((v) => v.name === name);
    if (input) return input.dtype;
    return this.facts.get(name)?.dtype ?? this.model.graph.valueInfo.get(name)?.dtype;
  }

  /** Known dims (numbers only), or undefined. */
  staticDims(name: string): number[] | undefined {
    const c = this.constants.get(name);
    if (c) return c.dims;
    const shape = this.facts.get(name)?.shape;
    if (!shape || !shape.every((d) => typeof d === "number")) return undefined;
    return shape as number[];
  }

  /** The rank, when known. */
  rankOf(name: string): number | undefined {
    const c = this.constants.get(name);
    if (c) return c.dims.length;
    return this.facts.get(name)?.shape?.length;
  }
}
