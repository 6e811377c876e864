import { test } from "node:test";
import assert from "node:assert/strict";
import { makeNode, type Model } from "../../src/graph/ir.js";
import { equalizeCrossLayer } from "../../src/optimize/cle.js";
import { findEqualizationPairs } from "../../src/optimize/cle_pairs.js";
import { modelOf } from "../helpers/models.js";
import { depthwiseNet, inputBatches, maxAbs, maxAbsDiff, runOrt } from "./nets.js";

function weight(model: Model, node: string): Float32Array {
  const n = model.graph.nodes.find((x) => x.name === node)!;
  return model.graph.initializers.get(n.inputs[1]!)!.data as Float32Array;
}

function close(actual: Float32Array, expected: number[]) {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= 1e-6 * Math.abs(e), `[${i}] ${actual[i]} vs ${e}`));
}

/** Gemm(transB) → Relu → Gemm(transB) with hand-picked 2×2 weights. */
function twoGemms(): Model {
  const f = (dims: number[], v: number[]) => ({ dtype: "float32" as const, dims, data: Float32Array.from(v) });
  const t = { transB: { kind: "int" as const, value: 1 } };
  return modelOf({
    name: "two_gemms",
    nodes: [
      makeNode("Gemm", ["x", "wa", "ba"], ["h"], t, "A"),
      makeNode("Relu", ["h"], ["r"], {}, "relu"),
      makeNode("Gemm", ["r", "wb", "bb"], ["y"], t, "B"),
    ],
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 2] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["N", 2] }],
    // A's output channel 0 has range 4, channel 1 range 0.25; B reads channel 0 with range 1, channel 1 with range 4.
    initializers: new Map([
      ["wa", f([2, 2], [4, -2, 0.25, 0.1])], ["ba", f([2], [1, 0.5])],
      ["wb", f([2, 2], [1, 4, -0.5, 2])], ["bb", f([2], [0, 0])],
    ]),
    valueInfo: new Map(),
  });
}

test("CLE on a hand-made pair: s_i = √(r1_i / r2_i), both ranges become √(r1_i·r2_i)", () => {
  const { model, report } = equalizeCrossLayer(twoGemms());
  // Channel 0: r1 = 4, r2 = 1 → s = 2, both ranges 2. Channel 1: r1 = 0.25, r2 = 4 → s = 0.25, both ranges 1.
  close(weight(model, "A"), [2, -1, 1, 0.4]);
  close(model.graph.initializers.get("ba")!.data as Float32Array, [0.5, 2]);
  // B's columns: column 0 (input channel 0) ×2, column 1 ×0.25.
  close(weight(model, "B"), [2, 1, -1, 0.5]);
  assert.equal(report.pairs.length, 1);
  assert.equal(report.pairs[0]!.channelsScaled, 2);
  assert.ok(report.converged);
});

test("CLE leaves the depthwise-separable net's float outputs unchanged (onnxruntime, ≤ 1e-4 relative)", async () => {
  const original = depthwiseNet({ spread: 1.5 });
  const { model, report } = equalizeCrossLayer(original);
  // conv1 → dwconv → pwconv are two pairs; pwconv → GAP → Flatten → fc a third.
  assert.deepEqual(report.pairs.map((p) => `${p.first}→${p.second}`), ["conv1→dwconv", "dwconv→pwconv", "pwconv→fc"]);
  assert.deepEqual(report.pairs[2]!.through, ["Relu", "GlobalAveragePool", "Flatten"]);
  const feeds = inputBatches(1, 16, 3)[0]!;
  const ref = (await runOrt(original, feeds)).logits!;
  const eq = (await runOrt(model, feeds)).logits!;
  assert.ok(maxAbsDiff(ref, eq) <= 1e-4 * maxAbs(ref), `max diff ${maxAbsDiff(ref, eq)} vs max |y| ${maxAbs(ref)}`);
  // The input model is untouched.
  assert.notDeepEqual(Array.from(weight(original, "dwconv")), Array.from(weight(model, "dwconv")));
});

test("after convergence every pair's output and input channel ranges agree, and per-tensor int8 SQNR improves", () => {
  const { model, report } = equalizeCrossLayer(depthwiseNet({ spread: 1.5 }), { tolerance: 1e-9, maxSweeps: 1000 });
  assert.ok(report.converged, `sweeps ${report.sweeps}`);
  const w1 = weight(model, "conv1"), w2 = weight(model, "dwconv"), w3 = weight(model, "pwconv");
  for (let c = 0; c < 8; c++) {
    const r1 = maxAbs(w1.subarray(c * 27, (c + 1) * 27)); // conv1 output channel c: 3·3·3 weights
    const r2 = maxAbs(w2.subarray(c * 9, (c + 1) * 9)); // depthwise channel c (input = output channel)
    let r3 = 0; // pwconv input channel c: column c of the [16, 8] matrix
    for (let m = 0; m < 16; m++) r3 = Math.max(r3, Math.abs(w3[m * 8 + c]!));
    assert.ok(Math.abs(r1 - r2) <= 1e-5 * r1, `channel ${c}: conv1 ${r1} vs dw ${r2}`);
    assert.ok(Math.abs(r2 - r3) <= 1e-5 * r2, `channel ${c}: dw ${r2} vs pw column ${r3}`);
  }
  const dw = report.layers.find((l) => l.node === "dwconv")!;
  assert.ok(dw.channelRangeSpreadBefore > 5 && dw.channelRangeSpreadAfter < dw.channelRangeSpreadBefore);
  // The narrowest channel gains ≈ 20·log10(spread before / spread after) dB under a shared scale.
  assert.ok(dw.worstChannelInt8SqnrAfter > dw.worstChannelInt8SqnrBefore + 10, JSON.stringify(dw));
});

test("Relu6 pairs: skipped by default, replaced by Relu only where calibration stays below 6, or always with clip 'relu'", async () => {
  const net = depthwiseNet({ activation: "Relu6", spread: 1.5 });
  const skip = findEqualizationPairs(net);
  assert.deepEqual(skip.pairs.map((p) => p.first), []);
  assert.match(skip.skipped.find((s) => s.first === "conv1")!.reason, /Relu6-like.*not positively homogeneous/);

  const ranges = new Map([["a1", { min: 0, max: 5.2 }], ["a2", { min: 0, max: 6 }], ["a3", { min: 0, max: 1 }]]);
  const some = equalizeCrossLayer(net, { clip: "relu-if-unreached", observedRanges: ranges });
  // act2 reached its bound: dwconv → pwconv is not equalized; act1 and act3 become Relu.
  assert.deepEqual(some.report.pairs.map((p) => p.first), ["conv1", "pwconv"]);
  assert.deepEqual(some.report.clipsReplaced, ["act1", "act3"]);
  assert.match(some.report.skipped.find((s) => s.first === "dwconv")!.reason, /reached its bound/);
  assert.equal(some.model.graph.nodes.find((n) => n.name === "act2")!.opType, "Clip");
  assert.equal(some.model.graph.nodes.find((n) => n.name === "act1")!.opType, "Relu");

  const all = equalizeCrossLayer(net, { clip: "relu" });
  assert.equal(all.report.pairs.length, 3);
  // With small inputs no pre-activation reaches 6, so Relu6 = Relu on this data and outputs agree.
  const feeds = { x: { ...inputBatches(1, 8, 4)[0]!.x!, data: (inputBatches(1, 8, 4)[0]!.x!.data as Float32Array).map((v) => v * 0.01) } };
  const pre = await runOrt(net, feeds, ["c1", "c2", "c3", "logits"]);
  assert.ok(Math.max(maxAbs(pre.c1!), maxAbs(pre.c2!), maxAbs(pre.c3!)) < 6);
  const eq = (await runOrt(all.model, feeds)).logits!;
  assert.ok(maxAbsDiff(pre.logits!, eq) <= 1e-4 * maxAbs(pre.logits!));
});

test("pairs whose intermediate has another reader, or whose weights are shared, are skipped with the reason", () => {
  const m = twoGemms();
  m.graph.outputs.push({ name: "r", dtype: "float32" });
  const { pairs, skipped } = findEqualizationPairs(m);
  assert.equal(pairs.length, 0);
  assert.match(skipped[0]!.reason, /r is a graph output/);
  const shared = twoGemms();
  shared.graph.nodes[2]!.inputs[1] = "wa";
  assert.match(findEqualizationPairs(shared).skipped[0]!.reason, /shared/);
});

test("bad options are rejected with a clear error", () => {
  assert.throws(() => equalizeCrossLayer(twoGemms(), { maxSweeps: 0 }), /maxSweeps must be a positive integer/);
  assert.throws(() => equalizeCrossLayer(twoGemms(), { only: ["B"] }), /B is not the first layer of an equalizable pair/);
  assert.throws(() => equalizeCrossLayer(twoGemms(), { clip: "sometimes" as never }), /unknown clip policy/);
});
