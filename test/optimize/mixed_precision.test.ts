import { test } from "node:test";
import assert from "node:assert/strict";
import { searchMixedPrecision, targetThreshold } from "../../src/optimize/mixed_precision.js";

/** Accuracy 100 minus the cost of every quantized unit (costs add up: a hand-checkable model). */
function additive(costs: Record<string, number>) {
  const calls: string[][] = [];
  return {
    calls,
    evaluate: async (float: string[]) => {
      calls.push([...float]);
      return 100 - Object.entries(costs).filter(([u]) => !float.includes(u)).reduce((s, [, c]) => s + c, 0);
    },
  };
}

test("greedy in sensitivity order stops as soon as the target holds", async () => {
  const e = additive({ A: 0.4, B: 0.3, C: 0.2, D: 0.05 });
  // Fully quantized: drop 0.95. Float {A}: 0.55. Float {A, B}: 0.25 ≤ 0.5.
  const d = await searchMixedPrecision({ ranking: ["A", "B", "C", "D"], evaluate: e.evaluate, referenceMetric: 100, target: { maxDrop: 0.5 } });
  assert.deepEqual(d.float, ["A", "B"]);
  assert.equal(d.met, true);
  assert.ok(Math.abs(d.metric - 99.75) < 1e-9);
  assert.equal(d.threshold, 99.5);
  // Pruning tried both back, each failing: {A} 99.45, {B} 99.35.
  assert.deepEqual(d.steps.filter((s) => s.phase === "prune").map((s) => [s.unit, s.meetsTarget]), [["B", false], ["A", false]]);
});

test("pruning removes units a misleading ranking made the greedy phase add", async () => {
  const e = additive({ A: 0.4, B: 0.3, C: 0.2, D: 0.05 });
  // The ranking puts D (cheap) first: greedy adds D (drop 0.9), then A (drop 0.5 ≤ 0.55).
  // Pruning A back fails (0.9), pruning D back succeeds (drop 0.55): the answer is {A}.
  const d = await searchMixedPrecision({ ranking: ["D", "A", "B", "C"], evaluate: e.evaluate, referenceMetric: 100, target: { maxDrop: 0.55 } });
  assert.deepEqual(d.float, ["A"]);
  assert.ok(Math.abs(d.metric - 99.45) < 1e-9);
  assert.match(d.reasons.A!, /below the threshold/);
  assert.equal(d.reasons.D, undefined);
});

test("a target the quantized model already meets keeps everything quantized; an unreachable one says so", async () => {
  const e = additive({ A: 0.1 });
  const easy = await searchMixedPrecision({ ranking: ["A"], evaluate: e.evaluate, referenceMetric: 100, target: { maxDrop: 0.5 } });
  assert.deepEqual(easy.float, []);
  assert.equal(e.calls.length, 1);
  const hard = await searchMixedPrecision({ ranking: ["A"], evaluate: async () => 10, referenceMetric: 100, target: { minMetric: 50 } });
  assert.equal(hard.met, false);
  assert.match(hard.reasons.A!, /not reachable/);
});

test("targets: the stricter of maxDrop and minMetric applies; bad targets are errors", () => {
  assert.equal(targetThreshold(99, { maxDrop: 0.5, minMetric: 98 }), 98.5);
  assert.equal(targetThreshold(99, { maxDrop: 2, minMetric: 98 }), 98);
  assert.throws(() => targetThreshold(99, {}), /needs a target/);
  assert.throws(() => targetThreshold(99, { maxDrop: -1 }), /maxDrop must be ≥ 0/);
  assert.throws(() => targetThreshold(Infinity, { maxDrop: 1 }), /finite reference/);
});
