/**
 * The WebAssembly depthwise kernel (assembly/int8/depthwise.ts) against the reference conv2d with
 * group = C, bit for bit. The kernel has several code paths, and each sweep here reaches them:
 * 3×3 and 5-wide kernels with unit dilation along the width and strides 1 or 2 (the unrolled
 * kernels, each with the pair rows read straight from the image), every other geometry (the
 * tap-pair table, pair rows built from a padded copy of the row); 16-wide blocks, a last block of
 * 16 or 8 overlapping the previous one, rows narrower than a block; the zero point folded into the
 * bias (so biases at the int32 extremes, where the sums wrap); left shifts (multipliers ≥ 1) and
 * every right shift; fused clamps and byte tables; 1 and 2 threads (the split by channels only
 * happens above PARALLEL_MIN_MACS multiply-adds, so some cases are large).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type FusedActivation, conv2d, newInt32Tensor, prepareConv2d } from "../../../src/kernels/reference/index.js";
import { PARALLEL_MIN_MACS, wasmConv2d } from "../../../src/kernels/int8/conv.js";
import { Int8Wasm } from "../../../src/kernels/int8/wasm.js";
import type { QParams } from "../../../src/quant/qparams.js";
import { type Int8DType, qp, randomInt, randomInt8Tensor, rng, pick, sameTensor } from "../reference/helpers.js";

const EDGE_ZERO_POINTS: Record<Int8DType, number[]> = { uint8: [0, 255, 128, 7], int8: [-128, 127, 0, -9] };


interface Geometry {
  channels: number; h: number; w: number; kernel: [number, number]; strides: [number, number];
  dilations: [number, number]; pads: [number, number, number, number]; batch?: number;
}

interface Options {
  /** Bias values: "none", "small" (±200 000) or "extreme" (anywhere in int32, so that sums wrap). */
  bias?: "none" | "small" | "extreme";
  /** Output scale factor: ≪ 1 saturates, ≫ 1 needs left shifts. */
  factor?: number;
  table?: boolean;
}

function outputCount(g: Geometry): number {
  const out = (size: number, k: number, s: number, d: number, p: number) => Math.floor((size + p - ((k - 1) * d + 1)) / s) + 1;
  const oh = out(g.h, g.kernel[0], g.strides[0], g.dilations[0], g.pads[0] + g.pads[2]);
  const ow = out(g.w, g.kernel[1], g.strides[1], g.dilations[1], g.pads[1] + g.pads[3]);
  return oh * ow;
}

/** Runs one random depthwise layer of geometry `g` on the WebAssembly kernels and on the reference; asserts equality. */
function check(wasm: Int8Wasm, random: () => number, g: Geometry, options: Options, label: string): void {
  const xType = pick(random, ["uint8", "int8"] as const);
  const wType = pick(random, ["int8", "int8", "uint8"] as const);
  const yType = pick(random, ["uint8", "int8"] as const);
  const c = g.channels;
  const x = randomInt8Tensor(random, xType, [g.batch ?? 1, c, g.h, g.w]);
  const w = randomInt8Tensor(random, wType, [c, 1, g.kernel[0], g.kernel[1]]);
  const perChannel = random() < 0.6;
  const wScales = Array.from({ length: perChannel ? c : 1 }, () => Math.fround(0.001 + random() * 0.02));
  const wZeros = wScales.map(() => pick(random, EDGE_ZERO_POINTS[wType]));
  const weight: QParams = perChannel
    ? { dtype: wType, scale: Float32Array.from(wScales), zeroPoint: Int32Array.from(wZeros), axis: 0 }
    : qp(wType, wScales[0]!, wZeros[0]!);
  const input = qp(xType, Math.fround(0.005 + random() * 0.05), pick(random, EDGE_ZERO_POINTS[xType]));
  const taps = g.kernel[0] * g.kernel[1];
  const factor = options.factor ?? pick(random, [1, 1, 1, 0.01, 1e-4, 50, 1e5]);
  const typical = input.scale[0]! * wScales[0]! * Math.sqrt(taps) * 80 * 80;
  const output = qp(yType, Math.fround((typical / 100) * factor), pick(random, EDGE_ZERO_POINTS[yType]));
  const r = random();
  const activation: FusedActivation | undefined = r < 0.5 ? undefined : r < 0.75 ? { kind: "relu" } : { kind: "clip", min: -0.5 - random(), max: 0.5 + random() };
  const plan = prepareConv2d(
    { strides: g.strides, dilations: g.dilations, pads: g.pads, group: c },
    { input, weight, output, ...(activation ? { activation } : {}) },
  );
  const biasKind = options.bias ?? pick(random, ["none", "small", "small", "extreme"] as const);
  const bias = biasKind === "none" ? undefined
    : Int32Array.from({ length: c }, () => biasKind === "small" ? randomInt(random, -200000, 200000) : randomInt(random, -(2 ** 31), 2 ** 31 - 1));
  const run = wasmConv2d(wasm, plan, w, bias);
  let expected = conv2d(plan, x, w, bias ? newInt32Tensor([c], bias) : undefined);
  if (options.table) {
    const table = Uint8Array.from({ length: 256 }, () => randomInt(random, 0, 255));
    run.fuseOutputTable(table, "uint8");
    expected = { dtype: "uint8", dims: expected.dims, data: Uint8Array.from(expected.data as ArrayLike<number>, (v) => table[v & 255]!) };
  }
  const got = run(x);
  const what = `${label}: ${JSON.stringify(g)} x ${xType} (z ${input.zeroPoint[0]}) w ${wType} y ${yType} bias ${biasKind} factor ${factor}`;
  sameTensor(got, expected, what);
}

function randomGeometry(random: () => number): Geometry {
  const kernel: [number, number] = [pick(random, [1, 2, 3, 3, 5]), pick(random, [1, 2, 3, 3, 4, 5, 5, 7])];
  const strides: [number, number] = [pick(random, [1, 1, 2, 3]), pick(random, [1, 1, 2, 3])];
  const dilations: [number, number] = [pick(random, [1, 1, 1, 2]), pick(random, [1, 1, 1, 2, 3])];
  const pads: [number, number, number, number] = [randomInt(random, 0, 3), randomInt(random, 0, 3), randomInt(random, 0, 3), randomInt(random, 0, 3)];
  const span = (k: number, d: number) => (k - 1) * d + 1;
  return {
    channels: randomInt(random, 1, 6),
    h: Math.max(span(kernel[0], dilations[0]), randomInt(random, 1, 12)),
    w: Math.max(span(kernel[1], dilations[1]), randomInt(random, 1, 70)),
    kernel, strides, dilations, pads, batch: randomInt(random, 1, 2),
  };
}

for (const threads of [1, 2]) {
  const wasm = new Int8Wasm({ threads });
  test.after(() => wasm.dispose());
  const suffix = `${threads} thread${threads > 1 ? "s" : ""}`;

  test(`wasm depthwise (${suffix}): random geometries equal the reference`, () => {
    const random = rng(6100 + threads);
    for (let i = 0; i < 150; i++) check(wasm, random, randomGeometry(random), {}, `case ${i}`);
  });

  test(`wasm depthwise (${suffix}): every row width from 1 to 70 on the unrolled kernels`, () => {
    // Widths around the 16-output blocks: narrower than 8, than 16, whole blocks, and a last block
    // of 8 or 16 overlapping the one before.
    const random = rng(6200 + threads);
    const kernels: Pick<Geometry, "kernel" | "strides" | "pads">[] = [
      { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] },
      { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      { kernel: [5, 5], strides: [1, 1], pads: [2, 2, 2, 2] },
      { kernel: [5, 5], strides: [2, 1], pads: [2, 2, 2, 2] },
      { kernel: [3, 5], strides: [1, 2], pads: [0, 2, 1, 0] },
    ];
    for (const k of kernels) {
      for (let w = 1; w <= 70; w++) {
        if (w + k.pads[1] + k.pads[3] < k.kernel[1]) continue;
        check(wasm, random, { channels: 2, h: randomInt(random, 3, 6), w, dilations: [1, 1], ...k }, {}, `width ${w}`);
      }
    }
  });

  test(`wasm depthwise (${suffix}): biases anywhere in int32 (the zero point folded into them wraps)`, () => {
    const random = rng(6300 + threads);
    for (let i = 0; i < 60; i++) {
      const g = randomGeometry(random);
      check(wasm, random, g, { bias: "extreme", factor: pick(random, [1, 1e-6, 1e-3, 1e3]) }, `extreme bias ${i}`);
    }
  });

  test(`wasm depthwise (${suffix}): left shifts, saturation and fused tables`, () => {
    const random = rng(6400 + threads);
    for (let i = 0; i < 40; i++) check(wasm, random, randomGeometry(random), { factor: pick(random, [1e5, 1e6, 1e-5]) }, `shift ${i}`);
    for (let i = 0; i < 40; i++) check(wasm, random, randomGeometry(random), { table: true }, `table ${i}`);
  });

  test(`wasm depthwise (${suffix}): layers large enough to be split across threads`, () => {
    const random = rng(6500 + threads);
    const layers: Geometry[] = [
      { channels: 24, h: 33, w: 47, kernel: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1] },
      { channels: 19, h: 30, w: 40, kernel: [5, 5], strides: [1, 1], dilations: [1, 1], pads: [2, 2, 2, 2] },
      { channels: 32, h: 48, w: 64, kernel: [3, 3], strides: [2, 2], dilations: [1, 1], pads: [0, 0, 1, 1] },
      { channels: 40, h: 12, w: 80, kernel: [5, 5], strides: [2, 1], dilations: [1, 1], pads: [2, 2, 2, 2] },
      { channels: 40, h: 45, w: 57, kernel: [3, 3], strides: [1, 2], dilations: [2, 2], pads: [2, 1, 2, 3] },
      { channels: 9, h: 64, w: 64, kernel: [7, 7], strides: [3, 3], dilations: [1, 1], pads: [3, 3, 3, 3], batch: 2 },
    ];
    for (const g of layers) {
      assert.ok(g.channels * outputCount(g) * g.kernel[0] * g.kernel[1] >= PARALLEL_MIN_MACS, `${JSON.stringify(g)} is too small to be split`);
      check(wasm, random, g, {}, "large");
      check(wasm, random, g, { table: true, bias: "extreme" }, "large with a table");
    }
  });
}
