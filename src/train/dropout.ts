/** Dropout (ONNX / inverted dropout): in training, zero each value with probability `ratio` and scale the rest by 1/(1 − ratio); identity in inference. */
import type { Rng } from "./init.js";
import { opResult, type Var } from "./tape.js";

export function dropout(x: Var, ratio: number, training: boolean, rng: Rng): Var {
  if (!(ratio >= 0 && ratio < 1)) throw new Error(`dropout ratio must be in [0, 1), got ${ratio}`);
  if (!training || ratio === 0) return x;
  const keep = 1 - ratio;
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < keep ? 1 / keep : 0;
  const y = new Float32Array(x.size);
  for (let i = 0; i < y.length; i++) y[i] = x.data[i]! * mask[i]!;
  return opResult(y, x.dims, [x], (dy) => {
    const dx = new Float32Array(x.size);
    for (let i = 0; i < dx.length; i++) dx[i] = dy[i]! * mask[i]!;
    x.accumulateGrad(dx, true);
  });
}
