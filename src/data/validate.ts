/**
 * Checking feeds against a model's inputs before they reach the float executor, so that a user's
 * data mistake is reported as a sentence about their data (which input, which file or batch,
 * what was expected) instead of an ONNX Runtime error or a silently wrong calibration range.
 */
import type { ValueInfo } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";
import { sizeOf } from "../tensor/tensor.js";
import { batchSize } from "./batch.js";
import type { DataSource, Feeds } from "./feeds.js";
import { reiterable } from "./feeds.js";

export interface ValidateOptions {
  /** Compare the first dimension with the model's (off while checking single files before batching). */
  checkBatchDim?: boolean;
  /** Require every float value to be finite (NaN or ±Inf would poison min/max ranges). */
  checkFinite?: boolean;
}

function shapeText(shape: readonly (number | string | undefined)[]): string {
  return `[${shape.map((d) => (d === undefined ? "?" : String(d))).join(", ")}]`;
}

/** Row-major multi-index of a flat index, for error messages. */
function position(flat: number, dims: readonly number[]): number[] {
  const pos = new Array<number>(dims.length).fill(0);
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i]!;
    pos[i] = flat % d;
    flat = Math.floor(flat / d);
  }
  return pos;
}

/** Index of the first NaN or ±Inf value of a float tensor, or -1. */
export function firstNonFinite(t: Tensor): number {
  if (t.dtype === "float32" || t.dtype === "float64") {
    const a = t.data as Float32Array | Float64Array;
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  } else if (t.dtype === "float16") {
    // IEEE half: exponent bits all ones means Inf (mantissa 0) or NaN.
    const a = t.data as Uint16Array;
    for (let i = 0; i < a.length; i++) if ((a[i]! & 0x7c00) === 0x7c00) return i;
  }
  return -1;
}

function describeValue(t: Tensor, i: number): string {
  if (t.dtype === "float16") {
    const h = (t.data as Uint16Array)[i]!;
    return h & 0x3ff ? "NaN" : h & 0x8000 ? "-Infinity" : "Infinity";
  }
  return String((t.data as Float32Array)[i]);
}

/**
 * Throw a clear error unless `feeds` fit `inputs`: every model input present and nothing else,
 * the same dtype and rank, every static dimension equal (dynamic ones — a name or undefined —
 * accept any size), and every float value finite. `where` names the data in messages,
 * e.g. "calibration file data/003.npy" or "calibration batch 4 (samples 32–39)".
 */
export function validateFeeds(feeds: Feeds, inputs: readonly ValueInfo[], where: string, options: ValidateOptions = {}): void {
  const checkBatchDim = options.checkBatchDim ?? true;
  const checkFinite = options.checkFinite ?? true;
  const expected = inputs.map((v) => `"${v.name}"`).join(", ");
  for (const info of inputs) {
    if (!(info.name in feeds)) {
      throw new Error(`${where}: model input "${info.name}" is missing (the model's inputs are ${expected}; the data has ${Object.keys(feeds).map((k) => `"${k}"`).join(", ") || "none"})`);
    }
  }
  for (const name of Object.keys(feeds)) {
    if (!inputs.some((v) => v.name === name)) {
      throw new Error(`${where}: "${name}" is not an input of the model (its inputs are ${expected})`);
    }
  }
  for (const info of inputs) {
    const t = feeds[info.name]!;
    const label = `${where}: input "${info.name}"`;
    if (t.dtype !== info.dtype) {
      const hint = info.dtype === "float32" && t.dtype === "float64" ? " (in NumPy, convert with a.astype(np.float32) before saving)" : "";
      throw new Error(`${label} has dtype ${t.dtype} but the model expects ${info.dtype}${hint}`);
    }
    if (t.data.length !== sizeOf(t.dims)) {
      throw new Error(`${label} has shape ${shapeText(t.dims)} but holds ${t.data.length} values instead of ${sizeOf(t.dims)}`);
    }
    if (info.shape !== undefined) {
      if (t.dims.length !== info.shape.length) {
        throw new Error(`${label} has shape ${shapeText(t.dims)} (rank ${t.dims.length}) but the model expects ${shapeText(info.shape)} (rank ${info.shape.length})`);
      }
      info.shape.forEach((want, axis) => {
        if (typeof want !== "number" || want < 0) return; // dynamic dimension (ONNX marks unknown as a name, nothing, or -1)
        if (axis === 0 && !checkBatchDim) return;
        if (t.dims[axis] !== want) {
          throw new Error(`${label} has shape ${shapeText(t.dims)} but the model expects ${shapeText(info.shape!)} (dimension ${axis} must be ${want})`);
        }
      });
    }
    if (checkFinite) {
      const bad = firstNonFinite(t);
      if (bad >= 0) {
        throw new Error(
          `${label} has a non-finite value (${describeValue(t, bad)}) at index ${shapeText(position(bad, t.dims))}` +
          " (flat index " + bad + "); calibration and evaluation data must be finite",
        );
      }
    }
  }
}

/**
 * The same source, with every batch checked by `validateFeeds` as it passes; errors name the
 * batch and its sample range, e.g. "calibration data batch 3 (samples 16–23): ...".
 */
export function validatedSource(source: DataSource, inputs: readonly ValueInfo[], label: string): DataSource {
  return reiterable(async function* () {
    let index = 0;
    let first = 0;
    for await (const feeds of source) {
      let n: number | undefined;
      try {
        n = batchSize(feeds);
      } catch {
        n = undefined; // reported below, after the checks that explain more
      }
      const range = n === undefined ? "" : n === 0 ? " (no samples)" : n === 1 ? ` (sample ${first})` : ` (samples ${first}–${first + n - 1})`;
      validateFeeds(feeds, inputs, `${label} batch ${index}${range}`);
      if (n === undefined) n = batchSize(feeds);
      yield feeds;
      index++;
      first += n;
    }
  });
}
