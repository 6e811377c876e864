/**
 * Reverse-mode automatic differentiation on a tape.
 *
 * A `Var` is a float32 tensor (row-major data + dims) that may carry a gradient. Every op that
 * reads a Var needing a gradient records, on its result, the inputs it read and a closure that
 * turns the result's gradient into gradients of those inputs. Vars are numbered in creation
 * order, which is the tape's order: `backward(loss)` visits the Vars that the loss depends on
 * from the newest to the oldest, so each Var's gradient is complete before it is propagated
 * (an op's result is always newer than its inputs).
 */
import { sizeOf } from "../tensor/tensor.js";

let nextId = 0;

export type BackwardFn = (gradOut: Float32Array) => void;

export class Var {
  /** Position on the tape (creation order). */
  readonly id = nextId++;
  /** ∂loss/∂this after `backward`, same layout as `data`; null until a gradient arrives. */
  grad: Float32Array | null = null;
  /** Inputs of the op that produced this Var (empty for leaves). */
  parents: readonly Var[] = [];
  /** Propagates this Var's gradient into its parents; null for leaves. */
  backwardFn: BackwardFn | null = null;

  constructor(
    public data: Float32Array,
    readonly dims: readonly number[],
    /** True for parameters and for anything computed from them. */
    readonly requiresGrad = false,
  ) {
    if (!dims.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`invalid dims [${dims.join(", ")}]`);
    if (data.length !== sizeOf(dims)) {
      throw new Error(`Var of dims [${dims.join(", ")}] needs ${sizeOf(dims)} values, got ${data.length}`);
    }
  }

  get size(): number {
    return this.data.length;
  }

  /**
   * Adds `g` into this Var's gradient. `owned` says the caller allocated `g` for this call and
   * will not touch it again, so the first gradient can be kept without a copy.
   */
  accumulateGrad(g: Float32Array, owned = false): void {
    if (g.length !== this.data.length) {
      throw new Error(`gradient of ${g.length} values for a Var of ${this.data.length} (dims [${this.dims.join(", ")}])`);
    }
    if (!this.grad) {
      this.grad = owned ? g : g.slice();
      return;
    }
    const acc = this.grad;
    for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
  }

  zeroGrad(): void {
    this.grad = null;
  }
}

/** A trainable leaf. */
export function parameter(data: Float32Array, dims: readonly number[]): Var {
  return new Var(data, dims, true);
}

/** A leaf that needs no gradient (inputs, labels, fixed weights). */
export function constant(data: Float32Array, dims: readonly number[]): Var {
  return new Var(data, dims, false);
}

/**
 * The result of an op: records `parents` and `backwardFn` when any parent needs a gradient.
 * `backwardFn` receives ∂loss/∂result and must call accumulateGrad on the parents that need it.
 */
export function opResult(data: Float32Array, dims: readonly number[], parents: readonly Var[], backwardFn: BackwardFn): Var {
  const requiresGrad = parents.some((p) => p.requiresGrad);
  const out = new Var(data, dims, requiresGrad);
  if (requiresGrad) {
    out.parents = parents;
    out.backwardFn = backwardFn;
  }
  return out;
}

/**
 * Back-propagates from `root` (a scalar loss unless `seed`, ∂loss/∂root, is given), leaving
 * ∂loss/∂v in v.grad for every Var with requiresGrad that root depends on. Gradients add to what
 * is already there, so call zeroGrad on parameters between steps. Intermediate Vars are released
 * from the graph afterwards so their memory can be collected.
 */
export function backward(root: Var, seed?: Float32Array): void {
  if (!root.requiresGrad) throw new Error("backward: the root does not depend on any parameter");
  if (seed === undefined && root.size !== 1) {
    throw new Error(`backward: root has ${root.size} values; pass the seed gradient for a non-scalar root`);
  }
  const order: Var[] = [];
  const seen = new Set<Var>();
  const stack: Var[] = [root];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v) || !v.requiresGrad) continue;
    seen.add(v);
    order.push(v);
    for (const p of v.parents) stack.push(p);
  }
  order.sort((a, b) => b.id - a.id);
  root.accumulateGrad(seed ?? new Float32Array([1]));
  for (const v of order) {
    if (v.backwardFn && v.grad) {
      v.backwardFn(v.grad);
      // An intermediate's gradient is no longer needed once propagated; drop the graph edges too.
      v.grad = null;
      v.backwardFn = null;
      v.parents = [];
    }
  }
}
