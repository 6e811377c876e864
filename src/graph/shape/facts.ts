/**
 * What shape inference knows about a value: its dtype, its shape (dims may be numbers, symbolic
 * names or unknown), and, for small integer tensors of rank ≤ 1, their contents as dims — enough to
 * follow the Shape → Gather/Slice → Concat → Reshape chains exporters emit for dynamic shapes (the
 * "data propagation" of ONNX's own shape inference).
 */
import type { Dim, Node } from "../ir.js";
import type { DType, Tensor } from "../../tensor/tensor.js";
import { numbersOf } from "../constants.js";

export interface ValueFacts {
  dtype?: DType;
  /** undefined when even the rank is unknown. */
  shape?: Dim[];
  /** Contents of a rank-0/1 integer tensor, element by element (numbers or symbols), when known. */
  value?: Dim[];
}

export interface RuleContext {
  opset: number;
  node: Node;
  /** Facts about each input slot (an empty object for an omitted optional input). */
  inputs: ValueFacts[];
  /** The constant tensor feeding an input slot, if any. */
  constant(index: number): Tensor | undefined;
  /** Integer contents of a value by name, when all elements are known numbers. */
  readInts(name: string): number[] | undefined;
  /** Numeric contents of a constant value by name. */
  readNumbers(name: string): number[] | undefined;
}

/** A rule returns facts for each output slot (missing entries mean nothing is known). */
export type ShapeRule = (ctx: RuleContext) => ValueFacts[];

/** Integer tensors of rank ≤ 1 and at most this many elements carry their contents as facts. */
export const MAX_VALUE_ELEMENTS = 64;

const INTEGER_DTYPES: ReadonlySet<DType> = new Set(["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]);

export function isIntegerDType(dtype: DType | undefined): boolean {
  return dtype !== undefined && INTEGER_DTYPES.has(dtype);
}

/** Facts for a constant tensor. */
export function factsOfTensor(t: Tensor): ValueFacts {
  const f: ValueFacts = { dtype: t.dtype, shape: [...t.dims] };
  if (isIntegerDType(t.dtype) && t.dims.length <= 1 && (t.dims[0] ?? 1) <= MAX_VALUE_ELEMENTS) f.value = numbersOf(t);
  return f;
}

export function isNumber(d: Dim): d is number {
  return typeof d === "number";
}

export function allNumbers(dims: readonly Dim[] | undefined): dims is number[] {
  return dims !== undefined && dims.every(isNumber);
}

/** Broadcasting of one pair of dims, as far as it can be known. */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  // A valid model can only pair n > 1 with n or 1, so a known n > 1 wins over a symbol.
  if (isNumber(a) && a > 1 && !isNumber(b)) return a;
  if (isNumber(b) && b > 1 && !isNumber(a)) return b;
  if (isNumber(a) && isNumber(b)) throw new Error(`dims ${a} and ${b} do not broadcast`);
  return undefined;
}

export function broadcastShapes(shapes: (Dim[] | undefined)[], where: string): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const ss = shapes as Dim[][];
  const rank = Math.max(0, ...ss.map((s) => s.length));
  const out: Dim[] = new Array<Dim>(rank).fill(1);
  for (const s of ss) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      try {
        out[o] = broadcastDim(out[o], s[i]);
      } catch {
        throw new Error(`${where}: shapes ${ss.map((x) => `[${x.join(",")}]`).join(" and ")} do not broadcast`);
      }
    }
  }
  return out;
}

/** Product of dims: a number when all are known (symbols times 1 survive). */
export function productDim(dims: readonly Dim[]): Dim {
  const rest = dims.filter((d) => d !== 1);
  if (rest.length === 0) return 1;
  if (rest.length === 1) return rest[0];
  if (rest.some((d) => d === 0)) return 0;
  return allNumbers(rest) ? rest.reduce((p, d) => p * d, 1) : undefined;
}

/**
 * The dim that makes prod(known) · x = prod(total), cancelling equal symbols on both sides
 * (so Reshape [N, 64, H, W] → [N, 64, -1] gives H·W when H and W are numbers, or W when H = 1).
 */
export function quotientDim(total: readonly Dim[], known: readonly Dim[]): Dim {
  if (total.some((d) => d === undefined) || known.some((d) => d === undefined)) return undefined;
  const symbols = total.filter((d): d is string => typeof d === "string");
  let num = total.filter(isNumber).reduce((p, d) => p * d, 1);
  let den = 1;
  for (const d of known) {
    if (isNumber(d)) den *= d;
    else {
      const i = symbols.indexOf(d as string);
      if (i < 0) return undefined;
      symbols.splice(i, 1);
    }
  }
  if (den === 0 || num % den !== 0) return undefined;
  num /= den;
  if (symbols.length === 0) return num;
  if (symbols.length === 1 && num === 1) return symbols[0];
  return undefined;
}

export function normalizeAxisOrThrow(axis: number, rank: number, node: Node): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`node ${node.name} (${node.opType}): axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function unknownOfRank(rank: number): Dim[] {
  return new Array<Dim>(rank).fill(undefined);
}
