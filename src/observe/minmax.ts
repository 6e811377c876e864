/**
 * MinMax: the range is the exact extremes of everything observed (PyTorch MinMaxObserver).
 * Asymmetric → [min, max]; symmetric → [−m, m] with m = max(|min|, |max|).
 * Merging takes the extremes of both, so it equals observing the union exactly.
 */
import {
  assertFloat32Array, noDataError, nonNegativeInteger, nullableFinite, resolveObserverOptions,
  stateToMerge, type MinMaxState, type Observer, type ObserverOptions, type ObserverState, type Range,
  type ResolvedObserverOptions,
} from "./observer.js";
import { batchExtremes } from "./extremes.js";

/** [−m, m] with m = max(|min|, |max|): the symmetric range covering [min, max]. */
export function symmetricCover(min: number, max: number): Range {
  return symmetricRange(Math.max(Math.abs(min), Math.abs(max)));
}

/** [−t, t], with 0 rather than −0 when t = 0 (so ranges compare and serialise plainly). */
export function symmetricRange(t: number): Range {
  return { min: t === 0 ? 0 : -t, max: t };
}

export class MinMaxObserver implements Observer {
  readonly method = "minmax" as const;
  readonly options: Readonly<ResolvedObserverOptions>;
  private min = Infinity;
  private max = -Infinity;
  private count = 0;

  constructor(options: ObserverOptions = {}) {
    this.options = Object.freeze(resolveObserverOptions(options));
  }

  update(values: Float32Array): void {
    assertFloat32Array(values, this.method);
    const batch = batchExtremes(values, `${this.method} observer`);
    if (batch.min < this.min) this.min = batch.min;
    if (batch.max > this.max) this.max = batch.max;
    this.count += values.length;
  }

  range(): Range {
    if (this.count === 0) throw noDataError(this.method);
    return this.options.symmetric ? symmetricCover(this.min, this.max) : { min: this.min, max: this.max };
  }

  state(): MinMaxState {
    const empty = this.count === 0;
    return {
      method: this.method,
      options: { ...this.options },
      min: empty ? null : this.min,
      max: empty ? null : this.max,
      count: this.count,
    };
  }

  merge(other: Observer | ObserverState): void {
    const s = readMinMaxState(stateToMerge(this, other) as MinMaxState);
    if (s.count === 0) return;
    if (s.min < this.min) this.min = s.min;
    if (s.max > this.max) this.max = s.max;
    this.count += s.count;
  }

  /** Restores recorded statistics from state (used by observerFromState). */
  restore(state: MinMaxState): this {
    const s = readMinMaxState(state);
    this.min = s.min;
    this.max = s.max;
    this.count = s.count;
    return this;
  }
}

function readMinMaxState(state: MinMaxState): { min: number; max: number; count: number } {
  const count = nonNegativeInteger(state.count, "minmax count");
  const min = nullableFinite(state.min, "minmax min");
  const max = nullableFinite(state.max, "minmax max");
  if (count === 0) {
    if (min !== null || max !== null) throw new Error("observer state: minmax with count 0 must have min and max null");
    return { min: Infinity, max: -Infinity, count };
  }
  if (min === null || max === null || min > max) {
    throw new Error(`observer state: minmax needs min ≤ max, got ${String(min)}, ${String(max)}`);
  }
  return { min, max, count };
}
