/**
 * Moving-average MinMax, as PyTorch's MovingAverageMinMaxObserver (torch/ao/quantization/observer.py):
 * the first non-empty batch sets min and max; each later batch moves them toward its own extremes,
 *   min ← min + c·(batch_min − min),   max ← max + c·(batch_max − max),
 * with c = averagingConstant (default 0.01, PyTorch's). Symmetric → [−m, m], m = max(|min|, |max|).
 *
 * Merging: an exponential moving average depends on batch order, so no merge can reproduce serial
 * observation. We take the batch-count-weighted mean of the two estimates,
 *   min = (b₁·min₁ + b₂·min₂)/(b₁ + b₂)   (likewise max),  b = b₁ + b₂,
 * which is what each side estimates anyway (the typical batch extreme) when both saw batches from
 * the same distribution, trusting the side that saw more batches more. Merging with an empty side
 * leaves the other unchanged; merging into an empty observer copies the other.
 */
import { symmetricCover } from "./minmax.js";
import {
  assertFloat32Array, noDataError, nonNegativeInteger, nullableFinite, resolveObserverOptions,
  stateToMerge, type MovingAverageState, type Observer, type ObserverOptions, type ObserverState, type Range,
  type ResolvedObserverOptions,
} from "./observer.js";
import { batchExtremes } from "./extremes.js";

export class MovingAverageMinMaxObserver implements Observer {
  readonly method = "moving-average" as const;
  readonly options: Readonly<ResolvedObserverOptions>;
  private min = 0;
  private max = 0;
  private batches = 0;

  constructor(options: ObserverOptions = {}) {
    this.options = Object.freeze(resolveObserverOptions(options));
  }

  update(values: Float32Array): void {
    assertFloat32Array(values, this.method);
    const { min: lo, max: hi } = batchExtremes(values, `${this.method} observer`);
    if (values.length === 0) return; // an empty batch has no extremes to average in
    if (this.batches === 0) {
      this.min = lo;
      this.max = hi;
    } else {
      const c = this.options.averagingConstant;
      this.min = this.min + c * (lo - this.min);
      this.max = this.max + c * (hi - this.max);
    }
    this.batches++;
  }

  range(): Range {
    if (this.batches === 0) throw noDataError(this.method);
    return this.options.symmetric ? symmetricCover(this.min, this.max) : { min: this.min, max: this.max };
  }

  state(): MovingAverageState {
    const empty = this.batches === 0;
    return {
      method: this.method,
      options: { ...this.options },
      min: empty ? null : this.min,
      max: empty ? null : this.max,
      batches: this.batches,
    };
  }

  merge(other: Observer | ObserverState): void {
    const s = readMovingAverageState(stateToMerge(this, other) as MovingAverageState);
    if (s.batches === 0) return;
    const total = this.batches + s.batches;
    this.min = (this.batches * this.min + s.batches * s.min) / total;
    this.max = (this.batches * this.max + s.batches * s.max) / total;
    this.batches = total;
  }

  /** Restores recorded statistics from state (used by observerFromState). */
  restore(state: MovingAverageState): this {
    const s = readMovingAverageState(state);
    this.min = s.min;
    this.max = s.max;
    this.batches = s.batches;
    return this;
  }
}

function readMovingAverageState(state: MovingAverageState): { min: number; max: number; batches: number } {
  const batches = nonNegativeInteger(state.batches, "moving-average batches");
  const min = nullableFinite(state.min, "moving-average min");
  const max = nullableFinite(state.max, "moving-average max");
  if (batches === 0) {
    if (min !== null || max !== null) throw new Error("observer state: moving-average with 0 batches must have min and max null");
    return { min: 0, max: 0, batches };
  }
  if (min === null || max === null || min > max) {
    throw new Error(`observer state: moving-average needs min ≤ max, got ${String(min)}, ${String(max)}`);
  }
  return { min, max, batches };
}
