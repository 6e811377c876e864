import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { roundHalfToEven } from "../../src/quant/rounding.js";

test("ties go to the even neighbour", () => {
  const cases: [number, number][] = [
    [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4],
    [127.5, 128], [-128.5, -128], [254.5, 254], [2 ** 52 + 1, 2 ** 52 + 1],
  ];
  for (const [x, want] of cases) assert.equal(roundHalfToEven(x), want, `round(${x})`);
});

test("non-ties round to nearest; -0 comes back as +0", () => {
  assert.equal(roundHalfToEven(2.4999999), 2);
  assert.equal(roundHalfToEven(2.5000001), 3);
  assert.equal(roundHalfToEven(-2.5000001), -3);
  assert.ok(Object.is(roundHalfToEven(-0.3), 0));
  assert.ok(Object.is(roundHalfToEven(-0), 0));
});

test("agrees with a floor-based definition on random doubles and exact halves", () => {
  const reference = (x: number) => {
    const f = Math.floor(x);
    const d = x - f;
    if (d < 0.5) return f;
    if (d > 0.5) return f + 1;
    return f % 2 === 0 ? f : f + 1;
  };
  fc.assert(fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), (x) => roundHalfToEven(x) === reference(x) + 0));
  fc.assert(fc.property(fc.integer({ min: -1e6, max: 1e6 }), (k) => roundHalfToEven(k + 0.5) === reference(k + 0.5) + 0));
});
