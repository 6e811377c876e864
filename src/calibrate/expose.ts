/**
 * Makes intermediate tensors observable: a copy of the model whose graph outputs also list the
 * tensors calibration needs. Only the names are added; ONNX Runtime infers their shapes.
 */
import type { Model, ValueInfo } from "../graph/ir.js";

export function withExtraOutputs(model: Model, names: Iterable<string>): Model {
  const existing = new Set(model.graph.outputs.map((o) => o.name));
  const extra: ValueInfo[] = [];
  for (const name of names) {
    if (existing.has(name) || model.graph.initializers.has(name)) continue;
    if (model.graph.inputs.some((i) => i.name === name)) continue;
    const known = model.graph.valueInfo.get(name);
    extra.push({ name, dtype: known?.dtype ?? "float32" });
    existing.add(name);
  }
  return { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...extra] } };
}
