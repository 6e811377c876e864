/**
 * Conv → MaxPool as one WebAssembly kernel (kernels/int8/conv_max_pool.ts: int32 sums pooled,
 * then requantized) against the reference conv2d followed by the reference maxPool2d, bit for bit:
 * 2×2/stride-2 pools (the vector path) on even and odd planes, 3×3/stride-2 pools with padding
 * and other windows (the scalar path), 1×1, strided, padded and grouped convolutions, per-channel
 * and per-tensor weights at edge zero points, fused clamps, pools that requantize, byte tables
 * fused after the pool, batches, and 1 and 2 threads. Also: what must not be fused (depthwise
 * convolutions, windows that may see only padding, accumulators that could wrap) is refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type FusedActivation, conv2d, maxPool2d, newInt32Tensor, prepareConv2d, prepareMaxPool2d,
} from "../../../src/kernels/reference/index.js";
import { wasmConvMaxPool } from "../../../src/kernels/int8/conv_max_pool.js";
import { Int8Wasm } from "../../../src/kernels/int8/wasm.js";
import type { QParams } from "../../../src/quant/qparams.js";
import { type Int8DType, pick, qp, randomInt, randomInt8Tensor, rng, sameTensor } from "../reference/helpers.js";

const EDGE_ZERO_POINTS: Record<Int8DType, number[]> = { uint8: [0, 255, 128, 11], int8: [-128, 127, 0, -3] };

interface Case {
  inChannels: number; outChannels: number; h: number; w: number; kernel: [number, number]; strides: [number, number];
  pads: [number, number, number, number]; group?: number; batch?: number;
  pool: { kernel: [number, number]; strides: [number, number]; pads: [number, number, number, number]; ceilMode?: boolean };
}

interface Options { requantizingPool?: boolean; table?: boolean; bias?: "none" | "small"; factor?: number }

function layer(random: () => number, c: Case, options: Options = {}) {
  const xType = pick(random, ["uint8", "int8"] as const);
  const wType = pick(random, ["int8", "int8", "uint8"] as const);
  const yType = pick(random, ["uint8", "int8"] as const);
  const group = c.group ?? 1;
  const x = randomInt8Tensor(random, xType, [c.batch ?? 1, c.inChannels, c.h, c.w]);
  const w = randomInt8Tensor(random, wType, [c.outChannels, c.inChannels / group, c.kernel[0], c.kernel[1]]);
  const perChannel = random() < 0.6;
  const wScales = Array.from({ length: perChannel ? c.outChannels : 1 }, () => Math.fround(0.001 + random() * 0.02));
  const wZeros = wScales.map(() => pick(random, EDGE_ZERO_POINTS[wType]));
  const weight: QParams = perChannel
    ? { dtype: wType, scale: Float32Array.from(wScales), zeroPoint: Int32Array.from(wZeros), axis: 0 }
    : qp(wType, wScales[0]!, wZeros[0]!);
  const input = qp(xType, Math.fround(0.005 + random() * 0.05), pick(random, EDGE_ZERO_POINTS[xType]));
  const k = (c.inChannels / group) * c.kernel[0] * c.kernel[1];
  const typical = input.scale[0]! * wScales[0]! * Math.sqrt(k) * 80 * 80;
  const output = qp(yType, Math.fround((typical / 100) * (options.factor ?? pick(random, [1, 1, 0.01, 50]))), pick(random, EDGE_ZERO_POINTS[yType]));
  const r = random();
  const activation: FusedActivation | undefined = r < 0.4 ? undefined : r < 0.7 ? { kind: "relu" } : { kind: "clip", min: -0.5 - random(), max: 0.5 + random() };
  const conv = prepareConv2d({ strides: c.strides, pads: c.pads, group }, { input, weight, output, ...(activation ? { activation } : {}) });
  const poolOut = options.requantizingPool ? qp(yType, Math.fround(output.scale[0]! * (0.5 + random())), pick(random, EDGE_ZERO_POINTS[yType])) : output;
  const pool = prepareMaxPool2d({ kernelShape: c.pool.kernel, strides: c.pool.strides, pads: c.pool.pads, ceilMode: c.pool.ceilMode ?? false }, output, poolOut);
  const biasKind = options.bias ?? pick(random, ["none", "small", "small"] as const);
  const bias = biasKind === "none" ? undefined
    : Int32Array.from({ length: c.outChannels }, () => randomInt(random, -200000, 200000));
  return { x, w, conv, pool, bias };
}

function check(wasm: Int8Wasm, random: () => number, c: Case, label: string, options: Options = {}): void {
  const { x, w, conv, pool, bias } = layer(random, c, options);
  const run = wasmConvMaxPool(wasm, conv, w, bias, pool);
  assert.ok(run, `${label}: the pair should be fused`);
  let expected = maxPool2d(pool, conv2d(conv, x, w, bias ? newInt32Tensor([c.outChannels], bias) : undefined));
  if (options.table) {
    const table = Uint8Array.from({ length: 256 }, () => randomInt(random, 0, 255));
    run.fuseOutputTable(table, "uint8");
    expected = { dtype: "uint8", dims: expected.dims, data: Uint8Array.from(expected.data as ArrayLike<number>, (v) => table[v & 255]!) };
  }
  const got = run(x);
  const what = `${label}: ${JSON.stringify(c)}`;
  sameTensor(got, expected, what);
  wasm.release(got.data);
}

const TWO_BY_TWO = { kernel: [2, 2] as [number, number], strides: [2, 2] as [number, number], pads: [0, 0, 0, 0] as [number, number, number, number] };

for (const threads of [1, 2]) {
  const wasm = new Int8Wasm({ threads });
  test.after(() => wasm.dispose());
  const suffix = `${threads} thread${threads > 1 ? "s" : ""}`;

  test(`conv + 2×2 max pool (${suffix}): LeNet-like layers, every plane width, odd sizes`, () => {
    const random = rng(9100 + threads);
    check(wasm, random, { inChannels: 1, outChannels: 20, h: 28, w: 28, kernel: [5, 5], strides: [1, 1], pads: [0, 0, 0, 0], pool: TWO_BY_TWO }, "LeNet conv1");
    check(wasm, random, { inChannels: 20, outChannels: 50, h: 12, w: 12, kernel: [5, 5], strides: [1, 1], pads: [0, 0, 0, 0], pool: TWO_BY_TWO }, "LeNet conv2");
    for (let i = 0; i < 60; i++) {
      const kernel = pick(random, [[1, 1], [3, 3], [5, 5], [3, 1]] as [number, number][]);
      const pad = kernel[0] === 3 && random() < 0.5 ? 1 : 0;
      check(wasm, random, {
        inChannels: pick(random, [1, 2, 3, 5, 8, 17]), outChannels: pick(random, [1, 3, 4, 5, 8, 13]),
        h: randomInt(random, kernel[0] + 3, 14), w: randomInt(random, kernel[1] + 3, 30), kernel, strides: pick(random, [[1, 1], [1, 1], [2, 2]] as [number, number][]),
        pads: [pad, pad, pad, pad], batch: randomInt(random, 1, 2), pool: TWO_BY_TWO,
      }, `case ${i}`, { table: random() < 0.2, requantizingPool: random() < 0.3 });
    }
  });

  test(`conv + other max pools (${suffix}): 3×3 stride 2 with padding, 3×2, stride 1, grouped convolutions`, () => {
    const random = rng(9200 + threads);
    const pools: Case["pool"][] = [
      { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      { kernel: [3, 2], strides: [1, 2], pads: [0, 1, 1, 0] },
      { kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0] },
      { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] },
    ];
    for (let i = 0; i < 40; i++) {
      const group = pick(random, [1, 1, 2]);
      check(wasm, random, {
        inChannels: group * pick(random, [1, 3, 4]), outChannels: group * pick(random, [2, 3, 8]), h: randomInt(random, 4, 16), w: randomInt(random, 4, 20),
        kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], group, batch: randomInt(random, 1, 2), pool: pick(random, pools),
      }, `case ${i}`, { requantizingPool: random() < 0.3 });
    }
  });

  test(`conv + max pool (${suffix}): left shifts (multipliers above 1) on short reductions`, () => {
    const random = rng(9250 + threads);
    for (let i = 0; i < 20; i++) {
      const { conv } = layer(rng(9260 + i), { inChannels: 1, outChannels: 3, h: 6, w: 6, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], pool: TWO_BY_TWO }, { factor: 1e-3 });
      assert.ok(conv.outputStage.shifts.some((e) => e > 0), "the case has a left shift");
      check(wasm, rng(9260 + i), { inChannels: 1, outChannels: 3, h: 6, w: 6, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], pool: TWO_BY_TWO }, `case ${i}`, { factor: 1e-3, table: random() < 0.3 });
    }
  });

  test(`conv + max pool (${suffix}): a layer large enough to be split across threads`, () => {
    const random = rng(9300 + threads);
    check(wasm, random, { inChannels: 16, outChannels: 32, h: 40, w: 48, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], pool: TWO_BY_TWO }, "large");
    check(wasm, random, { inChannels: 3, outChannels: 24, h: 64, w: 64, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], pool: { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } }, "stem");
  });
}

test("conv + max pool: pairs that cannot be fused are refused", () => {
  const wasm = new Int8Wasm({ threads: 1 });
  try {
    const random = rng(9400);
    const base: Case = { inChannels: 4, outChannels: 4, h: 8, w: 8, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], pool: TWO_BY_TWO };
    const depthwise = layer(random, { ...base, group: 4 });
    assert.equal(wasmConvMaxPool(wasm, depthwise.conv, depthwise.w, depthwise.bias, depthwise.pool), undefined, "depthwise");
    const ceil = layer(random, { ...base, pool: { ...TWO_BY_TWO, ceilMode: true } });
    assert.equal(wasmConvMaxPool(wasm, ceil.conv, ceil.w, ceil.bias, ceil.pool), undefined, "ceil mode: a window may see only padding");
    // A bias near the int32 limit: adding it to the sums may wrap, and wrapping is not monotone.
    const wrapping = layer(random, base, { bias: "none" });
    const huge = Int32Array.from({ length: 4 }, () => 2 ** 31 - 100);
    assert.equal(wasmConvMaxPool(wasm, wrapping.conv, wrapping.w, huge, wrapping.pool), undefined, "bias near the int32 limit");
  } finally {
    wasm.dispose();
  }
});
