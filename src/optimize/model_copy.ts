/**
 * A copy of a model that the optimizers may edit: new node objects, arrays and maps, while the
 * tensors themselves are shared until replaced (optimizers always put new tensors in rather than
 * writing into existing ones, so the caller's model is never changed).
 */
import type { Graph, Model } from "../graph/ir.js";

export function editableCopy(model: Model): Model {
  const g = model.graph;
  const graph: Graph = {
    name: g.name,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: new Map(n.attributes) })),
    inputs: g.inputs.map((v) => ({ ...v, ...(v.shape ? { shape: [...v.shape] } : {}) })),
    outputs: g.outputs.map((v) => ({ ...v, ...(v.shape ? { shape: [...v.shape] } : {}) })),
    initializers: new Map(g.initializers),
    valueInfo: new Map(g.valueInfo),
  };
  return { ...model, opsetImports: model.opsetImports.map((o) => ({ ...o })), metadata: new Map(model.metadata), graph };
}
