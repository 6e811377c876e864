/**
 * The reference integer Softmax (src/kernels/reference/softmax.ts) for the same plan, bit for bit,
 * with one division per distinct value instead of one per element. Within a row every output is
 * a function of d = q_max − q ∈ [0, 255] alone —
 *
 *   y = min(qmax, z + round(256·E[d] / Σ_j E[q_max − q_j]))      (round to nearest, ties up)
 *
 * — so each row computes that for the (at most 256) d present and then looks values up; the
 * recogniser's 6625-class rows need ~256 divisions instead of 6625.
 */
import { normalizeAxis } from "../../quant/axis.js";
import { type Int8Tensor, type SoftmaxPlan, int8Data, softmax } from "../reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";

/** numerator / divisor to the nearest integer, ties up, exactly (0 ≤ numerator < 2^31, 0 < divisor < 2^45). */
function roundedQuotient(numerator: number, divisor: number): number {
  let q = Math.floor(numerator / divisor);
  let remainder = numerator - q * divisor; // exact: every term is an integer below 2^53
  if (remainder < 0) { q -= 1; remainder += divisor; }
  if (remainder >= divisor) { q += 1; remainder -= divisor; }
  return 2 * remainder >= divisor ? q + 1 : q;
}

export function fastSoftmax(plan: SoftmaxPlan, newTensor: (dtype: SoftmaxPlan["outputDType"], dims: readonly number[]) => Int8Tensor): (x: Tensor) => Int8Tensor {
  const byDistance = new Int32Array(plan.expTable.length);
  const seen = new Uint8Array(plan.expTable.length);
  return (x) => {
    if (x.dtype !== plan.inputDType || x.dims.length === 0) return softmax(plan, x);
    const data = int8Data(x, "softmax input");
    const rank = x.dims.length;
    const axis = normalizeAxis(plan.axis, rank);
    const length = x.dims[axis]!;
    let inner = 1;
    for (let k = axis + 1; k < rank; k++) inner *= x.dims[k]!;
    if (length === 0 || length > 1 << 23) return softmax(plan, x);
    const outer = data.length / (length * inner);
    const y = newTensor(plan.outputDType, x.dims);
    const out = y.data;
    const e = plan.expTable;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const start = o * length * inner + i;
        let max = -Infinity;
        for (let k = 0; k < length; k++) { const v = data[start + k * inner]!; if (v > max) max = v; }
        let sum = 0;
        seen.fill(0);
        for (let k = 0; k < length; k++) {
          const d = max - data[start + k * inner]!;
          sum += e[d]!;
          seen[d] = 1;
        }
        for (let d = 0; d < seen.length; d++) {
          if (seen[d]) byDistance[d] = Math.min(plan.outputMax, plan.outputZeroPoint + roundedQuotient(256 * e[d]!, sum));
        }
        for (let k = 0; k < length; k++) out[start + k * inner] = byDistance[max - data[start + k * inner]!]!;
      }
    }
    return y;
  };
}
