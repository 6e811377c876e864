/**
 * Optimisers updating parameters in place from their gradients.
 *
 * SGD with momentum, as PyTorch writes it (torch.optim.SGD):
 *   g ← ∇ + λ·w;  v ← μ·v + g;  w ← w − η·(nesterov ? g + μ·v : v)
 * Adam (Kingma & Ba, 2015, Algorithm 1) with bias correction; weight decay either as L2 added to
 * the gradient (Adam) or decoupled from it (AdamW, Loshchilov & Hutter, 2019: w ← w − η·λ·w).
 */
import type { Var } from "./tape.js";

export interface Optimizer {
  /** Applies one update with learning rate `lr` to every parameter that has a gradient. */
  step(lr: number): void;
  /** Clears the parameters' gradients (call before each backward pass). */
  zeroGrad(): void;
  readonly params: readonly Var[];
}

export interface SgdOptions {
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

function checkParams(params: readonly Var[]): void {
  for (const p of params) if (!p.requiresGrad) throw new Error("optimizer given a Var that is not a parameter");
}

function checkLr(lr: number): void {
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`learning rate must be a finite number ≥ 0, got ${lr}`);
}

export class Sgd implements Optimizer {
  private readonly velocity: Float32Array[];
  private readonly momentum: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;

  constructor(readonly params: readonly Var[], opts: SgdOptions = {}) {
    checkParams(params);
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`SGD momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`weight decay must be ≥ 0, got ${this.weightDecay}`);
    if (this.nesterov && this.momentum === 0) throw new Error("Nesterov momentum needs momentum > 0");
    this.velocity = params.map((p) => new Float32Array(p.size));
  }

  step(lr: number): void {
    checkLr(lr);
    const { momentum: mu, weightDecay: wd, nesterov } = this;
    this.params.forEach((p, k) => {
      const grad = p.grad;
      if (!grad) return;
      const w = p.data;
      const v = this.velocity[k]!;
      // Two loops rather than a per-element test of `nesterov`.
      if (nesterov) {
        for (let i = 0; i < w.length; i++) {
          const g = grad[i]! + wd * w[i]!;
          const vi = mu * v[i]! + g;
          v[i] = vi;
          w[i]! -= lr * (g + mu * vi);
        }
      } else {
        for (let i = 0; i < w.length; i++) {
          const vi = mu * v[i]! + (grad[i]! + wd * w[i]!);
          v[i] = vi;
          w[i]! -= lr * vi;
        }
      }
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** Decoupled weight decay (AdamW) instead of L2 in the gradient. Default false. */
  decoupled?: boolean;
}

export class Adam implements Optimizer {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;
  private readonly decoupled: boolean;

  constructor(readonly params: readonly Var[], opts: AdamOptions = {}) {
    checkParams(params);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.decoupled = opts.decoupled ?? false;
    for (const [name, b] of [["beta1", this.beta1], ["beta2", this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`Adam ${name} must be in [0, 1), got ${b}`);
    }
    if (!(this.epsilon > 0)) throw new Error(`Adam epsilon must be > 0, got ${this.epsilon}`);
    if (!(this.weightDecay >= 0)) throw new Error(`weight decay must be ≥ 0, got ${this.weightDecay}`);
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  step(lr: number): void {
    checkLr(lr);
    this.t++;
    const { beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, decoupled } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    this.params.forEach((p, k) => {
      const grad = p.grad;
      if (!grad) return;
      const w = p.data;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < w.length; i++) {
        const g = grad[i]! + (decoupled ? 0 : wd * w[i]!);
        const mi = b1 * m[i]! + (1 - b1) * g;
        const vi = b2 * v[i]! + (1 - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        const update = (mi / c1) / (Math.sqrt(vi / c2) + eps);
        w[i] = w[i]! - lr * update - (decoupled ? lr * wd * w[i]! : 0);
      }
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}
