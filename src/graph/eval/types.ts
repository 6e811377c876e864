/**
 * The contract of a constant evaluator: compute a node's outputs from constant inputs, in plain
 * TypeScript, with the semantics of the model's opset. Evaluators exist only for ops that appear in
 * constant subgraphs (shape arithmetic, weight preprocessing); anything else stays in the graph.
 */
import type { Node } from "../ir.js";
import type { Tensor } from "../../tensor/tensor.js";

export interface EvalContext {
  /** The ai.onnx opset the node belongs to. */
  opset: number;
}

/** `inputs[i]` is undefined for an omitted optional input (empty name). */
export type Evaluator = (node: Node, inputs: (Tensor | undefined)[], ctx: EvalContext) => Tensor[];

/**
 * Thrown when an evaluator meets a case it does not implement (a dtype, an attribute value): the
 * folder then leaves the node in the graph. Malformed models raise plain Errors instead.
 */
export class CannotEvaluate extends Error {
  constructor(node: Node, why: string) {
    super(`node ${node.name} (${node.opType}) is not folded: ${why}`);
    this.name = "CannotEvaluate";
  }
}

export function requireInput(node: Node, inputs: (Tensor | undefined)[], i: number): Tensor {
  const t = inputs[i];
  if (!t) throw new Error(`node ${node.name} (${node.opType}): input ${i} is required`);
  return t;
}
