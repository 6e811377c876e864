/**
 * Error metrics between a reference (float) tensor and an approximation (quantized model output).
 * Accumulators stream over batches so evaluation memory does not grow with the dataset.
 */

/** Streams SQNR, cosine similarity, MSE and max abs error over any number of batches. */
export class ErrorAccumulator {
  private signal = 0; // Σ ref²
  private noise = 0; // Σ (ref − approx)²
  private dot = 0; // Σ ref·approx
  private approxEnergy = 0; // Σ approx²
  private count = 0;
  private maxAbs = 0;

  add(reference: ArrayLike<number>, approx: ArrayLike<number>): void {
    if (reference.length !== approx.length) throw new Error(`cannot compare tensors of ${reference.length} and ${approx.length} elements`);
    for (let i = 0; i < reference.length; i++) {
      const r = reference[i]!;
      const a = approx[i]!;
      const d = r - a;
      this.signal += r * r;
      this.noise += d * d;
      this.dot += r * a;
      this.approxEnergy += a * a;
      const ad = Math.abs(d);
      if (ad > this.maxAbs) this.maxAbs = ad;
    }
    this.count += reference.length;
  }

  /** Signal-to-quantization-noise ratio in dB: 10·log10(Σref² / Σ(ref − approx)²); Infinity when exact. */
  get sqnr(): number {
    if (this.noise === 0) return Infinity;
    return 10 * Math.log10(this.signal / this.noise);
  }

  get cosine(): number {
    const denom = Math.sqrt(this.signal * this.approxEnergy);
    return denom === 0 ? (this.signal === this.approxEnergy ? 1 : 0) : this.dot / denom;
  }

  get mse(): number {
    return this.count ? this.noise / this.count : 0;
  }

  get maxAbsError(): number {
    return this.maxAbs;
  }
}

/** Index of the largest value in each row of a [rows, cols] array. */
export function argmaxRows(values: ArrayLike<number>, cols: number): Int32Array {
  const rows = Math.floor(values.length / cols);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Counts top-1 agreement between two models and, with labels, each model's accuracy. */
export class Top1Accumulator {
  samples = 0;
  agree = 0;
  correctReference = 0;
  correctApprox = 0;
  labelled = 0;

  add(reference: ArrayLike<number>, approx: ArrayLike<number>, classes: number, labels?: ArrayLike<number>): void {
    const a = argmaxRows(reference, classes);
    const b = argmaxRows(approx, classes);
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) this.agree++;
      if (labels) {
        if (a[i] === labels[i]) this.correctReference++;
        if (b[i] === labels[i]) this.correctApprox++;
        this.labelled++;
      }
    }
    this.samples += a.length;
  }

  get agreement(): number {
    return this.samples ? this.agree / this.samples : NaN;
  }
  get referenceAccuracy(): number {
    return this.labelled ? this.correctReference / this.labelled : NaN;
  }
  get approxAccuracy(): number {
    return this.labelled ? this.correctApprox / this.labelled : NaN;
  }
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
