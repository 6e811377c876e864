/**
 * Percentile: clip the rarest (100 − p)% of values (default p = 99.99, NVIDIA pytorch-quantization's
 * `_compute_amax_percentile` default).
 *   symmetric:  T = the p-th percentile of |x|, range [−T, T];
 *   asymmetric: range [the (100 − p)-th percentile of x, the p-th percentile of x].
 * (ONNX Runtime's PercentileCalibrater instead cuts (100 − p)/2 % from each side when asymmetric.)
 *
 * Percentiles come from the histogram with linear interpolation inside a bin: values are taken to be
 * spread evenly across each bin, so the q-quantile is
 *   edge_k + (q·N − C_{k−1}) / c_k · w
 * where k is the first non-empty bin whose cumulative count C_k reaches q·N. (pytorch-quantization
 * and ONNX Runtime return the bin edge found by searchsorted instead, without interpolation.)
 * Results are clamped to the exact observed extremes, so p = 100 gives exactly MinMax.
 */
import type { SymmetricHistogram } from "./histogram.js";
import { HistogramObserver } from "./histogram_observer.js";
import { symmetricRange } from "./minmax.js";
import type { Range } from "./observer.js";

/**
 * The q-quantile (q in [0, 1]) of a histogram whose bin k covers [firstEdge + k·w, firstEdge + (k+1)·w),
 * interpolating linearly within the bin. q = 0 gives the lower edge of the first non-empty bin,
 * q = 1 the upper edge of the last. Throws on an empty histogram.
 */
export function histogramQuantile(counts: ArrayLike<number>, firstEdge: number, binWidth: number, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`histogramQuantile: q must be in [0, 1], got ${q}`);
  let total = 0;
  for (let k = 0; k < counts.length; k++) total += counts[k]!;
  if (total === 0) throw new Error("histogramQuantile: empty histogram");
  const target = q * total;
  let before = 0;
  let lastNonEmpty = -1;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!;
    if (c === 0) continue;
    if (before + c >= target) return firstEdge + (k + (target - before) / c) * binWidth;
    before += c;
    lastNonEmpty = k;
  }
  return firstEdge + (lastNonEmpty + 1) * binWidth; // only reached through rounding in q·total
}

export class PercentileObserver extends HistogramObserver {
  readonly method = "percentile" as const;

  protected rangeFromHistogram(h: SymmetricHistogram): Range {
    const p = this.options.percentile / 100;
    const w = h.binWidth;
    if (this.options.symmetric) {
      const t = histogramQuantile(h.absoluteCounts(), 0, w, p);
      return symmetricRange(Math.min(t, h.maxAbs));
    }
    const lo = histogramQuantile(h.counts, -h.limit, w, 1 - p);
    const hi = histogramQuantile(h.counts, -h.limit, w, p);
    return { min: clamp(lo, h.min, h.max), max: clamp(hi, h.min, h.max) };
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
