/**
 * Batching along axis 0: joining per-sample (or per-file) feeds into batches of a chosen size,
 * cutting batches apart, and taking the first n samples of a source.
 */
import type { Tensor, TypedArray } from "../tensor/tensor.js";
import { sizeOf } from "../tensor/tensor.js";
import type { DataSource, Feeds } from "./feeds.js";
import { reiterable } from "./feeds.js";

/** The number of samples in a batch: the first dimension, which every input must share. */
export function batchSize(feeds: Feeds): number {
  let n: number | undefined;
  let first = "";
  for (const [name, t] of Object.entries(feeds)) {
    if (t.dims.length === 0) throw new Error(`input "${name}" is a scalar, so it has no batch dimension`);
    const d = t.dims[0]!;
    if (n === undefined) {
      n = d;
      first = name;
    } else if (d !== n) {
      throw new Error(`inputs disagree on the batch size: "${first}" has ${n} samples, "${name}" has ${d}`);
    }
  }
  if (n === undefined) throw new Error("feeds hold no inputs");
  return n;
}

function shapeText(dims: readonly number[]): string {
  return `[${dims.join(", ")}]`;
}

/** Join batches along axis 0. All parts must have the same inputs, dtypes and non-batch dims. */
export function concatFeeds(parts: readonly Feeds[]): Feeds {
  const head = parts[0];
  if (head === undefined) throw new Error("cannot concatenate an empty list of batches");
  if (parts.length === 1) return head;
  const names = Object.keys(head);
  const out: Feeds = {};
  for (const name of names) {
    const tensors = parts.map((p, i) => {
      const t = p[name];
      if (t === undefined) throw new Error(`batch ${i} lacks input "${name}" that batch 0 has`);
      return t;
    });
    out[name] = concatTensors(name, tensors);
  }
  parts.forEach((p, i) => {
    const extra = Object.keys(p).filter((k) => !names.includes(k));
    if (extra.length) throw new Error(`batch ${i} has input(s) ${extra.map((k) => `"${k}"`).join(", ")} that batch 0 lacks`);
  });
  return out;
}

function concatTensors(name: string, tensors: readonly Tensor[]): Tensor {
  const t0 = tensors[0]!;
  if (t0.dims.length === 0) throw new Error(`input "${name}" is a scalar, so it cannot be batched`);
  const inner = t0.dims.slice(1);
  let rows = 0;
  for (const t of tensors) {
    if (t.dtype !== t0.dtype) throw new Error(`cannot batch input "${name}": samples have dtypes ${t0.dtype} and ${t.dtype}`);
    const sameInner = t.dims.length === t0.dims.length && t.dims.every((d, i) => i === 0 || d === t0.dims[i]);
    if (!sameInner) {
      throw new Error(
        `cannot batch input "${name}": samples of shapes ${shapeText(t0.dims)} and ${shapeText(t.dims)} ` +
        "differ beyond the first dimension (use batch size 1 for inputs of varying size)",
      );
    }
    rows += t.dims[0]!;
  }
  const dims = [rows, ...inner];
  if (Array.isArray(t0.data)) {
    return { dtype: t0.dtype, dims, data: tensors.flatMap((t) => t.data as string[]) };
  }
  const Ctor = t0.data.constructor as new (n: number) => TypedArray;
  const data = new Ctor(sizeOf(dims));
  let offset = 0;
  for (const t of tensors) {
    (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data as TypedArray, offset);
    offset += t.data.length;
  }
  return { dtype: t0.dtype, dims, data };
}

/** Samples [start, end) of a batch, as new tensors that own their data. */
export function sliceFeeds(feeds: Feeds, start: number, end: number): Feeds {
  const n = batchSize(feeds);
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
    throw new Error(`cannot take samples [${start}, ${end}) of a batch of ${n}`);
  }
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    const row = sizeOf(t.dims.slice(1));
    out[name] = { dtype: t.dtype, dims: [end - start, ...t.dims.slice(1)], data: t.data.slice(start * row, end * row) as Tensor["data"] };
  }
  return out;
}

export interface RebatchOptions {
  /** Drop a final batch smaller than `size` (for models whose batch dimension is fixed). */
  dropRemainder?: boolean;
}

/**
 * Regroup a source's samples into batches of exactly `size` (the last one may be smaller unless
 * `dropRemainder`), whatever the batch sizes it yields: per-sample feeds are joined, large
 * batches are cut.
 */
export function rebatch(source: DataSource, size: number, options: RebatchOptions = {}): DataSource {
  if (!(Number.isInteger(size) && size >= 1)) throw new Error(`batch size must be a positive integer, got ${size}`);
  return reiterable(async function* () {
    let pending: Feeds[] = [];
    let pendingCount = 0;
    for await (const feeds of source) {
      const n = batchSize(feeds);
      if (n === 0) continue;
      pending.push(feeds);
      pendingCount += n;
      if (pendingCount < size) continue;
      const joined = concatFeeds(pending);
      let start = 0;
      for (; start + size <= pendingCount; start += size) yield sliceFeeds(joined, start, start + size);
      pending = start < pendingCount ? [sliceFeeds(joined, start, pendingCount)] : [];
      pendingCount -= start;
    }
    if (pendingCount > 0 && !options.dropRemainder) yield concatFeeds(pending);
  });
}

/** The first `count` samples of a source (cutting the last batch if needed). */
export function limit(source: DataSource, count: number): DataSource {
  if (!(Number.isInteger(count) && count >= 0)) throw new Error(`sample limit must be a non-negative integer, got ${count}`);
  return reiterable(async function* () {
    if (count === 0) return;
    let taken = 0;
    for await (const feeds of source) {
      const n = batchSize(feeds);
      if (taken + n <= count) {
        taken += n;
        yield feeds;
      } else {
        yield sliceFeeds(feeds, 0, count - taken);
        taken = count;
      }
      if (taken >= count) return;
    }
  });
}

/**
 * The same source, but iterating it throws `message` when it yields no samples at all, so an
 * empty dataset is an error rather than a calibration over nothing.
 */
export function requireSamples(source: DataSource, message: string): DataSource {
  return reiterable(async function* () {
    let total = 0;
    for await (const feeds of source) {
      total += batchSize(feeds);
      yield feeds;
    }
    if (total === 0) throw new Error(message);
  });
}

/** Count the samples a source yields (iterates it once). */
export async function countSamples(source: DataSource): Promise<number> {
  let total = 0;
  for await (const feeds of source) total += batchSize(feeds);
  return total;
}
