/**
 * One pass over a batch for its extremes, rejecting non-finite values. ±Infinity shows up in the
 * extremes themselves; NaN fails every comparison, so it gets its own (never-taken) flag. Fusing
 * the check into the extremes loop keeps update() to one pass for MinMax (two for histograms).
 */
export interface Extremes {
  /** Infinity for an empty batch. */
  min: number;
  /** −Infinity for an empty batch. */
  max: number;
}

/** The batch's min and max; throws, naming `owner` and the first bad index, on NaN or ±Infinity. */
export function batchExtremes(values: Float32Array, owner: string): Extremes {
  let lo = Infinity;
  let hi = -Infinity;
  let sawNaN = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v !== v) sawNaN = true;
  }
  if (sawNaN || lo === -Infinity || hi === Infinity) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) throw new Error(`${owner}: non-finite value ${v} at index ${i} of ${values.length}`);
    }
  }
  return { min: lo, max: hi };
}
