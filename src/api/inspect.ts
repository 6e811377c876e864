/** What a model contains, for `octet inspect`: op counts, quantized tensors and their params. */
import type { Model } from "../graph/ir.js";
import { attr, onnxOpset } from "../graph/ir.js";
import { toNumbers } from "../tensor/tensor.js";

export interface QuantizedTensorInfo {
  tensor: string;
  dtype: string;
  /** Per-tensor: one scale; per-channel: the count and the range of scales. */
  scale: number | { channels: number; min: number; max: number; axis: number };
  zeroPoint: number | string;
}

export interface ModelSummary {
  opset: number;
  nodes: number;
  ops: Record<string, number>;
  inputs: string[];
  outputs: string[];
  initializerBytes: Record<string, number>;
  quantized: QuantizedTensorInfo[];
  /** Nodes that compute in float (everything but Q/DQ and nodes between a DQ and a Q). */
  floatOps: Record<string, number>;
}

export function summarizeModel(model: Model): ModelSummary {
  const g = model.graph;
  const ops: Record<string, number> = {};
  for (const n of g.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  const initializerBytes: Record<string, number> = {};
  for (const t of g.initializers.values()) {
    const bytes = Array.isArray(t.data) ? 0 : (t.data as { byteLength: number }).byteLength;
    initializerBytes[t.dtype] = (initializerBytes[t.dtype] ?? 0) + bytes;
  }
  const quantized: QuantizedTensorInfo[] = [];
  for (const n of g.nodes) {
    if (n.opType !== "DequantizeLinear") continue;
    const scale = g.initializers.get(n.inputs[1]!);
    const zp = n.inputs[2] ? g.initializers.get(n.inputs[2]) : undefined;
    if (!scale) continue;
    const s = toNumbers(scale);
    const z = zp ? toNumbers(zp) : [0];
    const source = g.initializers.get(n.inputs[0]!);
    quantized.push({
      tensor: n.outputs[0]!,
      dtype: source?.dtype ?? zp?.dtype ?? "uint8",
      scale: s.length === 1 ? s[0]! : { channels: s.length, min: Math.min(...s), max: Math.max(...s), axis: attr(n, "axis", "int") ?? 1 },
      zeroPoint: z.length === 1 ? z[0]! : new Set(z).size === 1 ? z[0]! : `${z.length} values`,
    });
  }
  const dequantized = new Set(g.nodes.filter((n) => n.opType === "DequantizeLinear").map((n) => n.outputs[0]!));
  const quantizedInputs = new Set(g.nodes.filter((n) => n.opType === "QuantizeLinear").map((n) => n.inputs[0]!));
  const floatOps: Record<string, number> = {};
  for (const n of g.nodes) {
    if (n.opType === "QuantizeLinear" || n.opType === "DequantizeLinear") continue;
    const readsQuantized = n.inputs.some((i) => dequantized.has(i));
    const writesQuantized = n.outputs.some((o) => quantizedInputs.has(o));
    if (!(readsQuantized && writesQuantized)) floatOps[n.opType] = (floatOps[n.opType] ?? 0) + 1;
  }
  return {
    opset: onnxOpset(model),
    nodes: g.nodes.length,
    ops,
    inputs: g.inputs.map((v) => `${v.name} ${v.dtype}[${(v.shape ?? []).map((d) => d ?? "?").join(",")}]`),
    outputs: g.outputs.map((v) => `${v.name} ${v.dtype}[${(v.shape ?? []).map((d) => d ?? "?").join(",")}]`),
    initializerBytes,
    quantized,
    floatOps,
  };
}
