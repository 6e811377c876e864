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
  /** Shape-inference facts (dims may be symbolic or unknown). */
  readonly facts: Map<string, ValueFacts>;

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
    // Shape inference leaves what it cannot know unknown; an error is a real inconsistency
    // (mismatched dims, bad attributes): the model cannot run, so say so now.
    try {
      this.facts = inferValueFacts(g, this.opset, inputShapes ? { inputShapes } : {});
    } catch (e) {
      throw new Error(`shape check failed: ${(e as Error).message}`);
    }
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

  /** The size of dim `axis` when shape inference knows it as a number. */
  staticDim(name: string, axis: number): number | undefined {
    const c = this.constants.get(name);
    const shape = c ? c.dims : this.facts.get(name)?.shape;
    const d = shape?.[axis < 0 ? axis + shape.length : axis];
    return typeof d === "number" ? d : undefined;
  }

  /** The rank, when known. */
  rankOf(name: string): number | undefined {
    const c = this.constants.get(name);
    if (c) return c.dims.length;
    return this.facts.get(name)?.shape?.length;
  }
}
