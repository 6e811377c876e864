/**
 * A Mul, Add, Sub or Div by a per-channel constant right after a Conv, ConvTranspose or Gemm is
 * folded into its weights and bias (x·c, x + c, x − c, c − x = (−1)·x + c, x / c). Exporters emit
 * these for learnable affine blocks and for BatchNorm already decomposed (PP-OCRv4's LCNet scale
 * and bias are exactly this), and leaving them would put float ops between a conv and its
 * activation.
 */
import type { Model, Node } from "../ir.js";
import { consumers, producers } from "../ir.js";
import { absorbChannelAffine, affineTarget, perChannelValues } from "./channel_affine.js";

export interface AffineFoldingReport {
  folded: number;
  byOp: Record<string, number>;
}

const AFFINE_OPS = new Set(["Mul", "Add", "Sub", "Div"]);

export function foldConvAffine(model: Model): AffineFoldingReport {
  const graph = model.graph;
  const report: AffineFoldingReport = { folded: 0, byOp: {} };
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  let changed = true;
  while (changed) {
    changed = false;
    const prod = producers(graph);
    const users = consumers(graph);
    for (const op of graph.nodes) {
      if (!AFFINE_OPS.has(op.opType) || op.domain !== "" || op.inputs.length !== 2) continue;
      const constIndex = graph.initializers.has(op.inputs[1]!) ? 1 : graph.initializers.has(op.inputs[0]!) ? 0 : -1;
      if (constIndex < 0) continue;
      const x = op.inputs[1 - constIndex]!;
      const p = prod.get(x);
      const target = p ? affineTarget(graph, p) : undefined;
      if (!target || graphOutputs.has(x) || (users.get(x) ?? []).length !== 1) continue;
      const c = graph.initializers.get(op.inputs[constIndex]!)!;
      if (c.dtype !== target.weight.dtype) continue;
      const v = perChannelValues(c, target.outputRank, target.channels);
      if (!v) continue;
      const map = affineOf(op, constIndex, v);
      if (!map) continue;
      absorbChannelAffine(graph, target, map.scale, map.shift, op.outputs[0]!);
      graph.nodes = graph.nodes.filter((n) => n !== op);
      report.folded++;
      report.byOp[op.opType] = (report.byOp[op.opType] ?? 0) + 1;
      changed = true;
      break;
    }
  }
  return report;
}

function affineOf(op: Node, constIndex: number, c: number[]): { scale: number[]; shift: number[] } | undefined {
  const ones = c.map(() => 1);
  const zeros = c.map(() => 0);
  switch (op.opType) {
    case "Mul": return { scale: c, shift: zeros };
    case "Add": return { scale: ones, shift: c };
    case "Sub": return constIndex === 1 ? { scale: ones, shift: c.map((v) => -v) } : { scale: c.map(() => -1), shift: c };
    case "Div": return constIndex === 1 && c.every((v) => v !== 0) ? { scale: c.map((v) => 1 / v), shift: zeros } : undefined;
  }
  return undefined;
}
