/**
 * Activation ranges during quantization-aware training, as Jacob et al. 2018 (§3, "Learning
 * quantization ranges") collect them: an exponential moving average of each batch's minimum and
 * maximum, smoothed over thousands of steps in their runs; the first batch sets the range, then
 *
 *   min ← decay·min + (1 − decay)·batch_min,    max ← decay·max + (1 − decay)·batch_max.
 *
 * Once frozen, the range no longer moves: the last part of training adapts the weights to the
 * final quantization grid, which is what the exported model will use.
 */
export interface RangeState {
  min: number;
  max: number;
  /** Batches observed. */
  count: number;
  frozen: boolean;
}

export class EmaRangeTracker {
  min = 0;
  max = 0;
  count = 0;
  frozen = false;

  constructor(readonly decay: number) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA decay must be in [0, 1), got ${decay}`);
  }

  /** Folds one batch's values into the range (nothing once frozen). NaN is an error. */
  observe(values: Float32Array, what: string): void {
    if (this.frozen || values.length === 0) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (v !== v) throw new Error(`activation ${what} has NaN at index ${i}`);
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`activation ${what} has an infinite value (range [${lo}, ${hi}])`);
    if (this.count === 0) {
      this.min = lo;
      this.max = hi;
    } else {
      this.min = this.decay * this.min + (1 - this.decay) * lo;
      this.max = this.decay * this.max + (1 - this.decay) * hi;
    }
    this.count++;
  }

  get hasRange(): boolean {
    return this.count > 0;
  }

  state(): RangeState {
    return { min: this.min, max: this.max, count: this.count, frozen: this.frozen };
  }

  load(s: RangeState, what: string): void {
    if (![s.min, s.max, s.count].every(Number.isFinite) || s.min > s.max || s.count < 0) {
      throw new Error(`saved range of ${what} is invalid: ${JSON.stringify(s)}`);
    }
    this.min = s.min;
    this.max = s.max;
    this.count = s.count;
    this.frozen = !!s.frozen;
  }
}
