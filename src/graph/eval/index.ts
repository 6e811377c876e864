/** The registry of constant evaluators, by op type (default ONNX domain only). */
import type { Node } from "../ir.js";
import type { Tensor } from "../../tensor/tensor.js";
import { elementwiseEvaluators } from "./elementwise.js";
import { generatorEvaluators } from "./generators.js";
import { reduceEvaluators } from "./reduce.js";
import { shapeEvaluators } from "./shape_ops.js";
import type { EvalContext, Evaluator } from "./types.js";

export { CannotEvaluate } from "./types.js";
export type { EvalContext, Evaluator } from "./types.js";

const evaluators = new Map<string, Evaluator>(Object.entries({
  ...elementwiseEvaluators,
  ...generatorEvaluators,
  ...reduceEvaluators,
  ...shapeEvaluators,
}));

export function canEvaluate(node: Node): boolean {
  return node.domain === "" && evaluators.has(node.opType);
}

/** Computes a node's outputs from constant inputs; throws CannotEvaluate for unimplemented cases. */
export function evaluateNode(node: Node, inputs: (Tensor | undefined)[], ctx: EvalContext): Tensor[] {
  const f = evaluators.get(node.opType);
  if (!f || node.domain !== "") throw new Error(`no constant evaluator for ${node.domain ? node.domain + "." : ""}${node.opType}`);
  return f(node, inputs, ctx);
}
