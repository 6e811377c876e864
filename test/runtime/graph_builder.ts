/**
 * A small builder of ONNX graphs for the runtime's tests: nodes, constants, QuantizeLinear →
 * DequantizeLinear pairs with params chosen from a value range, and running the result through
 * onnxruntime-node (the independent expectation) and octet's engine.
 */
import * as ort from "onnxruntime-node";
import { type Attribute, type Graph, type Model, makeNode } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import type { Tensor } from "../../src/tensor/tensor.js";

export class GraphBuilder {
  readonly graph: Graph = { name: "test", nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
  private counter = 0;

  constructor(readonly opset = 13) {}

  fresh(base: string): string {
    return `${base}_${this.counter++}`;
  }

  input(name: string, dims: (number | string)[], dtype: "float32" = "float32"): string {
    this.graph.inputs.push({ name, dtype, shape: dims });
    return name;
  }

  output(name: string, dtype: "float32" | "uint8" | "int8" = "float32"): void {
    this.graph.outputs.push({ name, dtype });
  }

  constant(t: Tensor, base = "c"): string {
    const name = this.fresh(base);
    this.graph.initializers.set(name, t);
    return name;
  }

  floats(values: number[], dims: number[] = [values.length]): string {
    return this.constant({ dtype: "float32", dims, data: Float32Array.from(values) }, "f");
  }

  ints64(values: number[]): string {
    return this.constant({ dtype: "int64", dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) }, "i");
  }

  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.graph.nodes.push(makeNode(opType, inputs, outs, attributes, this.fresh(`${opType}_node`)));
    return outs;
  }

  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}): string {
    return this.node(opType, inputs, attributes)[0]!;
  }

  /** QuantizeLinear with per-tensor params, returning the integer value. */
  quantize(x: string, p: QuantParams): string {
    const s = this.floats([p.scale], []);
    const z = this.constant(zeroPointTensor(p), "zp");
    return this.op("QuantizeLinear", [x, s, z]);
  }

  dequantize(q: string, p: QuantParams): string {
    const s = this.floats([p.scale], []);
    const z = this.constant(zeroPointTensor(p), "zp");
    return this.op("DequantizeLinear", [q, s, z]);
  }

  /** x → QuantizeLinear → DequantizeLinear. */
  qdq(x: string, p: QuantParams): string {
    return this.dequantize(this.quantize(x, p), p);
  }

  /** A float constant stored as 8-bit integers behind a DequantizeLinear (per-tensor). */
  quantizedConstant(values: Float32Array, dims: number[], dtype: "int8" | "uint8" = "int8"): { name: string; params: QuantParams } {
    const p = paramsForRange(Math.min(0, ...values), Math.max(0, ...values), dtype);
    const q = dtype === "int8" ? new Int8Array(values.length) : new Uint8Array(values.length);
    const { qmin, qmax } = rangeOf(dtype);
    values.forEach((v, i) => { q[i] = Math.min(qmax, Math.max(qmin, Math.round(v / p.scale) + p.zeroPoint)); });
    const raw = this.constant({ dtype, dims, data: q }, "w");
    return { name: this.dequantize(raw, p), params: p };
  }

  model(): Model {
    return {
      irVersion: 8, opsetImports: [{ domain: "", version: this.opset }], producerName: "octet-test", producerVersion: "",
      domain: "", modelVersion: 0, docString: "", metadata: new Map(), graph: this.graph,
    };
  }
}

export interface QuantParams {
  scale: number;
  zeroPoint: number;
  dtype: "int8" | "uint8";
}

function rangeOf(dtype: "int8" | "uint8") {
  return dtype === "int8" ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
}

function zeroPointTensor(p: QuantParams): Tensor {
  return { dtype: p.dtype, dims: [], data: p.dtype === "int8" ? Int8Array.of(p.zeroPoint) : Uint8Array.of(p.zeroPoint) };
}

/** Asymmetric params covering [min, max] (widened to include 0). */
export function paramsForRange(min: number, max: number, dtype: "int8" | "uint8" = "uint8"): QuantParams {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max, lo + 1e-6);
  const { qmin, qmax } = rangeOf(dtype);
  const scale = Math.fround((hi - lo) / (qmax - qmin));
  const zeroPoint = Math.min(qmax, Math.max(qmin, Math.round(qmin - lo / scale)));
  return { scale, zeroPoint, dtype };
}

export async function runOrt(model: Model, feeds: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor("float32", t.data as Float32Array, t.dims);
    const out = await session.run(ortFeeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

export const ints = (value: number[]): Attribute => ({ kind: "ints", value });
export const int = (value: number): Attribute => ({ kind: "int", value });
export const float = (value: number): Attribute => ({ kind: "float", value });
