// The seeded generator: reproducible streams, the ranges and moments its draws must have, and the
// initialisers' bounds from their papers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fans, glorotUniform, heNormal, heUniform, Rng } from "../../src/train/init.js";

test("same seed, same stream; different seeds, different streams", () => {
  const a = new Rng(123);
  const b = new Rng(123);
  const c = new Rng(124);
  const sa = Array.from({ length: 50 }, () => a.nextUint32());
  const sb = Array.from({ length: 50 }, () => b.nextUint32());
  const sc = Array.from({ length: 50 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  assert.ok(sa.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32));
});

test("uniform and normal draws have the moments of their distributions", () => {
  const rng = new Rng(1);
  const n = 200_000;
  let s = 0, s2 = 0, ns = 0, ns2 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    s += u; s2 += u * u;
    const z = rng.normal();
    ns += z; ns2 += z * z;
  }
  // Standard errors: mean of U(0,1) ±0.0007, var 1/12; normal mean ±0.0023.
  assert.ok(Math.abs(s / n - 0.5) < 0.004);
  assert.ok(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12) < 0.002);
  assert.ok(Math.abs(ns / n) < 0.012);
  assert.ok(Math.abs(ns2 / n - 1) < 0.015);
});

test("below(n) is in range and hits every value; permutations are permutations", () => {
  const rng = new Rng(2);
  const seen = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) seen[rng.below(7)]++;
  assert.ok(seen.every((c) => c > 850 && c < 1150), `counts ${seen}`);
  const p = rng.permutation(1000);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.throws(() => rng.below(0), /Rng.below needs an integer/);
  assert.throws(() => new Rng(1.5), /seed must be an integer/);
});

test("initialisers respect their bounds and variances", () => {
  const rng = new Rng(3);
  assert.deepEqual(fans([20, 1, 5, 5]), { fanIn: 25, fanOut: 500 });
  const he = heUniform(rng, [50, 20, 5, 5]);
  const bound = Math.sqrt(6 / 500);
  assert.ok(he.every((v) => Math.abs(v) <= bound));
  const hn = heNormal(rng, [500, 800]);
  const variance = hn.reduce((s, v) => s + v * v, 0) / hn.length;
  assert.ok(Math.abs(variance - 2 / 800) < 0.02 * (2 / 800));
  const g = glorotUniform(rng, [10, 500]);
  assert.ok(g.every((v) => Math.abs(v) <= Math.sqrt(6 / 510)));
});
