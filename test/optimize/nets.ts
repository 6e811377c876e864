/**
 * Test models for the optimizers: a depthwise-separable net (the MobileNet block CLE was made for)
 * whose weights have per-channel ranges spread over two decades, as BatchNorm folding leaves them,
 * plus data and ONNX Runtime helpers.
 */
import * as ort from "onnxruntime-node";
import { makeNode, type Attribute, type Model, type Node } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { withExtraOutputs } from "../../src/calibrate/expose.js";
import type { Feeds } from "../../src/data/feeds.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { modelOf, randomTensor, rng } from "../helpers/models.js";

const ints = (v: number[]): Attribute => ({ kind: "ints", value: v });
const int = (v: number): Attribute => ({ kind: "int", value: v });

/** Multiplies each output channel (axis 0) of `t` by 10^u, u uniform in [−spread, spread]. */
function spreadChannels(t: Tensor, spread: number, random: () => number): Tensor {
  const data = t.data as Float32Array;
  const per = data.length / t.dims[0]!;
  for (let c = 0; c < t.dims[0]!; c++) {
    const f = 10 ** ((random() * 2 - 1) * spread);
    for (let k = 0; k < per; k++) data[c * per + k]! *= f;
  }
  return t;
}

export interface DepthwiseNetOptions {
  seed?: number;
  /** The activation after each conv: "Relu" or "Relu6" (Clip(0, 6)). */
  activation?: "Relu" | "Relu6";
  /** Decades of per-channel range spread (default 1: ranges within ×10 of each other). */
  spread?: number;
  /** Leave the first conv without a bias (bias correction must add one). */
  noFirstBias?: boolean;
}

/**
 * x [N, 3, 8, 8] → Conv 3→8 (3×3, pad 1) → act → depthwise Conv 8 (group 8, 3×3, pad 1) → act →
 * Conv 1×1 8→16 → act → GlobalAveragePool → Flatten → Gemm 16→10 → logits.
 */
export function depthwiseNet(options: DepthwiseNetOptions = {}): Model {
  const r = rng(options.seed ?? 5);
  const spread = options.spread ?? 1;
  const init = new Map<string, Tensor>([
    ["w1", spreadChannels(randomTensor([8, 3, 3, 3], 0.4, r), spread, r)], ["b1", randomTensor([8], 0.2, r)],
    ["w2", spreadChannels(randomTensor([8, 1, 3, 3], 0.5, r), spread, r)], ["b2", randomTensor([8], 0.2, r)],
    ["w3", spreadChannels(randomTensor([16, 8, 1, 1], 0.5, r), spread, r)], ["b3", randomTensor([16], 0.2, r)],
    ["w4", randomTensor([10, 16], 0.5, r)], ["b4", randomTensor([10], 0.1, r)],
  ]);
  if (options.noFirstBias) init.delete("b1");
  const relu6 = options.activation === "Relu6";
  if (relu6) {
    init.set("zero", { dtype: "float32", dims: [], data: Float32Array.of(0) });
    init.set("six", { dtype: "float32", dims: [], data: Float32Array.of(6) });
  }
  const act = (input: string, output: string, name: string): Node =>
    relu6 ? makeNode("Clip", [input, "zero", "six"], [output], {}, name) : makeNode("Relu", [input], [output], {}, name);
  const nodes: Node[] = [
    makeNode("Conv", ["x", "w1", ...(options.noFirstBias ? [] : ["b1"])], ["c1"], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }, "conv1"),
    act("c1", "a1", "act1"),
    makeNode("Conv", ["a1", "w2", "b2"], ["c2"], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(8) }, "dwconv"),
    act("c2", "a2", "act2"),
    makeNode("Conv", ["a2", "w3", "b3"], ["c3"], { kernel_shape: ints([1, 1]) }, "pwconv"),
    act("c3", "a3", "act3"),
    makeNode("GlobalAveragePool", ["a3"], ["gap"], {}, "gap"),
    makeNode("Flatten", ["gap"], ["flat"], { axis: int(1) }, "flatten"),
    makeNode("Gemm", ["flat", "w4", "b4"], ["logits"], { transB: int(1) }, "fc"),
  ];
  return modelOf({
    name: "depthwise_net",
    nodes,
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 3, 8, 8] }],
    outputs: [{ name: "logits", dtype: "float32", shape: ["N", 10] }],
    initializers: init,
    valueInfo: new Map(),
  });
}

/**
 * depthwiseNet with a few channels of each conv turned into "high-bias" channels: weights ×0.1 and
 * a positive bias, so the channel sits at bias ± a little. CLE divides such a channel by a small s
 * (its weight range is small), which multiplies its bias: the case of Nagel et al. 2019 §4.1.2.
 */
export function highBiasDepthwiseNet(options: DepthwiseNetOptions = {}): Model {
  const m = depthwiseNet(options);
  const highBias = (w: string, b: string, channels: Record<number, number>) => {
    const wt = m.graph.initializers.get(w)!;
    const per = (wt.data as Float32Array).length / wt.dims[0]!;
    for (const [c, bias] of Object.entries(channels)) {
      for (let k = 0; k < per; k++) (wt.data as Float32Array)[Number(c) * per + k]! *= 0.1;
      (m.graph.initializers.get(b)!.data as Float32Array)[Number(c)] = bias;
    }
  };
  highBias("w1", "b1", { 1: 1, 4: 0.8 });
  highBias("w2", "b2", { 0: 3, 3: 1.5, 6: 0.6 });
  highBias("w3", "b3", { 2: 1, 5: 0.7, 11: 3 });
  return m;
}

/** `count` batches of [batch, 3, 8, 8] inputs in [−1, 1) (or the dims given). */
export function inputBatches(count: number, batch: number, seed: number, dims: number[] = [3, 8, 8]): Feeds[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => ({ x: randomTensor([batch, ...dims], 1, r) }));
}

/** A re-iterable data source over fixed batches. */
export function sourceOf(feeds: Feeds[]): AsyncIterable<Feeds> {
  return { async *[Symbol.asyncIterator]() { yield* feeds; } };
}

/** Runs a model in onnxruntime-node and returns the named outputs (default: all graph outputs). */
export async function runOrt(model: Model, feeds: Feeds, names?: string[]): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(encodeModel(names ? withExtraOutputs(model, names) : model));
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor("float32", t.data as Float32Array, t.dims);
    const out = await session.run(ortFeeds, names ?? model.graph.outputs.map((o) => o.name));
    const result: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) result[k] = v.data as Float32Array;
    return result;
  } finally {
    await session.release();
  }
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function sqnrDb(ref: ArrayLike<number>, approx: ArrayLike<number>): number {
  let s = 0, n = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    n += (ref[i]! - approx[i]!) ** 2;
  }
  return 10 * Math.log10(s / n);
}

/**
 * `count` batches of smooth images [batch, channels, size, size]: 3×3 random grids bilinearly
 * upsampled plus a little noise, so that neighbouring pixels correlate as in natural images.
 */
export function smoothBatches(count: number, batch: number, seed: number, channels = 3, size = 8): Feeds[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const data = new Float32Array(batch * channels * size * size);
    for (let p = 0; p < batch * channels; p++) {
      const grid = Array.from({ length: 9 }, () => r() * 2 - 1);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const gy = (y / (size - 1)) * 2, gx = (x / (size - 1)) * 2;
          const y0 = Math.min(1, Math.floor(gy)), x0 = Math.min(1, Math.floor(gx));
          const fy = gy - y0, fx = gx - x0;
          const at = (a: number, b: number) => grid[a * 3 + b]!;
          const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
          data[p * size * size + y * size + x] = v + 0.05 * (r() * 2 - 1);
        }
      }
    }
    return { x: { dtype: "float32" as const, dims: [batch, channels, size, size], data } };
  });
}
