/**
 * AdaRound for one linear layer (Nagel, Amjad, van Baalen, Louizos, Blankevoort 2020, "Up or Down?
 * Adaptive Rounding for Post-Training Quantization").
 *
 * Rounding each weight to nearest minimises each weight's own error, not the layer's output error.
 * AdaRound instead chooses, per weight, floor or ceil to minimise ‖W x − W̃ x‖² over calibration
 * inputs (§3–4, eq. 21–25), relaxed to a continuous problem:
 *
 *   W̃ = s · (clip(⌊W/s⌋ + h(V) + z, qmin, qmax) − z)
 *   h(V) = clip(σ(V)·(ζ − γ) + γ, 0, 1),  ζ = 1.1, γ = −0.1            (rectified sigmoid, eq. 23)
 *   L(V) = ‖W x − W̃ x‖² + λ · Σ_ij (1 − |2h(V_ij) − 1|^β)             (eq. 24–25)
 *
 * with β annealed from 20 to 2 so that the regulariser first lets h move freely and then pushes it
 * to 0 or 1; finally each weight rounds up where h ≥ 0.5. V starts where h(V) equals the fractional
 * part of W/s, i.e. at the float weight.
 *
 * The layer is linear, so with the rows x_r of its inputs (im2col patches for a Conv, see
 * layer_rows.ts) the reconstruction term is, per group g,
 *
 *   (1/R) Σ_r ‖ΔW_g x_r‖² = tr(ΔW_g G_g ΔW_gᵀ),   G_g = (1/R) Σ_r x_r x_rᵀ,   ΔW = W̃ − W,
 *
 * and its gradient 2·ΔW_g·G_g. The Gram matrix is computed once, so each step costs
 * O(M·K²) whatever the number of rows, and every step uses all the rows (full-batch gradient
 * descent with Adam, rather than the paper's mini-batches). The scale of the reconstruction term
 * is "mean over rows of the squared output error summed over channels", as in the BRECQ/AdaRound
 * reference code's `lp_loss` (sum over channels, mean over samples and positions), which is what
 * the usual λ = 0.01 is relative to. Annealing: no regulariser during the first 20% of steps, then β
 * falls linearly from 20 to 2 (the reference code's warm-up and LinearTempDecay).
 */
import { qRange } from "../quant/dtype.js";
import type { QParams } from "../quant/qparams.js";
import { roundHalfToEven } from "../quant/rounding.js";

export const ZETA = 1.1;
export const GAMMA = -0.1;

export interface AdaRoundHyperparameters {
  /** Adam steps (default 1000). */
  iterations: number;
  /** Regulariser weight λ (default 0.01). */
  lambda: number;
  betaStart: number;
  betaEnd: number;
  /** Fraction of steps without the regulariser (default 0.2). */
  warmup: number;
  /** Adam step size on V (default 0.01). */
  learningRate: number;
}

export const DEFAULT_ADAROUND: Readonly<AdaRoundHyperparameters> = Object.freeze({
  iterations: 1000, lambda: 0.01, betaStart: 20, betaEnd: 2, warmup: 0.2, learningRate: 0.01,
});

export function checkHyperparameters(h: AdaRoundHyperparameters): void {
  if (!Number.isInteger(h.iterations) || h.iterations < 0) throw new Error(`AdaRound iterations must be a non-negative integer, got ${h.iterations}`);
  if (!(h.lambda >= 0)) throw new Error(`AdaRound lambda must be ≥ 0, got ${h.lambda}`);
  if (!(h.betaStart > 0 && h.betaEnd > 0)) throw new Error(`AdaRound beta must be > 0, got ${h.betaStart} → ${h.betaEnd}`);
  if (!(h.warmup >= 0 && h.warmup < 1)) throw new Error(`AdaRound warmup must be in [0, 1), got ${h.warmup}`);
  if (!(h.learningRate > 0)) throw new Error(`AdaRound learningRate must be > 0, got ${h.learningRate}`);
}

/**
 * A weight seen as per-group matrices: output channel m (of M) and local column k (of Kg) hold the
 * flat weight element flat[m·Kg + k]; output channel m belongs to group ⌊m / (M/groups)⌋ and its
 * columns are that group's rows of G.
 */
export interface WeightMatrix {
  outChannels: number;
  groups: number;
  /** Columns per group: input channels per group × kernel taps. */
  columns: number;
  flat: Int32Array;
  /** The quantization channel (index into qparams.scale) of each output channel. */
  channelOf: (m: number) => number;
}

/** The problem AdaRound solves for one layer. */
export interface AdaRoundProblem {
  /** Float weights, flat in the layer's layout. */
  weight: Float32Array;
  matrix: WeightMatrix;
  qparams: QParams;
  /**
   * Per group, the [columns × columns] Gram matrix E[x̂ x̂ᵀ] of the rows the quantized layer sees
   * (x̂ = x, the float rows, unless `cross` is given).
   */
  grams: Float64Array[];
  /**
   * Asymmetric reconstruction (Nagel et al. 2020, §4.2 "asymmetric reconstruction"): the quantized
   * layer sees x̂ (its input in the quantized model, errors of earlier layers and its own input
   * quantization included) while the target is the float W x. Then per output channel
   *   E‖wᵀx − w̃ᵀx̂‖² = wᵀ E[x xᵀ] w − 2 w̃ᵀ E[x̂ xᵀ] w + w̃ᵀ E[x̂ x̂ᵀ] w̃,   gradient 2(E[x̂x̂ᵀ] w̃ − E[x̂xᵀ] w).
   * `cross` holds E[x̂ xᵀ] and `floatGrams` E[x xᵀ] per group.
   */
  cross?: Float64Array[];
  floatGrams?: Float64Array[];
}

/** Per weight element: ⌊W/s⌋, the scale, the zero point, and the integer range. */
interface Grid {
  floor: Float64Array;
  scale: Float64Array;
  zero: Float64Array;
  qmin: number;
  qmax: number;
}

function gridOf(p: AdaRoundProblem): Grid {
  const { weight, matrix, qparams } = p;
  const n = weight.length;
  const floor = new Float64Array(n), scale = new Float64Array(n), zero = new Float64Array(n);
  for (let m = 0; m < matrix.outChannels; m++) {
    const ch = qparams.axis === undefined ? 0 : matrix.channelOf(m);
    const s = qparams.scale[ch]!;
    const z = qparams.zeroPoint[ch]!;
    for (let k = 0; k < matrix.columns; k++) {
      const i = matrix.flat[m * matrix.columns + k]!;
      // x / scale in float32, as QuantizeLinear computes it, so that nearest here is the exporter's.
      floor[i] = Math.floor(Math.fround(weight[i]! / s));
      scale[i] = s;
      zero[i] = z;
    }
  }
  const { qmin, qmax } = qRange(qparams.dtype);
  return { floor, scale, zero, qmin, qmax };
}

export function rectifiedSigmoid(v: number): number {
  const h = (1 / (1 + Math.exp(-v))) * (ZETA - GAMMA) + GAMMA;
  return h < 0 ? 0 : h > 1 ? 1 : h;
}

/** V with h(V) = the fractional part of W/s (the float weight), per element. */
export function initialV(p: AdaRoundProblem): Float64Array {
  const grid = gridOf(p);
  const v = new Float64Array(p.weight.length);
  for (let i = 0; i < v.length; i++) {
    const rest = Math.fround(p.weight[i]! / grid.scale[i]!) - grid.floor[i]!; // in [0, 1)
    const sig = (rest - GAMMA) / (ZETA - GAMMA); // in (0.09, 0.91): finite logit
    v[i] = Math.log(sig / (1 - sig));
  }
  return v;
}

/** W̃ for given rounding offsets h (each in [0, 1]). */
function softWeight(grid: Grid, h: ArrayLike<number>, out: Float64Array, inside?: Uint8Array): void {
  for (let i = 0; i < out.length; i++) {
    const q = grid.floor[i]! + h[i]! + grid.zero[i]!;
    const c = q < grid.qmin ? grid.qmin : q > grid.qmax ? grid.qmax : q;
    if (inside) inside[i] = q >= grid.qmin && q <= grid.qmax ? 1 : 0;
    out[i] = grid.scale[i]! * (c - grid.zero[i]!);
  }
}

/** G·v for a row-major symmetric K×K matrix, four partial sums per row (shorter dependency chains). */
function symmetricTimes(G: Float64Array, v: Float64Array, out: Float64Array, K: number): void {
  for (let a = 0; a < K; a++) {
    const row = a * K;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let b = 0;
    for (; b + 3 < K; b += 4) {
      s0 += G[row + b]! * v[b]!;
      s1 += G[row + b + 1]! * v[b + 1]!;
      s2 += G[row + b + 2]! * v[b + 2]!;
      s3 += G[row + b + 3]! * v[b + 3]!;
    }
    for (; b < K; b++) s0 += G[row + b]! * v[b]!;
    out[a] = s0 + s1 + s2 + s3;
  }
}

/** Per output channel of an asymmetric problem: c = E[x̂ xᵀ] w and wᵀ E[x xᵀ] w (constant during the optimisation). */
interface CrossTerms {
  c: Float64Array;
  constant: Float64Array;
}

const crossCache = new WeakMap<AdaRoundProblem, CrossTerms>();

function crossTerms(p: AdaRoundProblem): CrossTerms {
  const known = crossCache.get(p);
  if (known) return known;
  const { matrix, weight } = p;
  if (!p.cross || !p.floatGrams) throw new Error("asymmetric AdaRound needs both cross and floatGrams");
  const K = matrix.columns;
  const perGroup = matrix.outChannels / matrix.groups;
  const c = new Float64Array(matrix.outChannels * K);
  const constant = new Float64Array(matrix.outChannels);
  const w = new Float64Array(K), t = new Float64Array(K);
  for (let m = 0; m < matrix.outChannels; m++) {
    const g = Math.floor(m / perGroup);
    for (let k = 0; k < K; k++) w[k] = weight[matrix.flat[m * K + k]!]!;
    symmetricTimes(p.floatGrams[g]!, w, t, K);
    let q = 0;
    for (let k = 0; k < K; k++) q += w[k]! * t[k]!;
    constant[m] = q;
    // E[x̂ xᵀ] is not symmetric: c_a = Σ_b C[a, b] w_b.
    const C = p.cross[g]!;
    for (let a = 0; a < K; a++) {
      let s = 0;
      for (let b = 0; b < K; b++) s += C[a * K + b]! * w[b]!;
      c[m * K + a] = s;
    }
  }
  const terms = { c, constant };
  crossCache.set(p, terms);
  return terms;
}

/**
 * The reconstruction error E‖W x − W̃ x̂‖² (mean over rows, summed over output channels) of
 * the weights `approx`, and optionally its gradient with respect to them (flat layout).
 * Symmetric case (x̂ = x): tr(ΔW_g G_g ΔW_gᵀ) with ΔW = W̃ − W, gradient 2·ΔW_g·G_g.
 */
export function reconstructionLoss(p: AdaRoundProblem, approx: ArrayLike<number>, gradient?: Float64Array): number {
  const { matrix, grams, weight } = p;
  const K = matrix.columns;
  const perGroup = matrix.outChannels / matrix.groups;
  const asymmetric = p.cross !== undefined;
  const terms = asymmetric ? crossTerms(p) : undefined;
  const v = new Float64Array(K);
  const gv = new Float64Array(K);
  let loss = 0;
  for (let m = 0; m < matrix.outChannels; m++) {
    const G = grams[Math.floor(m / perGroup)]!;
    const base = m * K;
    for (let k = 0; k < K; k++) {
      const i = matrix.flat[base + k]!;
      v[k] = asymmetric ? approx[i]! : approx[i]! - weight[i]!;
    }
    symmetricTimes(G, v, gv, K);
    if (!asymmetric) {
      for (let k = 0; k < K; k++) loss += v[k]! * gv[k]!;
      if (gradient) for (let k = 0; k < K; k++) gradient[matrix.flat[base + k]!] = 2 * gv[k]!;
    } else {
      const c = terms!.c;
      let l = terms!.constant[m]!;
      for (let k = 0; k < K; k++) l += v[k]! * gv[k]! - 2 * v[k]! * c[base + k]!;
      loss += l;
      if (gradient) for (let k = 0; k < K; k++) gradient[matrix.flat[base + k]!] = 2 * (gv[k]! - c[base + k]!);
    }
  }
  return loss;
}

export interface RelaxedLoss {
  loss: number;
  reconstruction: number;
  regularizer: number;
  /** ∂loss/∂V, flat layout. */
  gradient: Float64Array;
}

/** The relaxed objective L(V) at regulariser weight λ and exponent β, with its gradient (hand-derived). */
export function relaxedLoss(p: AdaRoundProblem, v: Float64Array, lambda: number, beta: number): RelaxedLoss {
  const grid = gridOf(p);
  return relaxedLossOnGrid(p, grid, v, lambda, beta, new Float64Array(v.length));
}

function relaxedLossOnGrid(p: AdaRoundProblem, grid: Grid, v: Float64Array, lambda: number, beta: number, gradient: Float64Array): RelaxedLoss {
  const n = v.length;
  const h = new Float64Array(n);
  const dhdv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sig = 1 / (1 + Math.exp(-v[i]!));
    const raw = sig * (ZETA - GAMMA) + GAMMA;
    // Outside (0, 1) the clip is flat: no gradient (as autograd gives for clamp).
    if (raw <= 0) h[i] = 0;
    else if (raw >= 1) h[i] = 1;
    else {
      h[i] = raw;
      dhdv[i] = sig * (1 - sig) * (ZETA - GAMMA);
    }
  }
  const approx = new Float64Array(n);
  const inside = new Uint8Array(n);
  softWeight(grid, h, approx, inside);
  const dLdW = new Float64Array(n);
  const reconstruction = reconstructionLoss(p, approx, dLdW);
  let regularizer = 0;
  for (let i = 0; i < n; i++) {
    const u = 2 * h[i]! - 1;
    const au = Math.abs(u);
    regularizer += 1 - au ** beta;
    // d/dh (1 − |2h − 1|^β) = −2β·|u|^(β−1)·sign(u)
    const dRegDh = au === 0 ? 0 : -2 * beta * au ** (beta - 1) * Math.sign(u);
    const dWdh = inside[i] ? grid.scale[i]! : 0;
    gradient[i] = (dLdW[i]! * dWdh + lambda * dRegDh) * dhdv[i]!;
  }
  return { loss: reconstruction + lambda * regularizer, reconstruction, regularizer, gradient };
}

export interface AdaRoundOutcome {
  /** The chosen integer weights (zero point included), flat layout. */
  q: Int32Array;
  /** Reconstruction loss tr(ΔW G ΔWᵀ) with nearest rounding and with the chosen rounding. */
  lossNearest: number;
  lossAdaRound: number;
  /** Weights rounded differently from nearest. */
  changed: number;
  /** Weights whose h(V) ended strictly between 0 and 1 (should be ≈ 0 after annealing). */
  undecided: number;
}

/** Integer weights with rounding offsets `up` (0 or 1) on ⌊W/s⌋, clamped. */
function hardQuantize(grid: Grid, up: (i: number) => number): Int32Array {
  const q = new Int32Array(grid.floor.length);
  for (let i = 0; i < q.length; i++) {
    const v = grid.floor[i]! + up(i) + grid.zero[i]!;
    q[i] = v < grid.qmin ? grid.qmin : v > grid.qmax ? grid.qmax : v;
  }
  return q;
}

function dequantizeFlat(grid: Grid, q: Int32Array): Float64Array {
  const out = new Float64Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = Math.fround(grid.scale[i]! * (q[i]! - grid.zero[i]!));
  return out;
}

/** Round-to-nearest (half to even, as QuantizeLinear) integer weights of the problem. */
export function nearestIntegers(p: AdaRoundProblem): Int32Array {
  const grid = gridOf(p);
  const q = new Int32Array(p.weight.length);
  for (let i = 0; i < q.length; i++) {
    const v = roundHalfToEven(Math.fround(p.weight[i]! / grid.scale[i]!)) + grid.zero[i]!;
    q[i] = v < grid.qmin ? grid.qmin : v > grid.qmax ? grid.qmax : v;
  }
  return q;
}

/** Runs AdaRound on one layer. */
export function adaroundLayer(p: AdaRoundProblem, hyper: AdaRoundHyperparameters = DEFAULT_ADAROUND): AdaRoundOutcome {
  checkHyperparameters(hyper);
  const grid = gridOf(p);
  const n = p.weight.length;
  const v = initialV(p);
  const m1 = new Float64Array(n), m2 = new Float64Array(n), gradient = new Float64Array(n);
  const b1 = 0.9, b2 = 0.999, eps = 1e-8; // Adam (Kingma & Ba 2015) defaults
  const warmupSteps = Math.floor(hyper.warmup * hyper.iterations);
  for (let t = 0; t < hyper.iterations; t++) {
    let lambda = 0;
    let beta = hyper.betaStart;
    if (t >= warmupSteps) {
      const rel = (t - warmupSteps) / Math.max(1, hyper.iterations - warmupSteps);
      beta = hyper.betaEnd + (hyper.betaStart - hyper.betaEnd) * Math.max(0, 1 - rel);
      lambda = hyper.lambda;
    }
    relaxedLossOnGrid(p, grid, v, lambda, beta, gradient);
    const c1 = 1 - b1 ** (t + 1), c2 = 1 - b2 ** (t + 1);
    for (let i = 0; i < n; i++) {
      const g = gradient[i]!;
      m1[i] = b1 * m1[i]! + (1 - b1) * g;
      m2[i] = b2 * m2[i]! + (1 - b2) * g * g;
      v[i]! -= (hyper.learningRate * (m1[i]! / c1)) / (Math.sqrt(m2[i]! / c2) + eps);
    }
  }
  let undecided = 0;
  const h = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    h[i] = rectifiedSigmoid(v[i]!);
    if (h[i]! > 0 && h[i]! < 1) undecided++;
  }
  const q = hardQuantize(grid, (i) => (h[i]! >= 0.5 ? 1 : 0));
  const nearest = nearestIntegers(p);
  let changed = 0;
  for (let i = 0; i < n; i++) if (q[i] !== nearest[i]) changed++;
  const lossNearest = reconstructionLoss(p, dequantizeFlat(grid, nearest));
  const lossAdaRound = reconstructionLoss(p, dequantizeFlat(grid, q));
  // Never worse than nearest on the data it was fitted to.
  if (lossAdaRound > lossNearest) {
    return { q: nearest, lossNearest, lossAdaRound: lossNearest, changed: 0, undecided };
  }
  return { q, lossNearest, lossAdaRound, changed, undecided };
}
