/**
 * Per-channel scaling, y[…, c, …] = x[…, c, …] · s[c] (or / s[c]), with gradients to both: the
 * two moves of BatchNorm folding in training (w·γ/σ on the weights' output-channel axis, and the
 * division of the conv output by the same factor). Written out rather than through broadcasting
 * `mul` because it runs on every conv output.
 *
 *   multiply: ∂x = ∂y·s[c],   ∂s[c] = Σ ∂y·x
 *   divide:   ∂x = ∂y/s[c],   ∂s[c] = −Σ ∂y·x/s[c]²
 */
import { axisLayout } from "../../quant/axis.js";
import { opResult, type Var } from "../tape.js";

export function scaleChannels(x: Var, s: Var, axis: number, mode: "multiply" | "divide" = "multiply"): Var {
  const { outer, channels, inner } = axisLayout(x.dims, axis);
  if (s.size !== channels) throw new Error(`scaleChannels: ${s.size} factors for ${channels} channels on axis ${axis} of [${x.dims.join(", ")}]`);
  const divide = mode === "divide";
  const sd = s.data;
  if (divide) for (let c = 0; c < channels; c++) if (sd[c] === 0) throw new Error(`scaleChannels: division by a zero factor (channel ${c})`);
  const xd = x.data;
  const y = new Float32Array(x.size);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const f = divide ? 1 / sd[c]! : sd[c]!;
      for (const end = i + inner; i < end; i++) y[i] = xd[i]! * f;
    }
  }
  return opResult(y, x.dims, [x, s], (dy) => {
    if (x.requiresGrad) {
      const dx = new Float32Array(x.size);
      let k = 0;
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) {
          const f = divide ? 1 / sd[c]! : sd[c]!;
          for (const end = k + inner; k < end; k++) dx[k] = dy[k]! * f;
        }
      }
      x.accumulateGrad(dx, true);
    }
    if (s.requiresGrad) {
      const ds = new Float64Array(channels);
      let k = 0;
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (const end = k + inner; k < end; k++) acc += dy[k]! * xd[k]!;
          ds[c]! += acc;
        }
      }
      if (divide) for (let c = 0; c < channels; c++) ds[c] = -ds[c]! / (sd[c]! * sd[c]!);
      s.accumulateGrad(Float32Array.from(ds), true);
    }
  });
}
