/**
 * Synthetic feeds: seeded random values shaped like a model's inputs. Useful to exercise a
 * pipeline without data; ranges calibrated on them rarely match real activations, which is why
 * source.ts warns whenever a user calibrates on "random".
 */
import type { Dim, ValueInfo } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";
import { arrayTypeOf, sizeOf } from "../tensor/tensor.js";
import type { DataSource, Feeds } from "./feeds.js";
import { reiterable } from "./feeds.js";
import { floatToHalf } from "./float16.js";
import { Mulberry32 } from "./prng.js";

export interface RandomFeedsOptions {
  /** Samples per batch; a dynamic first dimension becomes this size. */
  batch: number;
  /** Total samples (the last batch may be smaller). */
  samples: number;
  /** Default 0. The same seed gives the same data on every iteration and machine. */
  seed?: number;
  /** Float inputs: "uniform" in [low, high) (default [0, 1)) or "normal"(mean, std) (default 0, 1). */
  distribution?: "uniform" | "normal";
  low?: number;
  high?: number;
  mean?: number;
  std?: number;
  /** Integer inputs: uniform integers in [intRange[0], intRange[1]], default [0, 1]. */
  intRange?: [number, number];
  /**
   * Shapes replacing the model's declared ones for the named inputs (e.g. to give concrete sizes
   * for dynamic dimensions). The first dimension is the batch dimension, resolved as usual.
   */
  shapes?: Record<string, Dim[]>;
}

function shapeText(shape: readonly Dim[]): string {
  return `[${shape.map((d) => (d === undefined ? "?" : String(d))).join(", ")}]`;
}

/** The concrete dims of one batch of `rows` samples of an input. */
export function resolveInputDims(info: ValueInfo, rows: number, batch: number, override?: Dim[]): number[] {
  const shape = override ?? info.shape;
  if (shape === undefined) {
    throw new Error(`input "${info.name}" has no known shape: give its shape explicitly for random data`);
  }
  if (shape.length === 0) throw new Error(`input "${info.name}" is a scalar, so it has no batch dimension to fill with samples`);
  return shape.map((d, axis) => {
    const known = typeof d === "number" && d >= 0;
    if (axis === 0) {
      if (known && d !== batch) {
        throw new Error(`input "${info.name}" has a fixed batch dimension of ${d}, so random data needs batch size ${d} (not ${batch})`);
      }
      return rows;
    }
    if (!known) {
      throw new Error(
        `input "${info.name}" of shape ${shapeText(shape)} has a dynamic dimension ${axis}: give a concrete shape for random data`,
      );
    }
    return d;
  });
}

function fill(t: Tensor, rng: Mulberry32, o: Required<Pick<RandomFeedsOptions, "distribution" | "low" | "high" | "mean" | "std" | "intRange">>): void {
  const n = t.data.length;
  const float = (): number => (o.distribution === "normal" ? o.mean + o.std * rng.normal() : o.low + (o.high - o.low) * rng.next());
  switch (t.dtype) {
    case "float32": case "float64": {
      const a = t.data as Float32Array | Float64Array;
      for (let i = 0; i < n; i++) a[i] = float();
      return;
    }
    case "float16": {
      const a = t.data as Uint16Array;
      for (let i = 0; i < n; i++) a[i] = floatToHalf(float());
      return;
    }
    case "bool": {
      const a = t.data as Uint8Array;
      for (let i = 0; i < n; i++) a[i] = rng.integer(0, 1);
      return;
    }
    case "int64": case "uint64": {
      const a = t.data as BigInt64Array | BigUint64Array;
      for (let i = 0; i < n; i++) a[i] = BigInt(rng.integer(o.intRange[0], o.intRange[1]));
      return;
    }
    default: {
      const a = t.data as Int32Array;
      for (let i = 0; i < n; i++) a[i] = rng.integer(o.intRange[0], o.intRange[1]);
    }
  }
}

/** Seeded random feeds for `inputs`, `samples` samples in batches of `batch`. */
export function randomFeeds(inputs: readonly ValueInfo[], options: RandomFeedsOptions): DataSource {
  const { batch, samples } = options;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`batch size must be a positive integer, got ${batch}`);
  if (!(Number.isInteger(samples) && samples >= 0)) throw new Error(`sample count must be a non-negative integer, got ${samples}`);
  if (inputs.length === 0) throw new Error("the model has no inputs to make random data for");
  const o = {
    distribution: options.distribution ?? "uniform",
    low: options.low ?? 0,
    high: options.high ?? 1,
    mean: options.mean ?? 0,
    std: options.std ?? 1,
    intRange: options.intRange ?? [0, 1],
  } as const;
  if (o.distribution !== "uniform" && o.distribution !== "normal") {
    throw new Error(`random distribution must be "uniform" or "normal", got ${JSON.stringify(o.distribution)}`);
  }
  if (!(o.low < o.high)) throw new Error(`random uniform range needs low < high, got [${o.low}, ${o.high})`);
  if (!(o.std >= 0)) throw new Error(`random normal std must be non-negative, got ${o.std}`);
  if (!(Number.isInteger(o.intRange[0]) && Number.isInteger(o.intRange[1]) && o.intRange[0] <= o.intRange[1])) {
    throw new Error(`random integer range must be two integers low ≤ high, got [${o.intRange.join(", ")}]`);
  }
  for (const name of Object.keys(options.shapes ?? {})) {
    if (!inputs.some((v) => v.name === name)) throw new Error(`random data shape given for "${name}", which is not a model input`);
  }
  // Resolve every shape once up front so a dynamic dimension is reported before any iteration.
  for (const info of inputs) {
    if (info.dtype === "string") throw new Error(`random data cannot fill input "${info.name}" of dtype string`);
    resolveInputDims(info, batch, batch, options.shapes?.[info.name]);
  }
  return reiterable(async function* () {
    const rng = new Mulberry32(options.seed ?? 0);
    for (let start = 0; start < samples; start += batch) {
      const rows = Math.min(batch, samples - start);
      const feeds: Feeds = {};
      for (const info of inputs) {
        const dims = resolveInputDims(info, rows, batch, options.shapes?.[info.name]);
        const Ctor = arrayTypeOf(info.dtype);
        const t: Tensor = { dtype: info.dtype, dims, data: new Ctor(sizeOf(dims)) };
        fill(t, rng, o);
        feeds[info.name] = t;
      }
      yield feeds;
    }
  });
}
