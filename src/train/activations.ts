/**
 * Elementwise activations with their derivatives. At the kinks (ReLU at 0, Clip at its bounds,
 * HardSwish at ±3) the derivative taken is the one PyTorch uses: ReLU'(0) = 0, Clip passes the
 * gradient on the closed interval [min, max], HardSwish uses the middle piece at both −3 and 3
 * (PyTorch's hardswish_backward).
 */
import { floatKernels } from "./backend.js";
import { opResult, type Var } from "./tape.js";

function unary(x: Var, f: (v: number) => number, df: (v: number, y: number) => number): Var {
  const y = new Float32Array(x.size);
  const xd = x.data;
  for (let i = 0; i < y.length; i++) y[i] = f(xd[i]!);
  return opResult(y, x.dims, [x], (dy) => {
    const dx = new Float32Array(x.size);
    for (let i = 0; i < dx.length; i++) dx[i] = dy[i]! * df(xd[i]!, y[i]!);
    x.accumulateGrad(dx, true);
  });
}

export function relu(x: Var): Var {
  // On the float kernels (SIMD, threads): it runs on every conv output of a CNN.
  const y = floatKernels().reluForward(x.data);
  return opResult(y, x.dims, [x], (dy) => x.accumulateGrad(floatKernels().reluBackward(x.data, dy), true));
}

/** ONNX Clip(x, min, max). */
export function clip(x: Var, min: number, max: number): Var {
  if (!(min <= max)) throw new Error(`clip: min ${min} must not exceed max ${max}`);
  return unary(x, (v) => (v < min ? min : v > max ? max : v), (v) => (v >= min && v <= max ? 1 : 0));
}

export function relu6(x: Var): Var {
  return clip(x, 0, 6);
}

/** ONNX HardSwish: x · max(0, min(1, x/6 + 1/2)) = x · ReLU6(x + 3) / 6. */
export function hardSwish(x: Var): Var {
  return unary(
    x,
    (v) => (v <= -3 ? 0 : v >= 3 ? v : (v * (v + 3)) / 6),
    (v) => (v < -3 ? 0 : v <= 3 ? (2 * v + 3) / 6 : 1),
  );
}

/** σ(x) = 1 / (1 + e^−x); σ' = σ(1 − σ), computed from the output. */
export function sigmoid(x: Var): Var {
  return unary(x, (v) => 1 / (1 + Math.exp(-v)), (_v, y) => y * (1 - y));
}
