/**
 * Fusion queries for the quantization planner (nothing here rewrites the graph):
 *  - findActivationFusions: a Conv/ConvTranspose/Gemm, or MatMul (+ bias Add), whose only consumer
 *    is Relu or a Clip with constant bounds. The planner puts no Q/DQ between the pair and uses the
 *    activation's output range, which is what lets ONNX Runtime fuse QLinearConv + activation and
 *    what integer kernels do with a fused clamp (TFLite's fused activation).
 *  - findHardSwishPatterns: HardSwish written out as x·Clip(x + 3, 0, 6)/6 (and its reorderings) or
 *    as x·HardSigmoid(x) with alpha = 1/6, beta = 0.5 (HardSwish(x) = x·max(0, min(1, x/6 + 1/2)),
 *    ONNX HardSwish-14), which the planner can treat as one HardSwish op.
 */
import type { Graph, Node } from "./ir.js";
import { consumers, floatAttr, producers } from "./ir.js";
import { constantOf, numbersOf } from "./constants.js";

export type ActivationKind = "Relu" | "Relu6" | "Clip";

export interface ActivationFusion {
  /** The linear op. */
  producer: Node;
  /** The Add that applies a MatMul's bias, when there is one. */
  biasAdd?: Node;
  activation: Node;
  kind: ActivationKind;
  /** The range the activation clamps to (±Infinity for an open side). */
  min: number;
  max: number;
  /** The value between the linear op (or its bias Add) and the activation: it gets no Q/DQ. */
  fusedValue: string;
  /** The activation's output, whose range quantizes the pair. */
  output: string;
}

/** A scalar constant (every element equal), or undefined. */
function scalarConstant(graph: Graph, name: string, prod: Map<string, Node>): number | undefined {
  const t = constantOf(graph, name, prod);
  if (!t || t.dtype === "string") return undefined;
  const v = numbersOf(t);
  if (v.length === 0 || v.some((x) => x !== v[0])) return undefined;
  return v[0];
}

/**
 * A Clip's bounds, whichever opset form it has: attributes before 11, optional inputs from 11.
 * Undefined when a bound is computed at run time.
 */
export function clipRange(graph: Graph, clip: Node, prod = producers(graph)): { min: number; max: number } | undefined {
  const minAttr = clip.attributes.get("min");
  const maxAttr = clip.attributes.get("max");
  if (minAttr || maxAttr) {
    return { min: minAttr?.kind === "float" ? minAttr.value : -Infinity, max: maxAttr?.kind === "float" ? maxAttr.value : Infinity };
  }
  const bound = (i: number, open: number): number | undefined => {
    const name = clip.inputs[i];
    if (!name) return open;
    return scalarConstant(graph, name, prod);
  };
  const min = bound(1, -Infinity);
  const max = bound(2, Infinity);
  return min === undefined || max === undefined ? undefined : { min, max };
}

const LINEAR = new Set(["Conv", "ConvTranspose", "Gemm"]);

export function findActivationFusions(graph: Graph): ActivationFusion[] {
  const prod = producers(graph);
  const users = consumers(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  /** The only reader of `value`, when it has exactly one and is not a graph output. */
  const soleReader = (value: string): Node | undefined => {
    const r = users.get(value) ?? [];
    return r.length === 1 && !outputs.has(value) ? r[0] : undefined;
  };
  const found: ActivationFusion[] = [];
  for (const act of graph.nodes) {
    if (act.domain !== "" || (act.opType !== "Relu" && act.opType !== "Clip")) continue;
    let kind: ActivationKind = "Relu";
    let min = 0;
    let max = Infinity;
    if (act.opType === "Clip") {
      const r = clipRange(graph, act, prod);
      if (!r) continue;
      ({ min, max } = r);
      kind = min === 0 && max === 6 ? "Relu6" : min === 0 && max === Infinity ? "Relu" : "Clip";
    }
    const value = act.inputs[0]!;
    if (soleReader(value) !== act) continue;
    const p = prod.get(value);
    if (!p || p.domain !== "") continue;
    let producer: Node | undefined;
    let biasAdd: Node | undefined;
    if (LINEAR.has(p.opType)) producer = p;
    else if (p.opType === "MatMul") producer = p;
    else if (p.opType === "Add") {
      // MatMul + constant bias, the Gemm of exporters that keep batch dims.
      const i = p.inputs.findIndex((n) => n && prod.get(n)?.opType === "MatMul" && soleReader(n) === p);
      const other = p.inputs[1 - i];
      if (i >= 0 && other && constantOf(graph, other, prod)) {
        producer = prod.get(p.inputs[i]!);
        biasAdd = p;
      }
    }
    if (!producer) continue;
    const f: ActivationFusion = { producer, activation: act, kind, min, max, fusedValue: value, output: act.outputs[0]! };
    if (biasAdd) f.biasAdd = biasAdd;
    found.push(f);
  }
  return found;
}

export interface HardSwishPattern {
  /** x */
  input: string;
  /** HardSwish(x) */
  output: string;
  /** Every node of the pattern, in data-flow order. */
  nodes: Node[];
  form: "clip" | "hardsigmoid";
}

const near = (v: number | undefined, want: number) => v !== undefined && Math.abs(v - want) <= 1e-5 * Math.max(1, Math.abs(want));

export function findHardSwishPatterns(graph: Graph): HardSwishPattern[] {
  const prod = producers(graph);
  const users = consumers(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const soleReader = (value: string): Node | undefined => {
    const r = users.get(value) ?? [];
    return r.length === 1 && !outputs.has(value) ? r[0] : undefined;
  };
  /** For a binary node with one scalar-constant operand: [the other operand, the constant, its index]. */
  const withConstant = (n: Node): [string, number, number] | undefined => {
    if (n.inputs.length !== 2) return undefined;
    for (const i of [1, 0]) {
      const c = scalarConstant(graph, n.inputs[i]!, prod);
      if (c !== undefined) return [n.inputs[1 - i]!, c, i];
    }
    return undefined;
  };
  /** Divides by 6 (Div by 6 or Mul by 1/6): returns the other operand. */
  const isSixth = (n: Node): string | undefined => {
    const wc = withConstant(n);
    if (!wc) return undefined;
    if (n.opType === "Div" && wc[2] === 1 && near(wc[1], 6)) return wc[0];
    if (n.opType === "Mul" && near(wc[1], 1 / 6)) return wc[0];
    return undefined;
  };
  const otherOperand = (mul: Node, value: string): string | undefined =>
    mul.opType === "Mul" && mul.inputs.length === 2 && mul.inputs.includes(value) ? mul.inputs[mul.inputs[0] === value ? 1 : 0] : undefined;

  const found: HardSwishPattern[] = [];
  for (const n of graph.nodes) {
    if (n.domain !== "") continue;
    if (n.opType === "Clip") {
      const r = clipRange(graph, n, prod);
      if (!r || r.min !== 0 || r.max !== 6) continue;
      const add = prod.get(n.inputs[0]!);
      if (!add || add.opType !== "Add" || soleReader(add.outputs[0]!) !== n) continue;
      const wc = withConstant(add);
      if (!wc || !near(wc[1], 3)) continue;
      const x = wc[0];
      const next = soleReader(n.outputs[0]!);
      if (!next) continue;
      // x·clip then /6, or clip/6 then ·x.
      const viaMul = otherOperand(next, n.outputs[0]!);
      if (viaMul === x) {
        const div = soleReader(next.outputs[0]!);
        if (div && isSixth(div) === next.outputs[0]) {
          found.push({ input: x, output: div.outputs[0]!, nodes: [add, n, next, div], form: "clip" });
        }
      } else if (isSixth(next) === n.outputs[0]) {
        const mul = soleReader(next.outputs[0]!);
        if (mul && otherOperand(mul, next.outputs[0]!) === x) {
          found.push({ input: x, output: mul.outputs[0]!, nodes: [add, n, next, mul], form: "clip" });
        }
      }
    } else if (n.opType === "HardSigmoid") {
      if (!near(floatAttr(n, "alpha", 0.2), 1 / 6) || !near(floatAttr(n, "beta", 0.5), 0.5)) continue;
      const mul = soleReader(n.outputs[0]!);
      if (mul && otherOperand(mul, n.outputs[0]!) === n.inputs[0]) {
        found.push({ input: n.inputs[0]!, output: mul.outputs[0]!, nodes: [n, mul], form: "hardsigmoid" });
      }
    }
  }
  return found;
}
