/**
 * What data/ hands to the rest of octet: feeds (model inputs by name, one batch each) and
 * data sources (async iterables of feeds).
 */
import type { Tensor } from "../tensor/tensor.js";

/** Model inputs by input name; every tensor's first dimension is the batch. */
export type Feeds = Record<string, Tensor>;

/**
 * A stream of batches. Every source data/ builds can be iterated more than once, each iteration
 * starting from the first sample again, because calibration may need several passes (e.g. a
 * histogram observer first finds the range, then fills its bins).
 */
export type DataSource = AsyncIterable<Feeds>;

/** Wrap an async generator function as a source that restarts on every iteration. */
export function reiterable(generate: () => AsyncGenerator<Feeds>): DataSource {
  return { [Symbol.asyncIterator]: () => generate() };
}
