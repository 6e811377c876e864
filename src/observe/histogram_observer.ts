/**
 * What the histogram-based observers (percentile, entropy, MSE) share: they all record the same
 * exactly-mergeable signed histogram (histogram.ts) and differ only in how `range()` reads it.
 */
import { SymmetricHistogram } from "./histogram.js";
import {
  assertFloat32Array, noDataError, resolveObserverOptions, stateToMerge,
  type HistogramObserverState, type Observer, type ObserverOptions, type ObserverState, type Range,
  type ResolvedObserverOptions,
} from "./observer.js";

export abstract class HistogramObserver implements Observer {
  abstract readonly method: HistogramObserverState["method"];
  readonly options: Readonly<ResolvedObserverOptions>;
  protected histogram: SymmetricHistogram;

  constructor(options: ObserverOptions = {}) {
    this.options = Object.freeze(resolveObserverOptions(options));
    this.histogram = new SymmetricHistogram(this.options.bins);
  }

  update(values: Float32Array): void {
    assertFloat32Array(values, this.method);
    this.histogram.add(values, `${this.method} observer`);
  }

  range(): Range {
    if (this.histogram.isEmpty) throw noDataError(this.method);
    return this.rangeFromHistogram(this.histogram);
  }

  /** The recorded histogram (a copy), for analysis and reports. */
  snapshot(): SymmetricHistogram {
    return this.histogram.clone();
  }

  state(): HistogramObserverState {
    return { method: this.method, options: { ...this.options }, histogram: this.histogram.state() };
  }

  merge(other: Observer | ObserverState): void {
    const state = stateToMerge(this, other) as HistogramObserverState;
    if (state.histogram === null || typeof state.histogram !== "object") {
      throw new Error(`${this.method} observer: merge state has no histogram`);
    }
    this.histogram.merge(SymmetricHistogram.fromState(state.histogram));
  }

  /** Restores recorded statistics from state (used by observerFromState). */
  restore(state: HistogramObserverState): this {
    this.histogram = SymmetricHistogram.fromState(state.histogram);
    if (this.histogram.halfBins !== this.options.bins) {
      throw new Error(`${this.method} observer state: histogram has ${this.histogram.halfBins} |x| bins, options say ${this.options.bins}`);
    }
    return this;
  }

  protected abstract rangeFromHistogram(histogram: SymmetricHistogram): Range;
}
