/**
 * Learned step size quantization (LSQ; Esser et al. 2019, "Learned Step Size Quantization",
 * ICLR 2020, §2): the quantizer's step s is a trainable parameter.
 *
 *   v̂ = s · (clamp(round(v/s) + z, qmin, qmax) − z)
 *
 * (the paper's v̂ = round(clip(v/s, −Q_N, Q_P))·s with the zero point z written out, so that it is
 * also ONNX QuantizeLinear/DequantizeLinear with scale s and zero point z). Gradients, the paper's
 * eq. 3 with the straight-through estimator for round:
 *
 *   ∂v̂/∂v = 1 inside the range, 0 where clamped;
 *   ∂v̂/∂s = round(v/s) − v/s inside, (qmin − z) below, (qmax − z) above;
 *
 * and the step's gradient is multiplied by g = 1/√(N·Q_P) (§2.2), N the number of values sharing
 * the step (weights of the channel or layer; features of one sample for activations), Q_P the
 * number of positive levels, so the step learns at a rate comparable to the weights.
 */
import { qRange, type QuantDType } from "../../quant/dtype.js";
import { roundHalfToEven } from "../../quant/rounding.js";
import { opResult, type Var } from "../tape.js";
import { paramLayout } from "./fake_quant.js";

export interface LsqOptions {
  dtype: QuantDType;
  /** One zero point per step (fixed, not learned). */
  zeroPoint: Int32Array;
  /** Axis of x the steps run along (per-channel), or undefined for one step. */
  axis?: number;
  /** g of §2.2; default 1. */
  gradScale?: number;
  /** Clamp to the narrow range (lowest code dropped), as planned weights are; default false. */
  narrow?: boolean;
}

export function lsqQuantize(x: Var, step: Var, o: LsqOptions): Var {
  const { outer, channels, inner } = paramLayout(x.dims, x.size, o.axis);
  if (step.size !== channels) throw new Error(`LSQ: ${step.size} step sizes for ${channels} channel(s) of a tensor of dims [${x.dims.join(", ")}]`);
  if (o.zeroPoint.length !== channels) throw new Error(`LSQ: ${o.zeroPoint.length} zero points for ${channels} channel(s)`);
  const { qmin, qmax } = qRange(o.dtype, o.narrow ?? false);
  const g = o.gradScale ?? 1;
  const s = step.data;
  for (let c = 0; c < channels; c++) {
    if (!(s[c]! > 0) || !Number.isFinite(s[c]!)) throw new Error(`LSQ: step size ${c} is ${s[c]}; it must stay finite and > 0 (lower the learning rate)`);
  }
  const xd = x.data;
  const y = new Float32Array(x.size);
  // ∂v̂/∂s per element (before g); NaN marks "no gradient to x" (clamped).
  const dsdv = new Float32Array(x.size);
  const inside = new Uint8Array(x.size);
  let i = 0;
  for (let b = 0; b < outer; b++) {
    for (let c = 0; c < channels; c++) {
      const sc = s[c]!;
      const z = o.zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) {
        const v = xd[i]!;
        if (v !== v) throw new Error(`LSQ met NaN at flat index ${i} of a tensor of dims [${x.dims.join(", ")}]`);
        const u = Math.fround(v / sc);
        const q = roundHalfToEven(u) + z;
        if (q < qmin) {
          y[i] = (qmin - z) * sc;
          dsdv[i] = qmin - z;
        } else if (q > qmax) {
          y[i] = (qmax - z) * sc;
          dsdv[i] = qmax - z;
        } else {
          y[i] = (q - z) * sc;
          dsdv[i] = q - z - u;
          inside[i] = 1;
        }
      }
    }
  }
  return opResult(y, x.dims, [x, step], (dy) => {
    if (x.requiresGrad) {
      const dx = new Float32Array(x.size);
      for (let k = 0; k < dx.length; k++) dx[k] = inside[k] ? dy[k]! : 0;
      x.accumulateGrad(dx, true);
    }
    if (step.requiresGrad) {
      const ds = new Float64Array(channels);
      let k = 0;
      for (let b = 0; b < outer; b++) {
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (const end = k + inner; k < end; k++) acc += dy[k]! * dsdv[k]!;
          ds[c]! += acc;
        }
      }
      step.accumulateGrad(Float32Array.from(ds, (v) => v * g), true);
    }
  });
}

/** g = 1/√(N·Q_P) of LSQ §2.2 (Q_P = positive levels above the zero point). */
export function lsqGradScale(valuesPerStep: number, positiveLevels: number): number {
  if (!(valuesPerStep > 0) || !(positiveLevels > 0)) throw new Error(`LSQ gradient scale needs N > 0 and Q_P > 0, got ${valuesPerStep} and ${positiveLevels}`);
  return 1 / Math.sqrt(valuesPerStep * positiveLevels);
}

/**
 * The integers lsqQuantize's forward pass stands for, clamp(round(v/s) + z): what the exported
 * model stores for a weight with learned steps.
 */
export function lsqIntegerCodes(values: Float32Array, dims: readonly number[], steps: Float32Array, o: Omit<LsqOptions, "gradScale">): Int32Array {
  const { outer, channels, inner } = paramLayout(dims, values.length, o.axis);
  if (steps.length !== channels) throw new Error(`LSQ: ${steps.length} step sizes for ${channels} channel(s)`);
  const { qmin, qmax } = qRange(o.dtype, o.narrow ?? false);
  const out = new Int32Array(values.length);
  let i = 0;
  for (let b = 0; b < outer; b++) {
    for (let c = 0; c < channels; c++) {
      const s = steps[c]!;
      const z = o.zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) {
        const q = roundHalfToEven(Math.fround(values[i]! / s)) + z;
        out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
      }
    }
  }
  return out;
}
