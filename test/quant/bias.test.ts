import { test } from "node:test";
import assert from "node:assert/strict";
import { quantizeBias } from "../../src/quant/bias.js";

const f32 = Math.fround;

test("bias scale is input_scale · weight_scale[c], zero point 0, values rounded to nearest", () => {
  // s_x = 0.5, s_w = [0.25, 0.125] → bias scales [0.125, 0.0625] (exact in binary)
  const r = quantizeBias(Float32Array.of(1, -0.3), 0.5, Float32Array.of(0.25, 0.125));
  assert.deepEqual(Array.from(r.scale), [0.125, 0.0625]);
  // 1 / 0.125 = 8; f32(-0.3) / 0.0625 = -4.8000001 → -5
  assert.deepEqual(Array.from(r.values), [8, -5]);
  assert.deepEqual(r.saturatedChannels, []);
});

test("per-tensor weight scale is broadcast to every channel", () => {
  const r = quantizeBias(Float32Array.of(0.1, 0.2, -0.7), f32(0.02), Float32Array.of(f32(0.5)));
  assert.deepEqual(Array.from(r.scale), [f32(f32(0.02) * 0.5)]);
  const s = f32(f32(0.02) * 0.5); // ≈ 0.01
  assert.deepEqual(Array.from(r.values), [Math.round(f32(0.1) / s), Math.round(f32(0.2) / s), Math.round(f32(-0.7) / s)]);
  assert.deepEqual(Array.from(r.values), [10, 20, -70]);
});

test("ties round half to even", () => {
  // scale 0.125: 0.1875 → 1.5 → 2, 0.3125 → 2.5 → 2, -0.1875 → -1.5 → -2, 0.0625 → 0.5 → 0
  const r = quantizeBias(Float32Array.of(0.1875, 0.3125, -0.1875, 0.0625), 0.5, Float32Array.of(0.25));
  assert.deepEqual(Array.from(r.values), [2, 2, -2, 0]);
});

test("values beyond int32 saturate and their channels are reported", () => {
  // scale 1e-4·1e-4 ≈ 1e-8: a bias of 100 needs 1e10 > 2^31 - 1
  const r = quantizeBias(Float32Array.of(100, 0.5, -100, 21.47), 1e-4, Float32Array.of(1e-4));
  assert.equal(r.values[0], 2147483647);
  assert.equal(r.values[2], -2147483648);
  assert.deepEqual(r.saturatedChannels, [0, 2]);
  assert.ok(Math.abs(r.values[1]! - 0.5e8) <= 0.5e8 * 1e-6);
  assert.ok(r.values[3]! < 2147483647); // 21.47 / 1e-8 ≈ 2.147e9 still fits
});

test("bad inputs are clear errors", () => {
  assert.throws(() => quantizeBias(Float32Array.of(NaN), 1, Float32Array.of(1)), /bias\[0\] is NaN/);
  assert.throws(() => quantizeBias(Float32Array.of(1), 0, Float32Array.of(1)), /inputScale must be finite and > 0/);
  assert.throws(() => quantizeBias(Float32Array.of(1), NaN, Float32Array.of(1)), /inputScale/);
  assert.throws(() => quantizeBias(Float32Array.of(1, 2), 1, Float32Array.of(1, 0)), /weightScale\[1\] = 0/);
  assert.throws(() => quantizeBias(Float32Array.of(1, 2, 3), 1, Float32Array.of(1, 2)), /2 weight scales for a bias of 3 channels/);
  assert.throws(() => quantizeBias(Float32Array.of(1), 1e-30, Float32Array.of(1e-30)), /not representable as a positive float32/);
});
