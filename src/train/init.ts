/**
 * Seeded randomness and weight initialisers. Every random choice in training (initial weights,
 * shuffling, dropout masks) draws from an `Rng` built from an explicit seed, so a run is
 * reproducible bit for bit.
 */

/**
 * xoshiro128** 1.1 (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018;
 * prng.di.unimi.it), seeded through SplitMix32 so that nearby seeds give unrelated streams.
 * All arithmetic is 32-bit (Math.imul, >>> 0), which JavaScript does exactly.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Rng seed must be an integer, got ${seed}`);
    let z = seed >>> 0;
    const splitmix = () => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
      return (t ^ (t >>> 16)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), without modulo bias (rejection sampling). */
  below(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new Error(`Rng.below needs an integer in [1, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Standard normal by the Box–Muller transform. */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles in place (Fisher–Yates). */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function uniformArray(rng: Rng, n: number, low: number, high: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = low + (high - low) * rng.uniform();
  return a;
}

export function normalArray(rng: Rng, n: number, std: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = std * rng.normal();
  return a;
}

/** fan-in and fan-out of a weight: [out, in] (Gemm, transB) or [out, in/group, kh, kw] (Conv). */
export function fans(dims: readonly number[]): { fanIn: number; fanOut: number } {
  if (dims.length < 2) throw new Error(`weights need rank ≥ 2 to have fans, got [${dims.join(", ")}]`);
  const receptive = dims.slice(2).reduce((s, d) => s * d, 1);
  return { fanIn: dims[1]! * receptive, fanOut: dims[0]! * receptive };
}

/** He/Kaiming uniform for ReLU nets: U(−b, b), b = √(6 / fan_in) (He et al., 2015). */
export function heUniform(rng: Rng, dims: readonly number[]): Float32Array {
  const b = Math.sqrt(6 / fans(dims).fanIn);
  return uniformArray(rng, dims.reduce((s, d) => s * d, 1), -b, b);
}

/** He/Kaiming normal: N(0, 2 / fan_in). */
export function heNormal(rng: Rng, dims: readonly number[]): Float32Array {
  return normalArray(rng, dims.reduce((s, d) => s * d, 1), Math.sqrt(2 / fans(dims).fanIn));
}

/** Glorot/Xavier uniform: U(−b, b), b = √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010). */
export function glorotUniform(rng: Rng, dims: readonly number[]): Float32Array {
  const { fanIn, fanOut } = fans(dims);
  const b = Math.sqrt(6 / (fanIn + fanOut));
  return uniformArray(rng, dims.reduce((s, d) => s * d, 1), -b, b);
}

/** Bias as PyTorch initialises Conv/Linear biases: U(−1/√fan_in, 1/√fan_in). */
export function fanInBias(rng: Rng, size: number, fanIn: number): Float32Array {
  const b = 1 / Math.sqrt(fanIn);
  return uniformArray(rng, size, -b, b);
}
