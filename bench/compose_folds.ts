/**
 * PROTOTYPE of a planner rule (for the coordinator to judge; not used by octet itself): compose a
 * scale fold with the scalar Mul/Add nodes that follow it, so that a chain such as
 *
 *   Mul(x, clip) → Div(6) → Mul(w₀) → Add(w₁) → Conv       (PPLCNetV3: HardSwish, learnable affine)
 *
 * quantizes x·clip once, straight to the integers of the Add's output: y = a·x + b with
 * a = w₀/6, b = w₁ becomes QuantizeLinear(x, s/a, z + b/s) → DequantizeLinear(s, z). Today's
 * planner folds only the Div (a fold never starts from another fold's output), so the chain has
 * three requantizations (h = x·clip/6, w₀·h, w₀·h + w₁) where one suffices.
 *
 * The offset must land on an integer code: b/s is made integral by moving s to b/round(b/s) (a
 * relative change below 1/(2·round(b/s))). The Mul must be by a positive constant (a negative
 * factor would swap the range's ends). Nodes absorbed into a fold are deleted from the export.
 */
import { exportQdq } from "../src/export/qdq.js";
import { consumers, removeDeadNodes, type Graph, type Model, type Node } from "../src/graph/ir.js";
import type { QuantPlan, ScaleFold } from "../src/plan/plan.js";
import type { Preset } from "../src/plan/preset.js";
import { resolveActivationParams, type Range } from "../src/plan/resolve.js";
import { qRange } from "../src/quant/dtype.js";
import { qparamsFromRange, type QParams } from "../src/quant/qparams.js";

function scalarOf(graph: Graph, node: Node): { value: number; input: string } | undefined {
  const [a, b] = node.inputs;
  const scalar = (name: string | undefined) => {
    const t = name ? graph.initializers.get(name) : undefined;
    return t && t.dtype === "float32" && (t.data as Float32Array).length === 1 ? (t.data as Float32Array)[0]! : undefined;
  };
  if (scalar(b) !== undefined) return { value: scalar(b)!, input: a! };
  if ((node.opType === "Mul" || node.opType === "Add") && scalar(a) !== undefined) return { value: scalar(a)!, input: b! };
  return undefined;
}

export interface ComposedFolds {
  plan: QuantPlan;
  /** Nodes absorbed into a composed fold (delete them from the export). */
  absorbed: string[];
  composed: number;
}

/**
 * Whether a fold may end on a tensor with this offset. An offset is carried by the zero point, so
 * offset/scale must be an integer; a small one cannot be made integral without a large change of
 * scale, and rounding it instead adds the same error to every element, which the next Conv sums
 * coherently (Σ weights × error) instead of averaging out as rounding noise.
 */
export type OffsetPolicy = (output: string, offset: number) => boolean;

/** Offsets of at least `minSteps` quantization steps of the output (from its calibrated range). */
export function offsetsOfAtLeast(minSteps: number, scaleOf: (tensor: string) => number): OffsetPolicy {
  return (output, offset) => Math.abs(offset / scaleOf(output)) >= minSteps;
}

/** A copy of the plan with every scale fold extended over the scalar Mul/Add/Sub/Div chain after it. */
export function composeFolds(graph: Graph, plan: QuantPlan, offsetAllowed: OffsetPolicy = () => false): ComposedFolds {
  const readers = consumers(graph);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const quantized = new Set(plan.quantizedNodes);
  const activations = new Map(plan.activations);
  const absorbed: string[] = [];
  let composed = 0;
  const folds: ScaleFold[] = plan.scaleFolds.map((f) => {
    if (f.offset !== 0) return f; // HardSigmoid folds already carry an exact-scale offset
    let factor = f.factor;
    let offset = 0;
    let output = f.output;
    const chain: Node[] = [];
    for (;;) {
      const next = readers.get(output) ?? [];
      const n = next[0];
      if (next.length !== 1 || graphOutputs.has(output) || !n || !quantized.has(n.name)) break;
      const s = scalarOf(graph, n);
      if (!s || s.input !== output) break;
      // The chain can only end on a tensor the plan quantizes with calibrated params (an Add whose
      // output a Relu absorbs, for instance, has no Q of its own to fold into).
      if (plan.activations.get(n.outputs[0]!)?.source.kind !== "calibrated") break;
      if (n.opType === "Mul" && s.value > 0) { factor *= s.value; offset *= s.value; }
      else if (n.opType === "Div" && s.value > 0 && n.inputs[1] !== output) { factor /= s.value; offset /= s.value; }
      else if ((n.opType === "Add" || (n.opType === "Sub" && n.inputs[0] === output)) &&
        offsetAllowed(n.outputs[0]!, offset + (n.opType === "Add" ? s.value : -s.value))) offset += n.opType === "Add" ? s.value : -s.value;
      else break;
      chain.push(n);
      output = n.outputs[0]!;
    }
    if (!chain.length) return f;
    composed++;
    // Drop the intermediate tensors (and the scalar constants) from the plan; the last output stays calibrated.
    activations.delete(f.output);
    for (const n of chain) {
      if (n.outputs[0] !== output) activations.delete(n.outputs[0]!);
      for (const i of n.inputs) if (graph.initializers.has(i) && activations.get(i)?.constant) activations.delete(i);
      absorbed.push(n.name);
    }
    return { node: f.node, input: f.input, output, factor, offset };
  });
  const absorbedSet = new Set(absorbed);
  return {
    plan: { ...plan, activations, scaleFolds: folds, quantizedNodes: plan.quantizedNodes.filter((n) => !absorbedSet.has(n)) },
    absorbed,
    composed,
  };
}

/**
 * Moves the scale of every composed-fold output so that offset/scale is an integer and the
 * shifted zero point stays inside the integer range; returns the folds it had to give up on
 * (none in practice: they are reported so a caller can check).
 */
export function alignFoldOffsets(plan: QuantPlan, params: Map<string, QParams>): string[] {
  const failed: string[] = [];
  for (const f of plan.scaleFolds) {
    if (f.offset === 0) continue;
    const qp = params.get(f.output);
    if (!qp) continue;
    const s = qp.scale[0]!;
    const k = Math.trunc(f.offset / s); // |k| ≤ |offset/s|: the scale only grows, nothing new is clipped
    const { qmin, qmax } = qRange(qp.dtype);
    const z = qp.zeroPoint[0]!;
    if (k === 0 || z + k < qmin || z + k > qmax) {
      if (k !== 0) failed.push(f.output);
      continue;
    }
    params.set(f.output, { ...qp, scale: Float32Array.of(f.offset / k) });
  }
  return failed;
}

/** A copy without the absorbed nodes, and (deadCode) without whatever no output needs any more. */
export function dropAbsorbedNodes(model: Model, absorbed: string[], deadCode: boolean): Model {
  const set = new Set(absorbed);
  const graph = { ...model.graph, nodes: model.graph.nodes.filter((n) => !set.has(n.name)), initializers: new Map(model.graph.initializers) };
  if (deadCode) removeDeadNodes(graph);
  return { ...model, graph };
}

/**
 * The export path of quantizeModel with composed folds: plan → composeFolds → ranges from the
 * calibration → params (offsets aligned) → QDQ → absorbed nodes dropped.
 */
export function exportWithComposedFolds(
  prepared: Model, plan: QuantPlan, ranges: (tensor: string) => Range, preset: Preset, minOffsetSteps = 4,
): { model: Model; plan: QuantPlan; params: Map<string, QParams>; composed: number; misaligned: string[] } {
  const scaleOf = (t: string) => {
    const r = ranges(t);
    return qparamsFromRange(r.min, r.max, preset.activation).scale[0]!;
  };
  const c = composeFolds(prepared.graph, plan, Number.isFinite(minOffsetSteps) ? offsetsOfAtLeast(minOffsetSteps, scaleOf) : () => false);
  const rangeMap = new Map<string, Range>();
  for (const a of c.plan.activations.values()) if (a.source.kind === "calibrated" && !a.constant) rangeMap.set(a.name, ranges(a.name));
  const params = resolveActivationParams(prepared.graph, c.plan, rangeMap, preset);
  const misaligned = alignFoldOffsets(c.plan, params);
  // The absorbed nodes go before the export: the fold's Q reads the chain's input and its DQ
  // replaces the chain's output for every reader, so nothing is left to read what they computed.
  const exported = exportQdq(dropAbsorbedNodes(prepared, c.absorbed, false), c.plan, params);
  return { model: dropAbsorbedNodes(exported.model, [], true), plan: c.plan, params: exported.params, composed: c.composed, misaligned };
}
