// Optimiser updates and learning-rate schedules against values worked by hand from their
// published update rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adam, Sgd } from "../../src/train/optimizers.js";
import { constantLr, cosineLr, stepLr, withWarmup } from "../../src/train/schedule.js";
import { parameter } from "../../src/train/tape.js";

const near = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("SGD with momentum and weight decay, two steps by hand", () => {
  const w = parameter(Float32Array.of(1, -2), [2]);
  const opt = new Sgd([w], { momentum: 0.9, weightDecay: 0.1 });
  w.grad = Float32Array.of(0.5, 0.5);
  opt.step(0.1);
  // g = 0.5 + 0.1·w = [0.6, 0.3]; v = g; w −= 0.1·v
  near(w.data[0]!, 1 - 0.06);
  near(w.data[1]!, -2 - 0.03);
  w.grad = Float32Array.of(0.5, 0.5);
  opt.step(0.1);
  // g = [0.5 + 0.094, 0.5 − 0.203]; v = 0.9·v_prev + g
  const g0 = 0.5 + 0.1 * 0.94;
  const g1 = 0.5 + 0.1 * -2.03;
  near(w.data[0]!, 0.94 - 0.1 * (0.9 * 0.6 + g0));
  near(w.data[1]!, -2.03 - 0.1 * (0.9 * 0.3 + g1));
});

test("SGD with Nesterov momentum: w −= lr·(g + μ·v)", () => {
  const w = parameter(Float32Array.of(1), [1]);
  const opt = new Sgd([w], { momentum: 0.5, nesterov: true });
  w.grad = Float32Array.of(2);
  opt.step(0.1);
  near(w.data[0]!, 1 - 0.1 * (2 + 0.5 * 2));
});

test("Adam: the first step moves each weight by lr·sign(g) (bias correction), then by m̂/(√v̂ + ε)", () => {
  const w = parameter(Float32Array.of(1, 1, 1), [3]);
  const opt = new Adam([w]);
  w.grad = Float32Array.of(3, -0.01, 0);
  opt.step(0.01);
  near(w.data[0]!, 0.99, 1e-6);
  near(w.data[1]!, 1.01, 1e-5);
  near(w.data[2]!, 1, 0);
  w.grad = Float32Array.of(1, 0, 0);
  opt.step(0.01);
  // m = 0.9·0.3 + 0.1·1 = 0.37, v = 0.999·0.009 + 0.001·1 = 0.009991; m̂ = 0.37/0.19, v̂ = 0.009991/0.001999
  const mHat = 0.37 / (1 - 0.9 ** 2);
  const vHat = 0.009991 / (1 - 0.999 ** 2);
  near(w.data[0]!, 0.99 - 0.01 * mHat / (Math.sqrt(vHat) + 1e-8), 1e-6);
});

test("Adam weight decay: L2 in the gradient versus decoupled (AdamW)", () => {
  const l2 = parameter(Float32Array.of(2), [1]);
  const adamw = parameter(Float32Array.of(2), [1]);
  const a = new Adam([l2], { weightDecay: 0.5 });
  const b = new Adam([adamw], { weightDecay: 0.5, decoupled: true });
  l2.grad = Float32Array.of(0);
  adamw.grad = Float32Array.of(0);
  a.step(0.1);
  b.step(0.1);
  // L2: g = 0.5·2 = 1 → first step −lr·sign(g) = −0.1. AdamW: zero gradient, decay −lr·λ·w = −0.1.
  near(l2.data[0]!, 1.9);
  near(adamw.data[0]!, 1.9);
  a.step(0.1);
  b.step(0.1);
  near(adamw.data[0]!, 1.9 - 0.1 * 0.5 * 1.9, 1e-6);
});

test("parameters without gradients are left alone; bad settings are named", () => {
  const w = parameter(Float32Array.of(1), [1]);
  new Sgd([w], { momentum: 0.9 }).step(0.1);
  assert.equal(w.data[0], 1);
  assert.throws(() => new Sgd([w], { momentum: 1 }), /momentum must be in \[0, 1\)/);
  assert.throws(() => new Sgd([w], { nesterov: true }), /Nesterov momentum needs momentum > 0/);
  assert.throws(() => new Adam([w], { beta2: 1 }), /beta2 must be in \[0, 1\)/);
  assert.throws(() => new Sgd([w]).step(Number.NaN), /learning rate/);
});

test("learning-rate schedules", () => {
  assert.equal(constantLr(0.1)(1000), 0.1);
  const s = stepLr(1, 10, 0.5);
  assert.deepEqual([s(0), s(9), s(10), s(25)], [1, 1, 0.5, 0.25]);
  const c = cosineLr(1, 100, 0.1);
  near(c(0), 1);
  near(c(50), 0.55);
  near(c(100), 0.1);
  near(c(200), 0.1);
  const w = withWarmup(constantLr(1), 4);
  assert.deepEqual([w(0), w(1), w(3), w(4)], [0.25, 0.5, 1, 1]);
  assert.throws(() => cosineLr(1, 0), /totalSteps must be/);
});
