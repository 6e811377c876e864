/**
 * A small seeded pseudo-random generator, so synthetic data is the same on every run and machine.
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state advanced by a Weyl sequence
 * (+0x6D2B79F5) and mixed by multiply–xorshift steps; period 2^32, plenty for calibration noise.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`random seed must be a finite number, got ${seed}`);
    this.state = Math.trunc(seed) >>> 0;
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [low, high] (inclusive). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** Standard normal, by the Box–Muller transform (one of the pair is used; simplicity over speed). */
  normal(): number {
    const u1 = 1 - this.next(); // (0, 1]: log stays finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
