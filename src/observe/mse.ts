/**
 * MSE: choose the clipping range that minimises the expected squared quantization error over the
 * recorded distribution — rounding error for values inside the range plus clipping error for values
 * outside it — with every value of a bin taken at the bin's centre:
 *   E(range) = Σ_bins count · (centre − Q_range(centre))².
 * This follows NVIDIA pytorch-quantization's `_compute_amax_mse`
 * (pytorch_quantization/calib/histogram.py: fake-quantize the bin centres for each candidate amax,
 * weight the squared error by the counts), extended to asymmetric ranges.
 *
 * Q_range is the integer grid quant/ will build from the range (docs: DESIGN "The arithmetic"), so
 * the error measured is the error deployed. With qmax − qmin = 2^bits − 1 (2^bits − 2 if narrowRange):
 *   symmetric [−T, T]: scale s = T / ((qmax − qmin)/2), zero point 0, q ∈ [qmin, qmax];
 *   asymmetric [lo, hi]: the range is first widened to include 0, s = (hi − lo)/(qmax − qmin),
 *     zero point round(qmin − lo/s) clamped to [qmin, qmax];
 *   Q(x) = s·(clamp(round(x/s) + zp, qmin, qmax) − zp).
 *
 * Search:
 *   symmetric: every |x| bin edge below max|x|, plus max|x| itself (pytorch-quantization scans bin
 *     centres from bin 128 up; we scan all edges — the objective needs no floor);
 *   asymmetric with values on both sides of 0: a grid of shrink factors (lo, hi) = (a·min, b·max),
 *     a, b ∈ {1/32, 2/32, …, 1}, then a finer grid (steps of 1/512) within ±1/32 of the best;
 *   asymmetric with values on one side only: a 1-D scan of that side's end over bin edges (the other
 *     end is 0 after widening, so it cannot matter).
 * Ties go to the wider range. The result never extends past the observed [min, max].
 */
import type { SymmetricHistogram } from "./histogram.js";
import { HistogramObserver } from "./histogram_observer.js";
import { symmetricRange } from "./minmax.js";
import type { Range } from "./observer.js";

/** The integer grid a range is quantized onto: real values s·k for integers k in [kMin, kMax]. */
export interface QuantizationGrid {
  scale: number;
  kMin: number;
  kMax: number;
}

/** qmax − qmin for a width. */
export function integerSpan(bits: number, narrowRange: boolean): number {
  return 2 ** bits - 1 - (narrowRange ? 1 : 0);
}

/** The grid of a symmetric range [−t, t]: s = t/(span/2), k ∈ [−ceil(span/2), floor(span/2)]. */
export function symmetricGrid(t: number, bits: number, narrowRange: boolean): QuantizationGrid {
  const span = integerSpan(bits, narrowRange);
  return { scale: (2 * t) / span, kMin: -Math.ceil(span / 2), kMax: Math.floor(span / 2) };
}

/** The grid of an asymmetric range, widened to include 0, with the zero point rounded (0 is exact). */
export function asymmetricGrid(lo: number, hi: number, bits: number, narrowRange: boolean): QuantizationGrid {
  const span = integerSpan(bits, narrowRange);
  const low = Math.min(lo, 0);
  const high = Math.max(hi, 0);
  const scale = (high - low) / span;
  if (scale === 0) return { scale: 0, kMin: 0, kMax: 0 };
  // With qmin = 0 (the grid is the same for any qmin): zp = round(−low/s) in [0, span], k = q − zp.
  const zeroPoint = Math.min(span, Math.max(0, Math.round(-low / scale)));
  return { scale, kMin: zeroPoint === 0 ? 0 : -zeroPoint, kMax: span - zeroPoint };
}

/** Σ counts[b]·(values[b] − Q(values[b]))² for a grid. */
export function squaredQuantizationError(values: Float64Array, counts: Float64Array, grid: QuantizationGrid): number {
  const { scale, kMin, kMax } = grid;
  let error = 0;
  if (scale === 0) {
    for (let b = 0; b < values.length; b++) error += counts[b]! * values[b]! * values[b]!;
    return error;
  }
  const inverse = 1 / scale;
  for (let b = 0; b < values.length; b++) {
    const x = values[b]!;
    let k = Math.round(x * inverse);
    if (k < kMin) k = kMin;
    else if (k > kMax) k = kMax;
    const e = x - k * scale;
    error += counts[b]! * e * e;
  }
  return error;
}

/** The non-empty bins of a signed histogram as (centre, count) pairs. */
export function binCentres(h: SymmetricHistogram): { centres: Float64Array; counts: Float64Array } {
  const w = h.binWidth;
  const centres: number[] = [];
  const counts: number[] = [];
  for (let k = 0; k < h.counts.length; k++) {
    const c = h.counts[k]!;
    if (c === 0) continue;
    centres.push(-h.limit + (k + 0.5) * w);
    counts.push(c);
  }
  return { centres: Float64Array.from(centres), counts: Float64Array.from(counts) };
}

export interface MseSearchInput {
  centres: Float64Array;
  counts: Float64Array;
  /** Exact observed extremes. */
  min: number;
  max: number;
  /** Candidate ends are multiples of this (the histogram bin width). */
  binWidth: number;
  bits: number;
  symmetric: boolean;
  narrowRange: boolean;
}

/** The range minimising the squared quantization error; see the file comment. */
export function mseRange(input: MseSearchInput): Range {
  const { centres, counts, min, max, binWidth: w, bits, narrowRange } = input;
  if (!(min <= max)) throw new Error(`mseRange: need min ≤ max, got ${min}, ${max}`);
  if (input.symmetric) {
    const maxAbs = Math.max(-min, max);
    const t = bestEnd(maxAbs, w, (t) => squaredQuantizationError(centres, counts, symmetricGrid(t, bits, narrowRange)));
    return symmetricRange(t);
  }
  const error = (lo: number, hi: number) =>
    squaredQuantizationError(centres, counts, asymmetricGrid(lo, hi, bits, narrowRange));
  if (min >= 0) return { min, max: bestEnd(max, w, (hi) => error(0, hi)) };
  if (max <= 0) return { min: -bestEnd(-min, w, (t) => error(-t, 0)), max };

  // Both signs: coarse grid of shrink factors, then a finer one around the coarse optimum.
  const coarse = 32;
  let bestA = 1;
  let bestB = 1;
  let bestError = error(min, max);
  for (let a = coarse; a >= 1; a--) {
    for (let b = coarse; b >= 1; b--) {
      const e = error((min * a) / coarse, (max * b) / coarse);
      if (e < bestError) {
        bestError = e;
        bestA = a / coarse;
        bestB = b / coarse;
      }
    }
  }
  const fine = coarse * 16;
  const centreA = Math.round(bestA * fine);
  const centreB = Math.round(bestB * fine);
  let fineA = centreA;
  let fineB = centreB;
  for (let a = Math.min(fine, centreA + 16); a >= Math.max(1, centreA - 16); a--) {
    for (let b = Math.min(fine, centreB + 16); b >= Math.max(1, centreB - 16); b--) {
      const e = error((min * a) / fine, (max * b) / fine);
      if (e < bestError) {
        bestError = e;
        fineA = a;
        fineB = b;
      }
    }
  }
  return { min: (min * fineA) / fine, max: (max * fineB) / fine };
}

/**
 * The best end t in {bin edges in (0, extent)} ∪ {extent}, scanning from the widest down so that
 * ties keep the wider range.
 */
function bestEnd(extent: number, w: number, error: (t: number) => number): number {
  let best = extent;
  let bestError = error(extent);
  if (w > 0) {
    for (let j = Math.ceil(extent / w) - 1; j >= 1; j--) {
      const t = j * w;
      if (t >= extent) continue;
      const e = error(t);
      if (e < bestError) {
        bestError = e;
        best = t;
      }
    }
  }
  return best;
}

export class MseObserver extends HistogramObserver {
  readonly method = "mse" as const;

  protected rangeFromHistogram(h: SymmetricHistogram): Range {
    const { centres, counts } = binCentres(h);
    return mseRange({
      centres, counts, min: h.min, max: h.max, binWidth: h.binWidth,
      bits: this.options.bits, symmetric: this.options.symmetric, narrowRange: this.options.narrowRange,
    });
  }
}
