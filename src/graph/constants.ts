/**
 * Constant tensors inside a graph: building small tensors from plain numbers (with the rounding,
 * wrapping and clamping each dtype needs), reading them back, and finding the constant value
 * behind a value name (an initializer, or a Constant node not yet folded).
 */
import type { Graph, Node } from "./ir.js";
import { uniqueName } from "./ir.js";
import { arrayTypeOf, halfToFloat, sizeOf, type DType, type Tensor, type TypedArray } from "../tensor/tensor.js";

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Converts one number to a bigint for an int64/uint64 slot: truncates toward zero, clamps to range. */
function toBigInt(v: number, unsigned: boolean): bigint {
  if (Number.isNaN(v)) return 0n;
  // Number(INT64_MAX) rounds up to 2^63; clamping keeps sentinels such as Slice's "to the end" valid.
  if (v === Infinity) return unsigned ? UINT64_MAX : INT64_MAX;
  if (v === -Infinity) return unsigned ? 0n : INT64_MIN;
  let b = BigInt(Math.trunc(v));
  const lo = unsigned ? 0n : INT64_MIN;
  const hi = unsigned ? UINT64_MAX : INT64_MAX;
  if (b < lo) b = lo;
  if (b > hi) b = hi;
  return b;
}

/**
 * A tensor of `dtype` holding `values`. Floats round to the dtype's precision; integers truncate
 * toward zero and wrap like C casts (typed-array semantics), except int64/uint64, which clamp.
 */
export function tensorFromNumbers(dtype: DType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const n = sizeOf(dims);
  if (values.length !== n) throw new Error(`tensor of dims [${dims.join(",")}] needs ${n} values, got ${values.length}`);
  switch (dtype) {
    case "int64": case "uint64": {
      const out = dtype === "int64" ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) out[i] = toBigInt(values[i]!, dtype === "uint64");
      return { dtype, dims: [...dims], data: out };
    }
    case "bool": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] !== 0 ? 1 : 0;
      return { dtype, dims: [...dims], data: out };
    }
    case "float16": case "string":
      throw new Error(`cannot build a ${dtype} tensor from numbers`);
    default: {
      const Ctor = arrayTypeOf(dtype);
      const out = new Ctor(n) as Exclude<TypedArray, BigInt64Array | BigUint64Array>;
      const isInt = dtype !== "float32" && dtype !== "float64";
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        out[i] = isInt ? (Number.isFinite(v) ? Math.trunc(v) : 0) : v;
      }
      return { dtype, dims: [...dims], data: out };
    }
  }
}

/** The values of a numeric tensor as plain numbers (int64 narrowed, float16 decoded, bool as 0/1). */
export function numbersOf(t: Tensor): number[] {
  if (Array.isArray(t.data)) throw new Error("string tensor has no numbers");
  if (t.dtype === "float16") return Array.from(t.data as Uint16Array, halfToFloat);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

export function int64Tensor(values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
  return tensorFromNumbers("int64", dims, values);
}

export function float32Tensor(values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
  return tensorFromNumbers("float32", dims, values);
}

/**
 * The tensor a Constant node produces, or undefined for forms octet does not fold
 * (sparse_value, value_string(s)). Attribute names from the ONNX Constant-13 schema.
 */
export function constantNodeValue(node: Node): Tensor | undefined {
  const a = node.attributes;
  const v = a.get("value");
  if (v?.kind === "tensor") return v.value;
  const f = a.get("value_float");
  if (f?.kind === "float") return float32Tensor([f.value], []);
  const fs = a.get("value_floats");
  if (fs?.kind === "floats") return float32Tensor(fs.value);
  const i = a.get("value_int");
  if (i?.kind === "int") return int64Tensor([i.value], []);
  const is = a.get("value_ints");
  if (is?.kind === "ints") return int64Tensor(is.value);
  return undefined;
}

/** The constant behind `name`: an initializer, or the output of a Constant node (default domain). */
export function constantOf(graph: Graph, name: string, producerOf?: Map<string, Node>): Tensor | undefined {
  if (!name) return undefined;
  const init = graph.initializers.get(name);
  if (init) return init;
  const p = producerOf ? producerOf.get(name) : graph.nodes.find((n) => n.outputs.includes(name));
  if (p && p.opType === "Constant" && p.domain === "") return constantNodeValue(p);
  return undefined;
}

/** Adds `t` as an initializer under a fresh name derived from `base`; returns the name. */
export function addInitializer(graph: Graph, base: string, t: Tensor, taken?: Set<string>): string {
  const name = uniqueName(graph, base, taken);
  graph.initializers.set(name, t);
  return name;
}

/** Every value name read anywhere in the graph, including from inside subgraphs and by the outputs. */
export function readNames(graph: Graph): Set<string> {
  const s = new Set<string>(graph.outputs.map((o) => o.name));
  const visit = (g: Graph) => {
    for (const n of g.nodes) {
      for (const i of n.inputs) if (i) s.add(i);
      for (const a of n.attributes.values()) {
        if (a.kind === "graph") { visit(a.value); a.value.outputs.forEach((o) => s.add(o.name)); }
        if (a.kind === "graphs") a.value.forEach((sg) => { visit(sg); sg.outputs.forEach((o) => s.add(o.name)); });
      }
    }
  };
  visit(graph);
  return s;
}

/** Removes initializers that nothing reads; returns how many went. */
export function pruneUnusedInitializers(graph: Graph): number {
  const read = readNames(graph);
  let removed = 0;
  for (const k of [...graph.initializers.keys()]) {
    if (!read.has(k)) { graph.initializers.delete(k); removed++; }
  }
  return removed;
}
