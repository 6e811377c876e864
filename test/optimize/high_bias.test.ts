import { test } from "node:test";
import assert from "node:assert/strict";
import { makeNode, type Attribute, type Model } from "../../src/graph/ir.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import { equalizeCrossLayer } from "../../src/optimize/cle.js";
import {
  absorbHighBias, describeHighBiasAbsorption, extremesAfterEqualization, highBiasTensors, measureChannelExtremes,
} from "../../src/optimize/high_bias.js";
import { quantizeWithOptimizations } from "../../src/api/optimized_quantize.js";
import type { Feeds } from "../../src/data/feeds.js";
import { modelOf } from "../helpers/models.js";
import { depthwiseNet, highBiasDepthwiseNet, inputBatches, maxAbs, maxAbsDiff, runOrt, sourceOf } from "./nets.js";

const createExecutor = (m: Model) => createOrtNodeExecutor(m);
const f32 = (dims: number[], v: number[]) => ({ dtype: "float32" as const, dims, data: Float32Array.from(v) });
const ints = (v: number[]): Attribute => ({ kind: "ints", value: v });
const int = (v: number): Attribute => ({ kind: "int", value: v });
const initializer = (m: Model, name: string) => Array.from(m.graph.initializers.get(name)!.data as Float32Array);

/**
 * x [N, 1, 3, 3] → A: Conv 1→2 (1×1, weights [1, 2], bias [5, −1]) → Relu → B: Conv 2→1 (2×2, no
 * padding, bias 0.5). With x ∈ [0, 1], A's channel 0 lies in [5, 6] and channel 1 in [−1, 1].
 */
function twoConvs(): Model {
  return modelOf({
    name: "two_convs",
    nodes: [
      makeNode("Conv", ["x", "wa", "ba"], ["h"], { kernel_shape: ints([1, 1]) }, "A"),
      makeNode("Relu", ["h"], ["r"], {}, "relu"),
      makeNode("Conv", ["r", "wb", "bb"], ["y"], { kernel_shape: ints([2, 2]) }, "B"),
    ],
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 1, 3, 3] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["N", 1, 2, 2] }],
    initializers: new Map([
      ["wa", f32([2, 1, 1, 1], [1, 2])], ["ba", f32([2], [5, -1])],
      // B's taps on channel 0 sum to 1+2+3+4 = 10, on channel 1 to −1+0.5+0+2 = 1.5.
      ["wb", f32([1, 2, 2, 2], [1, 2, 3, 4, -1, 0.5, 0, 2])], ["bb", f32([1], [0.5])],
    ]),
    valueInfo: new Map(),
  });
}

/** Two batches of x ∈ [0, 1] [2, 1, 3, 3] that contain both 0 and 1. */
function unitInputs(): Feeds[] {
  const a = Array.from({ length: 18 }, (_, i) => (i * 7 % 18) / 17);
  const b = Array.from({ length: 18 }, (_, i) => ((i * 5 + 3) % 18) / 17);
  return [{ x: f32([2, 1, 3, 3], a) }, { x: f32([2, 1, 3, 3], b) }];
}

test("hand-computed: c = max(0, min) leaves A's bias, B's bias gains Σ taps W_B·c", () => {
  const { model, report } = absorbHighBias(twoConvs(), { channelMinima: new Map([["h", Float32Array.of(5, 0.5)]]) });
  // c = [5, 0.5]: b_A = [5 − 5, −1 − 0.5] = [0, −1.5]; b_B = 0.5 + 10·5 + 1.5·0.5 = 51.25.
  assert.deepEqual(initializer(model, "ba"), [0, -1.5]);
  assert.deepEqual(initializer(model, "bb"), [51.25]);
  // The weights are untouched.
  assert.deepEqual(initializer(model, "wb"), [1, 2, 3, 4, -1, 0.5, 0, 2]);
  assert.equal(report.pairs.length, 1);
  const p = report.pairs[0]!;
  assert.deepEqual(p.shifts, [{ channel: 0, shift: 5 }, { channel: 1, shift: 0.5 }]);
  assert.equal(p.exact, true);
  assert.equal(report.channelsMoved, 2);
  // A negative minimum moves nothing: c = max(0, −1) = 0.
  const negative = absorbHighBias(twoConvs(), { channelMinima: new Map([["h", Float32Array.of(5, -1)]]) });
  assert.deepEqual(initializer(negative.model, "ba"), [0, -1]);
  assert.deepEqual(initializer(negative.model, "bb"), [50.5]);
  assert.deepEqual(negative.report.pairs[0]!.shifts, [{ channel: 0, shift: 5 }]);
  // The caller's model keeps its biases.
  assert.deepEqual(initializer(twoConvs(), "ba"), [5, -1]);
});

test("measured minima: outputs unchanged in onnxruntime, ranges shrink as computed by hand", async () => {
  const model = twoConvs();
  const data = unitInputs();
  const tensors = highBiasTensors(model);
  assert.deepEqual(tensors, ["h", "r"]);
  const extremes = await measureChannelExtremes(model, tensors, sourceOf(data), createExecutor);
  // h = [x + 5, 2x − 1] with x ∈ [0, 1] hitting both ends.
  assert.deepEqual(Array.from(extremes.channelMinima.get("h")!), [5, -1]);
  assert.deepEqual(Array.from(extremes.channelMaxima.get("h")!), [6, 1]);
  const { model: absorbed, report } = absorbHighBias(model, extremes);
  const p = report.pairs[0]!;
  assert.deepEqual(p.preActivationRange, { tensor: "h", before: { min: -1, max: 6 }, after: { min: -1, max: 1 } });
  // r = Relu(h): channel 0 [5, 6] → [0, 1], channel 1 [0, 1] unchanged.
  assert.deepEqual(p.consumerInputRange, { tensor: "r", before: { min: 0, max: 6 }, after: { min: 0, max: 1 } });
  for (const feeds of data) {
    const before = await runOrt(model, feeds, ["y", "r"]);
    const after = await runOrt(absorbed, feeds, ["y", "r"]);
    assert.ok(maxAbsDiff(before.y!, after.y!) <= 1e-4 * maxAbs(before.y!), `y differs by ${maxAbsDiff(before.y!, after.y!)}`);
    // What the quantizer will see between the layers: never above 1 now.
    assert.ok(maxAbs(after.r!) <= 1 + 1e-6 && maxAbs(before.r!) >= 5);
  }
  const lines = describeHighBiasAbsorption(report);
  assert.equal(lines[0], "1 channel moved in 1 pair");
  assert.match(lines[1]!, /A → B: 1\/2 channels moved \(ch 0: 5\); range h \[-1, 6\] → \[-1, 1\], r \[0, 6\] → \[0, 1\]/);
});

/**
 * The depthwise-separable net with a few channels of each conv turned into "high-bias" channels:
 * weights ×0.1 and a positive bias, so the channel sits at bias ± a little. CLE divides such a
 * channel by a small s (its weight range is small), which multiplies its bias: the case §4.1.2
 * is about (after CLE, dwconv's channel 0 spans [29.8, 30.3] and sets the range of a2).
 */
function highBiasNet(): Model {
  return highBiasDepthwiseNet({ spread: 1, seed: 5 });
}

test("after CLE on the depthwise net: exact pairs absorbed, outputs unchanged, moved channels' minima become 0", async () => {
  const { model: equalized } = equalizeCrossLayer(highBiasNet());
  const data = inputBatches(4, 16, 11);
  const extremes = await measureChannelExtremes(equalized, highBiasTensors(equalized), sourceOf(data), createExecutor);
  const { model, report } = absorbHighBias(equalized, extremes);
  // conv1 → dwconv: the 3×3 depthwise conv pads its input, so it is skipped by default.
  assert.deepEqual(report.pairs.map((p) => `${p.first}→${p.second}`), ["dwconv→pwconv", "pwconv→fc"]);
  assert.match(report.skipped.find((s) => s.first === "conv1")!.reason, /dwconv pads its input \(pads 1,1,1,1\)/);
  assert.ok(report.pairs.every((p) => p.exact && p.shifts.length > 0), JSON.stringify(report.pairs.map((p) => p.shifts)));

  const names = ["logits", "c2", "a2", "c3", "a3"];
  let before = { min: Infinity, max: -Infinity }, after = { min: Infinity, max: -Infinity };
  for (const feeds of data) {
    const ref = await runOrt(equalized, feeds, names);
    const out = await runOrt(model, feeds, names);
    assert.ok(maxAbsDiff(ref.logits!, out.logits!) <= 1e-4 * maxAbs(ref.logits!), `logits differ by ${maxAbsDiff(ref.logits!, out.logits!)}`);
    for (const v of ref.a2!) before = { min: Math.min(before.min, v), max: Math.max(before.max, v) };
    for (const v of out.a2!) after = { min: Math.min(after.min, v), max: Math.max(after.max, v) };
  }
  // The tensor pwconv reads (a2) spans less, and the report says by how much.
  assert.ok(after.max < before.max, `a2 max ${before.max} → ${after.max}`);
  const dw = report.pairs[0]!;
  assert.ok(Math.abs(dw.consumerInputRange!.before.max - before.max) <= 1e-5 * before.max);
  assert.ok(Math.abs(dw.consumerInputRange!.after.max - after.max) <= 1e-4 * before.max);
  // Every moved channel now reaches 0 exactly where it used to reach c (its old minimum).
  const moved = await measureChannelExtremes(model, ["c2"], sourceOf(data), createExecutor);
  for (const s of dw.shifts) assert.ok(Math.abs(moved.channelMinima.get("c2")![s.channel]!) <= 1e-5 * s.shift, `channel ${s.channel}: min ${moved.channelMinima.get("c2")![s.channel]}`);
});

test("paddedConsumers 'approximate' (the paper's version): interior outputs exact, border errors within the reported bound", async () => {
  const net = highBiasNet();
  const data = inputBatches(2, 8, 12);
  const extremes = await measureChannelExtremes(net, highBiasTensors(net), sourceOf(data), createExecutor);
  const { model, report } = absorbHighBias(net, { ...extremes, paddedConsumers: "approximate", only: ["conv1"] });
  const p = report.pairs.find((x) => x.first === "conv1")!;
  assert.equal(p.exact, false);
  assert.ok(p.shifts.length > 0 && p.borderErrorBound! > 0);
  assert.match(describeHighBiasAbsorption(report)[1]!, /INEXACT at dwconv's padded border/);
  let interior = 0, border = 0;
  for (const feeds of data) {
    const ref = (await runOrt(net, feeds, ["c2"])).c2!;
    const out = (await runOrt(model, feeds, ["c2"])).c2!;
    for (let i = 0; i < ref.length; i++) {
      const y = Math.floor(i / 8) % 8, x = i % 8;
      const d = Math.abs(ref[i]! - out[i]!);
      if (y === 0 || y === 7 || x === 0 || x === 7) border = Math.max(border, d);
      else interior = Math.max(interior, d);
    }
  }
  assert.ok(interior <= 1e-5 * p.maxShift, `interior error ${interior}`);
  assert.ok(border > 1e-3 && border <= p.borderErrorBound! * (1 + 1e-5), `border error ${border} vs bound ${p.borderErrorBound}`);
});

test("extremes measured before CLE and divided by its scales equal those measured after CLE", async () => {
  const net = highBiasNet();
  const data = inputBatches(2, 8, 13);
  const tensors = highBiasTensors(net, { clip: "relu" });
  const before = await measureChannelExtremes(net, tensors, sourceOf(data), createExecutor);
  const eq = equalizeCrossLayer(net);
  assert.ok(eq.report.pairs.every((p) => p.scales.some((s) => Math.abs(s - 1) > 0.1)));
  const carried = extremesAfterEqualization(before, eq.model, eq.report);
  const measured = await measureChannelExtremes(eq.model, tensors, sourceOf(data), createExecutor);
  for (const name of tensors) {
    for (const map of ["channelMinima", "channelMaxima"] as const) {
      const a = carried[map].get(name)!, b = measured[map].get(name)!;
      const scale = maxAbs(b);
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * scale, `${name} ${map}[${i}]: ${a[i]} vs ${b[i]}`);
    }
  }
});

test("AveragePool between the layers: absorbed when padding is not counted, skipped when it is", async () => {
  const build = (countIncludePad: number) => {
    const m = twoConvs();
    m.graph.nodes.splice(2, 0, makeNode("AveragePool", ["r"], ["p"], { kernel_shape: ints([2, 2]), pads: ints([1, 1, 1, 1]), count_include_pad: int(countIncludePad) }, "pool"));
    m.graph.nodes[3]!.inputs[0] = "p";
    m.graph.outputs[0]!.shape = ["N", 1, 3, 3];
    return m;
  };
  const minima = new Map([["h", Float32Array.of(5, -1)]]);
  const counted = absorbHighBias(build(1), { channelMinima: minima });
  assert.equal(counted.report.pairs.length, 0);
  assert.match(counted.report.skipped.find((x) => x.first === "A")!.reason, /pool \(AveragePool\) counts padding in its divisor/);
  const model = build(0);
  const { model: absorbed, report } = absorbHighBias(model, { channelMinima: minima });
  assert.deepEqual(report.pairs[0]!.through, ["Relu", "AveragePool"]);
  for (const feeds of unitInputs()) {
    const ref = (await runOrt(model, feeds)).y!;
    const out = (await runOrt(absorbed, feeds)).y!;
    assert.ok(maxAbsDiff(ref, out) <= 1e-4 * maxAbs(ref), `differs by ${maxAbsDiff(ref, out)}`);
  }
});

test("bounded Clip (Relu6), MatMul and missing biases", () => {
  const relu6 = depthwiseNet({ activation: "Relu6" });
  const r = absorbHighBias(relu6, { channelMinima: new Map() });
  assert.equal(r.report.pairs.length, 0);
  assert.match(r.report.skipped.find((s) => s.first === "dwconv")!.reason, /Clip\(0, 6\)/);

  // B without a bias gets one holding Σ W_B·c; A without one gets −c.
  const m = twoConvs();
  m.graph.nodes[0]!.inputs.length = 2;
  m.graph.nodes[2]!.inputs.length = 2;
  m.graph.initializers.delete("ba");
  m.graph.initializers.delete("bb");
  const { model, report } = absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(2, 0)]]) });
  assert.deepEqual(report.pairs[0]!.biasesAdded.sort(), ["A_bias", "B_bias"]);
  assert.deepEqual(initializer(model, "A_bias"), [-2, 0]);
  assert.deepEqual(initializer(model, "B_bias"), [20]);

  const mm = modelOf({
    name: "matmuls",
    nodes: [makeNode("MatMul", ["x", "wa"], ["h"], {}, "A"), makeNode("Relu", ["h"], ["r"], {}, "relu"), makeNode("Gemm", ["r", "wb", "bb"], ["y"], {}, "B")],
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 2] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["N", 1] }],
    initializers: new Map([["wa", f32([2, 2], [1, 0, 0, 1])], ["wb", f32([2, 1], [1, 1])], ["bb", f32([1], [0])]]),
    valueInfo: new Map(),
  });
  assert.match(absorbHighBias(mm, { channelMinima: new Map() }).report.skipped.find((x) => x.first === "A")!.reason, /A is a MatMul: it has no bias to take the shift from/);
});

test("bad input gives clear errors", () => {
  const m = twoConvs();
  assert.throws(() => absorbHighBias(m, undefined as never), /needs options.channelMinima/);
  assert.throws(() => absorbHighBias(m, { channelMinima: new Map() }), /channelMinima has no entry for h \(the output of A\)/);
  assert.throws(() => absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(1, 2)], ["nowhere", Float32Array.of(0)]]) }), /channelMinima names tensor "nowhere", which the model does not have/);
  assert.throws(() => absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(1)]]) }), /channelMinima of h has 1 values for 2 channels/);
  assert.throws(() => absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(1, NaN)]]) }), /channelMinima of h is NaN at channel 1/);
  assert.throws(() => absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(1, -Infinity)]]) }), /is -Infinity at channel 1/);
  assert.throws(
    () => absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(5, 0)]]), channelMaxima: new Map([["h", Float32Array.of(4, 1)]]) }),
    /channel 0 of h: maximum 4 is below minimum 5/,
  );
  assert.throws(() => absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(1, 2)]]), only: ["B"] }), /B is not the first layer of an absorbable pair/);
  assert.throws(() => absorbHighBias(m, { channelMinima: new Map([["h", Float32Array.of(1, 2)]]), paddedConsumers: "maybe" as never }), /paddedConsumers must be "skip" or "approximate"/);
});

test("quantizeWithOptimizations: cle.highBiasAbsorption measures, absorbs and narrows the calibrated range", async () => {
  const net = highBiasNet();
  const calib = sourceOf(inputBatches(4, 16, 21));
  const options = { perChannel: false, method: "minmax" as const, createExecutor };
  const cleOnly = await quantizeWithOptimizations(net, calib, { ...options, cle: true });
  const both = await quantizeWithOptimizations(net, calib, { ...options, cle: { highBiasAbsorption: true } });
  const report = both.optimizations.highBiasAbsorption!;
  assert.ok(report.channelsMoved > 0);
  assert.equal(cleOnly.optimizations.highBiasAbsorption, undefined);
  // The calibrated range of a2 (pwconv's input) is the measured max over the data; it must shrink
  // to what the report predicted from the pre-CLE pass.
  const range = (r: typeof both) => r.setup.ranges.get("a2")!;
  const pair = report.pairs.find((p) => p.first === "dwconv")!;
  assert.ok(range(both).max < range(cleOnly).max, `a2 max ${range(cleOnly).max} → ${range(both).max}`);
  assert.ok(Math.abs(range(both).max - pair.consumerInputRange!.after.max) <= 1e-4 * range(cleOnly).max);
  // The float model the QDQ model was built from still computes the original function.
  const feeds = inputBatches(1, 16, 21)[0]!;
  const ref = (await runOrt(net, feeds)).logits!;
  const out = (await runOrt(both.setup.model, feeds)).logits!;
  assert.ok(maxAbsDiff(ref, out) <= 1e-4 * maxAbs(ref));
});
