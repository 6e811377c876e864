/**
 * Finite-difference gradient checking (test helper, not a test file).
 *
 * For an op f and random inputs, take L = Σ r·f(inputs) with fixed random weights r (so every
 * output element matters, with different weights). The analytic gradient comes from backward(y,
 * seed = r); the numeric one from the central difference (L(x + ε) − L(x − ε)) / 2ε for every
 * input element, with L summed in float64 from the float32 outputs. Central differences are exact
 * for quadratics and have O(ε²) error otherwise; inputs are chosen away from kinks by the tests.
 */
import assert from "node:assert/strict";
import { Rng } from "../../src/train/init.js";
import { backward, parameter, type Var } from "../../src/train/tape.js";

export interface GradCheckInput {
  data: Float32Array;
  dims: number[];
}

export interface GradCheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  /** Indices of inputs not to check (e.g. integer-like or fixed inputs). */
  skip?: number[];
}

export function gradCheck(name: string, f: (xs: Var[]) => Var, inputs: GradCheckInput[], opts: GradCheckOptions = {}): void {
  const eps = opts.eps ?? 1e-2;
  const rtol = opts.rtol ?? 1e-2;
  const atol = opts.atol ?? 2e-3;
  const rng = new Rng(opts.seed ?? 7);
  const params = inputs.map((t) => parameter(t.data.slice(), t.dims));
  const y = f(params);
  const r = new Float32Array(y.size);
  for (let i = 0; i < r.length; i++) r[i] = rng.uniform() * 2 - 1;
  backward(y, r);
  const loss = (xs: Float32Array[]): number => {
    const out = f(xs.map((d, k) => parameter(d, inputs[k]!.dims)));
    let s = 0;
    for (let i = 0; i < out.size; i++) s += r[i]! * out.data[i]!;
    return s;
  };
  inputs.forEach((input, k) => {
    if (opts.skip?.includes(k)) return;
    const analytic = params[k]!.grad ?? new Float32Array(input.data.length);
    for (let i = 0; i < input.data.length; i++) {
      const datas = inputs.map((t) => t.data.slice());
      const orig = input.data[i]!;
      datas[k]![i] = orig + eps;
      const plus = loss(datas);
      datas[k]![i] = orig - eps;
      const minus = loss(datas);
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i]!;
      const tol = atol + rtol * Math.max(Math.abs(a), Math.abs(numeric));
      assert.ok(Math.abs(a - numeric) <= tol, `${name}: input ${k} element ${i}: analytic ${a} vs numeric ${numeric}`);
    }
  });
}

/** Uniform values in [lo, hi) from a seeded Rng. */
export function randomInput(rng: Rng, dims: number[], lo = -1, hi = 1): GradCheckInput {
  const n = dims.reduce((s, d) => s * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rng.uniform();
  return { data, dims };
}

/** Values at least `gap` apart (a shuffled ramp), so maxima and kinks stay put under ±ε. */
export function separatedInput(rng: Rng, dims: number[], gap = 0.05, offset = 0): GradCheckInput {
  const n = dims.reduce((s, d) => s * d, 1);
  const order = rng.permutation(n);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = offset + (order[i]! - n / 2) * gap;
  return { data, dims };
}
