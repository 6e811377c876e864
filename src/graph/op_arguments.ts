/**
 * Where ops keep their arguments, by opset. Several ONNX ops moved arguments from attributes to
 * inputs over the years (Slice at 10, Clip and Pad at 11, Squeeze/Unsqueeze/Split/ReduceSum at 13,
 * the other Reduce* ops at 18); these readers give one answer for every version so that constant
 * folding, shape inference and the opset upgrade agree. Versions from the ONNX operator changelog.
 *
 * Results distinguish an argument that is absent (null: the op's default applies) from one that is
 * present but not known statically (undefined: a computed input).
 */
import type { Node } from "./ir.js";
import { attr } from "./ir.js";

/** Reads the integer contents of a value (a constant or a statically known shape tensor). */
export type IntsReader = (name: string) => number[] | undefined;
/** Reads the numeric contents of a constant value. */
export type NumbersReader = (name: string) => number[] | undefined;

export type Arg<T> = T | null | undefined;

function optionalInput(node: Node, index: number): string | null {
  const name = node.inputs[index];
  return name ? name : null;
}

function fromInput(node: Node, index: number, read: IntsReader | NumbersReader): Arg<number[]> {
  const name = optionalInput(node, index);
  return name === null ? null : read(name);
}

/** The opset from which each Reduce* op takes `axes` as its second input. */
export function reduceAxesInputSince(opType: string): number {
  return opType === "ReduceSum" ? 13 : 18;
}

export function reduceAxes(node: Node, opset: number, readInts: IntsReader): Arg<number[]> {
  if (opset >= reduceAxesInputSince(node.opType)) return fromInput(node, 1, readInts);
  return attr(node, "axes", "ints") ?? null;
}

/** Squeeze and Unsqueeze: axes attribute before 13, second input from 13. */
export function squeezeAxes(node: Node, opset: number, readInts: IntsReader): Arg<number[]> {
  if (opset >= 13) return fromInput(node, 1, readInts);
  return attr(node, "axes", "ints") ?? null;
}

/** Split: `split` attribute before 13, second input from 13 (null: equal parts). */
export function splitSizes(node: Node, opset: number, readInts: IntsReader): Arg<number[]> {
  if (opset >= 13) return fromInput(node, 1, readInts);
  return attr(node, "split", "ints") ?? null;
}

export interface SliceArguments {
  starts: number[];
  ends: number[];
  axes: number[] | null;
  steps: number[] | null;
}

/** Slice: attributes starts/ends/axes before 10; inputs starts, ends, axes, steps from 10. */
export function sliceArguments(node: Node, opset: number, readInts: IntsReader): SliceArguments | undefined {
  if (opset < 10) {
    const starts = attr(node, "starts", "ints");
    const ends = attr(node, "ends", "ints");
    if (!starts || !ends) throw new Error(`node ${node.name} (Slice-1): attributes starts and ends are required`);
    return { starts, ends, axes: attr(node, "axes", "ints") ?? null, steps: null };
  }
  const starts = fromInput(node, 1, readInts);
  const ends = fromInput(node, 2, readInts);
  const axes = fromInput(node, 3, readInts);
  const steps = fromInput(node, 4, readInts);
  if (starts === null || ends === null) throw new Error(`node ${node.name} (Slice): inputs starts and ends are required`);
  if (starts === undefined || ends === undefined || axes === undefined || steps === undefined) return undefined;
  return { starts, ends, axes, steps };
}

export interface PadArguments {
  /** [begin_0, begin_1, ..., end_0, end_1, ...] over `axes` (all axes when axes is null). */
  pads: number[] | undefined;
  mode: string;
  /** The constant fill; undefined when it is a computed input. */
  value: number | undefined;
  axes: Arg<number[]>;
}

/** Pad: attributes pads/value before 11 (Pad-2); inputs pads, constant_value, axes (18) from 11. */
export function padArguments(node: Node, opset: number, readInts: IntsReader, readNumbers: NumbersReader): PadArguments {
  const mode = attr(node, "mode", "string") ?? "constant";
  if (opset < 11) {
    const pads = attr(node, "pads", "ints");
    if (!pads) throw new Error(`node ${node.name} (Pad-2): attribute pads is required`);
    return { pads, mode, value: attr(node, "value", "float") ?? 0, axes: null };
  }
  const pads = fromInput(node, 1, readInts);
  if (pads === null) throw new Error(`node ${node.name} (Pad): input pads is required`);
  const valueArg = fromInput(node, 2, readNumbers);
  const value = valueArg === null ? 0 : valueArg === undefined ? undefined : valueArg[0] ?? 0;
  const axes = opset >= 18 ? fromInput(node, 3, readInts) : null;
  return { pads, mode, value, axes };
}

export interface ClipBounds {
  min: number;
  max: number;
}

/**
 * Clip: attributes min/max before 11, optional inputs from 11. Missing bounds are ±Infinity
 * (Clip-6 defaults to the float type's lowest/max, which clamps nothing a finite float holds).
 * Undefined when a bound is a computed input.
 */
export function clipBounds(node: Node, opset: number, readNumbers: NumbersReader): ClipBounds | undefined {
  if (opset < 11) {
    return { min: attr(node, "min", "float") ?? -Infinity, max: attr(node, "max", "float") ?? Infinity };
  }
  const lo = fromInput(node, 1, readNumbers);
  const hi = fromInput(node, 2, readNumbers);
  if (lo === undefined || hi === undefined) return undefined;
  return { min: lo === null ? -Infinity : lo[0] ?? -Infinity, max: hi === null ? Infinity : hi[0] ?? Infinity };
}

export interface ResizeArguments {
  scales: Arg<number[]>;
  sizes: Arg<number[]>;
}

/**
 * Resize and Upsample: Upsample-7 has a `scales` attribute, Upsample-9 and Resize-10 take
 * (X, scales), Resize from 11 takes (X, roi, scales, sizes). An empty scales tensor counts as absent
 * (Resize-11/12 required the input even when sizes is given).
 */
export function resizeArguments(node: Node, opset: number, readNumbers: NumbersReader, readInts: IntsReader): ResizeArguments {
  const emptyAsAbsent = (a: Arg<number[]>): Arg<number[]> => (a && a.length === 0 ? null : a);
  if (node.opType === "Upsample") {
    if (opset < 9) return { scales: attr(node, "scales", "floats") ?? null, sizes: null };
    return { scales: emptyAsAbsent(fromInput(node, 1, readNumbers)), sizes: null };
  }
  if (opset < 11) return { scales: emptyAsAbsent(fromInput(node, 1, readNumbers)), sizes: null };
  return { scales: emptyAsAbsent(fromInput(node, 2, readNumbers)), sizes: emptyAsAbsent(fromInput(node, 3, readInts)) };
}

/** Softmax, LogSoftmax, Hardmax: the default axis was 1 before opset 13 and is -1 from 13. */
export function softmaxAxis(node: Node, opset: number): number {
  return attr(node, "axis", "int") ?? (opset >= 13 ? -1 : 1);
}

/** Normalises a possibly negative axis against `rank`, with a clear error when out of range. */
export function normalizeAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${where}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}
