/** Deterministic data for observer tests (mulberry32: small, well-distributed, seedable). */
export function random(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal values (Box–Muller). */
export function gaussian(n: number, seed: number): Float32Array {
  const r = random(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** n Laplace(0, 1) values (inverse CDF). */
export function laplace(n: number, seed: number): Float32Array {
  const r = random(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() - 0.5;
    out[i] = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }
  return out;
}

/** n values evenly spread over [lo, hi]: the midpoints of n equal cells, so exactly uniform. */
export function uniformGrid(n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = lo + ((k + 0.5) / n) * (hi - lo);
  return out;
}

export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
