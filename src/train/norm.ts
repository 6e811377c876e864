/**
 * BatchNormalization over the channel axis of [N, C, ...] (ONNX semantics).
 *
 * Training: normalise with the batch's own mean and (biased, population) variance and update
 * the running statistics as ONNX BatchNormalization-15 specifies:
 *   running = running · momentum + batch · (1 − momentum)
 * (PyTorch's momentum is 1 − ONNX's, and PyTorch keeps an unbiased running variance; octet follows
 * ONNX so that exporting the running statistics is exact.)
 * Inference: normalise with the running statistics; the op is then affine in x.
 *
 * Training-mode gradient (Ioffe & Szegedy, 2015, section 3), per channel over its m values:
 *   x̂ = (x − μ)/σ,  ∂x = (1/(mσ)) · (m·g − Σg − x̂·Σ(g·x̂)),  g = γ·∂y,  σ = √(var + ε)
 */
import { opResult, type Var } from "./tape.js";

export interface BatchNormState {
  runningMean: Float32Array;
  runningVar: Float32Array;
  /** ONNX momentum (weight of the old running value); default 0.9. */
  momentum: number;
  /** Added to the variance; default 1e-5. */
  epsilon: number;
}

export function batchNormState(channels: number, momentum = 0.9, epsilon = 1e-5): BatchNormState {
  return { runningMean: new Float32Array(channels), runningVar: new Float32Array(channels).fill(1), momentum, epsilon };
}

export function batchNorm(x: Var, scale: Var, bias: Var, state: BatchNormState, training: boolean): Var {
  if (x.dims.length < 2) throw new Error(`batchNorm needs [N, C, ...], got [${x.dims.join(", ")}]`);
  const n = x.dims[0]!;
  const c = x.dims[1]!;
  const inner = x.size / (n * c);
  for (const [name, v] of [["scale", scale.size], ["bias", bias.size], ["running mean", state.runningMean.length], ["running var", state.runningVar.length]] as const) {
    if (v !== c) throw new Error(`batchNorm ${name} has ${v} values for ${c} channels`);
  }
  const m = n * inner;
  if (training && m < 2) throw new Error("batchNorm in training needs more than one value per channel");
  const mean = new Float64Array(c);
  const invStd = new Float64Array(c);
  const xd = x.data;
  for (let ch = 0; ch < c; ch++) {
    if (training) {
      let s = 0;
      for (let b = 0; b < n; b++) for (let i = 0, o = (b * c + ch) * inner; i < inner; i++) s += xd[o + i]!;
      const mu = s / m;
      let v = 0;
      for (let b = 0; b < n; b++) for (let i = 0, o = (b * c + ch) * inner; i < inner; i++) { const d = xd[o + i]! - mu; v += d * d; }
      v /= m;
      mean[ch] = mu;
      invStd[ch] = 1 / Math.sqrt(v + state.epsilon);
      state.runningMean[ch] = state.runningMean[ch]! * state.momentum + mu * (1 - state.momentum);
      state.runningVar[ch] = state.runningVar[ch]! * state.momentum + v * (1 - state.momentum);
    } else {
      mean[ch] = state.runningMean[ch]!;
      invStd[ch] = 1 / Math.sqrt(state.runningVar[ch]! + state.epsilon);
    }
  }
  const y = new Float32Array(x.size);
  const xhat = new Float32Array(x.size);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const o = (b * c + ch) * inner;
      const g = scale.data[ch]!;
      const beta = bias.data[ch]!;
      for (let i = 0; i < inner; i++) {
        const h = (xd[o + i]! - mean[ch]!) * invStd[ch]!;
        xhat[o + i] = h;
        y[o + i] = g * h + beta;
      }
    }
  }
  return opResult(y, x.dims, [x, scale, bias], (dy) => {
    const sumG = new Float64Array(c);
    const sumGx = new Float64Array(c);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const o = (b * c + ch) * inner;
        for (let i = 0; i < inner; i++) { sumG[ch]! += dy[o + i]!; sumGx[ch]! += dy[o + i]! * xhat[o + i]!; }
      }
    }
    if (scale.requiresGrad) scale.accumulateGrad(Float32Array.from(sumGx), true);
    if (bias.requiresGrad) bias.accumulateGrad(Float32Array.from(sumG), true);
    if (!x.requiresGrad) return;
    const dx = new Float32Array(x.size);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const o = (b * c + ch) * inner;
        const g = scale.data[ch]!;
        const is = invStd[ch]!;
        if (training) {
          // γ/(mσ) · (m·∂y − Σ∂y − x̂·Σ(∂y·x̂)); the γ factors out of the three sums.
          const k = (g * is) / m;
          for (let i = 0; i < inner; i++) dx[o + i] = k * (m * dy[o + i]! - sumG[ch]! - xhat[o + i]! * sumGx[ch]!);
        } else {
          for (let i = 0; i < inner; i++) dx[o + i] = dy[o + i]! * g * is;
        }
      }
    }
    x.accumulateGrad(dx, true);
  });
}
