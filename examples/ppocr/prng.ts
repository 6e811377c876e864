/**
 * A tiny seeded pseudo-random generator, so that every rendered evaluation image is the same
 * bytes on every run. The state update and output mix are the "Mulberry32" generator (Tommy
 * Ettinger's public-domain 32-bit generator): one 32-bit add per step, then a xorshift-multiply
 * finaliser. It is not cryptographic and needs none of that here; it only has to be fast,
 * reproducible, and free of obvious patterns at the sizes we draw (a few hundred thousand values).
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Prng seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi] (both ends included). */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) {
      throw new Error(`Prng.int needs integers lo <= hi, got [${lo}, ${hi}]`);
    }
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Prng.pick needs a non-empty array");
    return items[this.int(0, items.length - 1)] as T;
  }
}

/**
 * A seed for one part of a data set, derived from the set's seed and the part's number, so that
 * drawing more values in one part (say, the pages) never shifts another (the lines).
 */
export function deriveSeed(seed: number, part: number): number {
  return new Prng((seed ^ Math.imul(part + 1, 0x9e3779b1)) >>> 0).nextUint32();
}
