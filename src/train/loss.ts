/**
 * Softmax cross-entropy over the rows of logits [N, C] with integer class labels, averaged over
 * the batch: L = (1/N) Σ_n (logsumexp(z_n) − z_n[y_n]). Its gradient is the classic
 * ∂L/∂z_n = (softmax(z_n) − onehot(y_n)) / N. The log-sum-exp subtracts the row maximum first
 * so large logits cannot overflow.
 */
import { opResult, type Var } from "./tape.js";

export function softmaxCrossEntropy(logits: Var, labels: ArrayLike<number>): Var {
  if (logits.dims.length !== 2) throw new Error(`softmaxCrossEntropy needs logits [N, C], got [${logits.dims.join(", ")}]`);
  const [n, c] = logits.dims as [number, number];
  if (labels.length !== n) throw new Error(`softmaxCrossEntropy: ${labels.length} labels for a batch of ${n}`);
  const z = logits.data;
  const prob = new Float32Array(n * c);
  let total = 0;
  for (let r = 0; r < n; r++) {
    const label = labels[r]!;
    if (!Number.isInteger(label) || label < 0 || label >= c) throw new Error(`label ${label} at row ${r} is not a class in [0, ${c})`);
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, z[r * c + j]!);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(z[r * c + j]! - max);
    for (let j = 0; j < c; j++) prob[r * c + j] = Math.exp(z[r * c + j]! - max) / sum;
    total += Math.log(sum) + max - z[r * c + label]!;
  }
  return opResult(new Float32Array([total / n]), [], [logits], (dy) => {
    const s = dy[0]! / n;
    const dz = new Float32Array(n * c);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < c; j++) dz[r * c + j] = (prob[r * c + j]! - (j === labels[r] ? 1 : 0)) * s;
    }
    logits.accumulateGrad(dz, true);
  });
}

/** Index of the largest value of each row of [N, C] (the predicted class). */
export function argmaxRows(values: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (values[r * cols + j]! > values[r * cols + best]!) best = j;
    out[r] = best;
  }
  return out;
}
