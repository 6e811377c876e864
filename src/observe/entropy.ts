/**
 * Entropy (KL-divergence) calibration, TensorRT's algorithm.
 *
 * Source: Szymon Migacz, "8-bit Inference with TensorRT", GTC 2017 (s7310), slide "Entropy
 * Calibration — pseudocode", and NVIDIA's Python port in TensorRT/tools/pytorch-quantization
 * (pytorch_quantization/calib/histogram.py, `_compute_amax_entropy`). On a histogram of |x|
 * (2048 bins in TensorRT), for each candidate number of kept bins i = startBin … nbins:
 *   P = bins[0 … i−1], with the outliers Σ bins[i …] added to P[i−1];
 *   Q = bins[0 … i−1] (without outliers) merged into L levels (L = 128 for int8), then expanded
 *       back over i bins: each level's count is shared equally among the bins of its group that
 *       were non-empty in the original histogram; empty bins stay empty (slides: P = [1 0 2 3 5 3 1 7]
 *       into 2 levels → [6, 16] → Q = [2 0 2 2 4 4 4 4]);
 *   divergence(i) = KL(P/ΣP ‖ Q/ΣQ) = Σ p log(p/q) over p > 0.
 * The i with the smallest divergence wins; threshold = (i + 0.5)·binWidth.
 *
 * Facts pinned down here, with where each comes from:
 *  - threshold = (m + 0.5)·(width of a bin): the GTC 2017 slide, and ncnn's ncnn2table.cpp
 *    (`(target_threshold + 0.5f) * absmax / num_histogram_bins`). pytorch-quantization returns the
 *    bin edge i·binWidth instead; the two differ by half a bin (1/4096 of the histogram range).
 *  - the group of bin j when i is not a multiple of L is floor(j·L/i) (pytorch-quantization's
 *    np.digitize over linspace(0, i, L+1)); ONNX Runtime instead gives the remainder bins to the last
 *    group. Identical whenever L divides i.
 *  - candidates run up to and including i = nbins ("no clipping"), as pytorch-quantization's
 *    range(start_bin, len(bins) + 1); the slides' range(128, 2048) stops one short. Including it
 *    guarantees a finite candidate exists (at i = nbins there are no outliers).
 *  - smoothing: none. pytorch-quantization computes scipy.stats.entropy(P, Q) unsmoothed, so a
 *    candidate whose last kept bin is empty while outliers exist (p > 0 where q = 0) has infinite
 *    divergence and is never chosen. (MXNet/TVM/ONNX Runtime add eps = 1e-4 to zero counts in their
 *    variant, which makes such candidates finite but does not change well-populated cases.)
 *  - ties go to the larger i (pytorch-quantization's "last argmin"), i.e. the wider range; we treat
 *    divergences within 1e-12 of the minimum as tied, since the fast scan below evaluates the
 *    divergence as a difference of sums and exact zeros come out as ±1e-16.
 *  - not adopted: pytorch-quantization sets bins[0] = bins[1] before the search to damp a spike of
 *    exact zeros (e.g. after ReLU); neither the slides nor ncnn do this.
 */
import type { SymmetricHistogram } from "./histogram.js";
import { HistogramObserver } from "./histogram_observer.js";
import { symmetricRange } from "./minmax.js";
import type { ObserverOptions, Range } from "./observer.js";

export interface EntropyCalibration {
  /** (bestBins + 0.5)·binWidth. */
  threshold: number;
  /** The winning number of kept bins i. */
  bestBins: number;
  /** Its divergence. */
  divergence: number;
  /** divergences[k] is the divergence of i = startBin + k. */
  divergences: Float64Array;
}

/**
 * Q before normalisation: `counts[0 … keptBins−1]` merged into `levels` groups (bin j in group
 * floor(j·levels/keptBins)) and expanded back, each group's sum shared equally among its bins that
 * are non-empty in `counts`.
 */
export function candidateDistribution(counts: ArrayLike<number>, keptBins: number, levels: number): Float64Array {
  checkCandidate(counts, keptBins, levels);
  const groupSum = new Float64Array(levels);
  const groupNonEmpty = new Float64Array(levels);
  for (let j = 0; j < keptBins; j++) {
    const g = Math.floor((j * levels) / keptBins);
    groupSum[g]! += counts[j]!;
    if (counts[j]! !== 0) groupNonEmpty[g]!++;
  }
  const q = new Float64Array(keptBins);
  for (let j = 0; j < keptBins; j++) {
    if (counts[j]! === 0) continue;
    const g = Math.floor((j * levels) / keptBins);
    q[j] = groupSum[g]! / groupNonEmpty[g]!;
  }
  return q;
}

/** P before normalisation: the first keptBins bins with every later bin's count added to the last. */
export function referenceDistribution(counts: ArrayLike<number>, keptBins: number): Float64Array {
  if (!Number.isInteger(keptBins) || keptBins < 1 || keptBins > counts.length) {
    throw new Error(`entropy: keptBins must be an integer in [1, ${counts.length}], got ${keptBins}`);
  }
  const p = new Float64Array(keptBins);
  for (let j = 0; j < keptBins; j++) p[j] = counts[j]!;
  for (let j = keptBins; j < counts.length; j++) p[keptBins - 1]! += counts[j]!;
  return p;
}

/**
 * KL(p/Σp ‖ q/Σq) in nats, unsmoothed: terms with p = 0 contribute 0; p > 0 where q = 0 (or Σq = 0)
 * gives +Infinity.
 */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new Error(`klDivergence: lengths differ (${p.length} vs ${q.length})`);
  let sumP = 0;
  let sumQ = 0;
  for (let j = 0; j < p.length; j++) {
    sumP += p[j]!;
    sumQ += q[j]!;
  }
  if (!(sumP > 0)) throw new Error("klDivergence: p has no mass");
  if (!(sumQ > 0)) return Infinity;
  let kl = 0;
  for (let j = 0; j < p.length; j++) {
    const pj = p[j]! / sumP;
    if (pj === 0) continue;
    const qj = q[j]! / sumQ;
    if (qj === 0) return Infinity;
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}

/** The divergence of one candidate, computed literally from the definition (the reference). */
export function entropyDivergence(counts: ArrayLike<number>, keptBins: number, levels = 128): number {
  return klDivergence(referenceDistribution(counts, keptBins), candidateDistribution(counts, keptBins, levels));
}

/**
 * Scans every candidate i = startBin … counts.length on an |x| histogram and returns the winner.
 *
 * Same divergences as `entropyDivergence`, but O(levels) per candidate instead of O(i), using
 * prefix sums. With p̂ = P/N, q̂ = Q/M (N = total, M = Σ bins[0 … i−1]):
 *   KL = (1/N)·Σ_j P_j log(P_j/Q_j) + log(M/N),
 * and within a group g with sum S_g over nz_g non-empty bins every non-empty bin has Q_j = S_g/nz_g, so
 *   Σ_{j<i−1} P_j log(P_j/Q_j) = Σ_{j<i−1} c_j log c_j − Σ_g S'_g log(S_g/nz_g),
 * where S'_g = S_g except for the last group, which excludes the last kept bin (whose P carries the
 * outliers and gets its own term).
 */
export function entropyCalibration(
  counts: ArrayLike<number>, binWidth: number, quantLevels = 128, startBin = 128,
): EntropyCalibration {
  const n = counts.length;
  if (!Number.isInteger(quantLevels) || quantLevels < 1) {
    throw new Error(`entropy: quantLevels must be a positive integer, got ${quantLevels}`);
  }
  if (!Number.isInteger(startBin) || startBin < quantLevels) {
    throw new Error(`entropy: startBin must be an integer ≥ quantLevels (${quantLevels}), got ${startBin}`);
  }
  if (n < startBin) {
    throw new Error(`entropy: the |x| histogram has ${n} bins, fewer than startBin ${startBin}; use more bins`);
  }
  if (!(binWidth >= 0) || !Number.isFinite(binWidth)) {
    throw new Error(`entropy: binWidth must be finite and ≥ 0, got ${binWidth}`);
  }
  const prefixCount = new Float64Array(n + 1);
  const prefixNonEmpty = new Float64Array(n + 1);
  const prefixCLogC = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) {
    const c = counts[j]!;
    if (!(c >= 0) || !Number.isFinite(c)) throw new Error(`entropy: counts[${j}] must be finite and ≥ 0, got ${c}`);
    prefixCount[j + 1] = prefixCount[j]! + c;
    prefixNonEmpty[j + 1] = prefixNonEmpty[j]! + (c > 0 ? 1 : 0);
    prefixCLogC[j + 1] = prefixCLogC[j]! + (c > 0 ? c * Math.log(c) : 0);
  }
  const total = prefixCount[n]!;
  if (total === 0) throw new Error("entropy: empty histogram");

  const L = quantLevels;
  const divergences = new Float64Array(n - startBin + 1);
  for (let i = startBin; i <= n; i++) {
    const kept = prefixCount[i]!;
    const outliers = total - kept;
    const last = counts[i - 1]!;
    let divergence: number;
    if (kept === 0 || (last === 0 && outliers > 0)) {
      divergence = Infinity; // Q has no mass, or no mass where P has the outliers
    } else {
      let sum = prefixCLogC[i - 1]!;
      let lastLogQ = 0;
      let start = 0;
      for (let g = 0; g < L; g++) {
        const end = g === L - 1 ? i : Math.floor(((g + 1) * i + L - 1) / L); // ceil((g+1)·i/L)
        const groupSum = prefixCount[end]! - prefixCount[start]!;
        if (groupSum > 0) {
          const logQ = Math.log(groupSum / (prefixNonEmpty[end]! - prefixNonEmpty[start]!));
          if (g === L - 1) {
            sum -= (groupSum - last) * logQ;
            lastLogQ = logQ;
          } else {
            sum -= groupSum * logQ;
          }
        }
        start = end;
      }
      const lastP = last + outliers;
      if (lastP > 0) sum += lastP * (Math.log(lastP) - lastLogQ);
      divergence = sum / total + Math.log(kept / total);
    }
    divergences[i - startBin] = divergence;
  }

  let minimum = Infinity;
  for (const d of divergences) if (d < minimum) minimum = d;
  let best = divergences.length - 1;
  while (best > 0 && !(divergences[best]! <= minimum + 1e-12)) best--;
  const bestBins = startBin + best;
  return { threshold: (bestBins + 0.5) * binWidth, bestBins, divergence: divergences[best]!, divergences };
}

/** The TensorRT entropy threshold of an |x| histogram; see `entropyCalibration`. */
export function entropyThreshold(counts: ArrayLike<number>, binWidth: number, quantLevels = 128, startBin = 128): number {
  return entropyCalibration(counts, binWidth, quantLevels, startBin).threshold;
}

function checkCandidate(counts: ArrayLike<number>, keptBins: number, levels: number): void {
  if (!Number.isInteger(levels) || levels < 1) throw new Error(`entropy: levels must be a positive integer, got ${levels}`);
  if (!Number.isInteger(keptBins) || keptBins < levels || keptBins > counts.length) {
    throw new Error(`entropy: keptBins must be an integer in [${levels}, ${counts.length}], got ${keptBins}`);
  }
}

/**
 * The entropy observer: folds its signed histogram into |x| bins and runs TensorRT's search with
 * 2^(bits−1) levels (128 for int8), starting at bin max(128, levels).
 * Range: symmetric → [−T, T]; asymmetric → [−T, T] ∩ [min, max] (ReLU outputs keep min 0).
 * T is capped at the observed max |x|: at i = nbins the slide's (i + 0.5)·w lies past every value.
 * Unlike TensorRT, whose 2048 bins span exactly [0, max|x|], our |x| bins span [0, R] with R the
 * power of two above max|x| (what makes histograms merge exactly), so the data fills the top
 * 1024–2048 of them.
 */
export class EntropyObserver extends HistogramObserver {
  readonly method = "entropy" as const;

  constructor(options: ObserverOptions = {}) {
    super(options);
    if (this.options.bins < this.startBin) {
      throw new Error(
        `entropy observer: ${this.options.bits}-bit calibration searches from bin ${this.startBin}, ` +
          `but bins is ${this.options.bins}; pass bins ≥ ${this.startBin}`,
      );
    }
  }

  /** Number of quantization levels of |x|: 2^(bits−1). */
  get quantLevels(): number {
    return 2 ** (this.options.bits - 1);
  }

  get startBin(): number {
    return Math.max(128, this.quantLevels);
  }

  protected rangeFromHistogram(h: SymmetricHistogram): Range {
    // The |x| search assumes mass around 0; data that stays on one side of it (LayerNorm's
    // variance + ε in [1.2, 15.7]) would come back as a degenerate range: keep its min/max.
    if (h.min > 0 || h.max < 0) return { min: h.min, max: h.max };
    const counts = h.absoluteCounts();
    // The spike of exact zeros that ReLU outputs and padding produce would make every merge of
    // bin 0 look costly, so the search would settle on the smallest candidate and clip hard.
    // NVIDIA's pytorch-quantization flattens it the same way (calib/histogram.py,
    // _compute_amax_entropy: bins[0] = bins[1]).
    if (counts.length > 1) counts[0] = counts[1]!;
    // Only zeros seen: nothing to clip.
    if (counts.every((c) => c === 0)) return { min: h.min, max: h.max };
    // Never-negative data quantized asymmetrically uses all 2^bits codes for [0, T] (the
    // `unsigned` case of the same function): twice the levels of a signed |x| histogram.
    const levels = !this.options.symmetric && h.min >= 0 ? 2 * this.quantLevels : this.quantLevels;
    const t = Math.min(entropyThreshold(counts, h.binWidth, levels, Math.max(this.startBin, levels)), h.maxAbs);
    if (this.options.symmetric) return symmetricRange(t);
    return { min: Math.max(-t, h.min), max: Math.min(t, h.max) };
  }
}
