/**
 * The WebAssembly GEMM convolutions (assembly/int8/gemm.ts, prepared output stages of
 * output_stage.ts) against the reference conv2d, bit for bit, on the paths the PP-OCR layers take:
 * 1×1 convolutions with few input channels (short reductions, where the output stage is most of
 * the work; odd K pairs its last row with zero weights), row counts that leave partial 4-row tiles
 * and column counts that leave partial 8-column panels, and 3-channel stems with strides 1 and 2
 * whose interior panels are read with one load per im2col row (every width from the narrowest to
 * several panels, asymmetric padding). Output stages: per-channel and per-tensor, biases from none
 * to anywhere in int32, right and left shifts, saturation, fused clamps and byte tables; 1 and 2
 * threads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type FusedActivation, conv2d, newInt32Tensor, prepareConv2d } from "../../../src/kernels/reference/index.js";
import { wasmConv2d } from "../../../src/kernels/int8/conv.js";
import { Int8Wasm } from "../../../src/kernels/int8/wasm.js";
import type { QParams } from "../../../src/quant/qparams.js";
import { type Int8DType, qp, randomInt, randomInt8Tensor, rng, pick } from "../reference/helpers.js";

const EDGE_ZERO_POINTS: Record<Int8DType, number[]> = { uint8: [0, 255, 128, 11], int8: [-128, 127, 0, -3] };


interface Layer {
  inChannels: number; outChannels: number; h: number; w: number; kernel: [number, number];
  strides: [number, number]; pads: [number, number, number, number]; batch?: number;
}

function check(wasm: Int8Wasm, random: () => number, l: Layer, label: string, options: { factor?: number; table?: boolean } = {}): void {
  const xType = pick(random, ["uint8", "int8"] as const);
  const wType = pick(random, ["int8", "int8", "uint8"] as const);
  const yType = pick(random, ["uint8", "int8"] as const);
  const x = randomInt8Tensor(random, xType, [l.batch ?? 1, l.inChannels, l.h, l.w]);
  const w = randomInt8Tensor(random, wType, [l.outChannels, l.inChannels, l.kernel[0], l.kernel[1]]);
  const perChannel = random() < 0.6;
  const wScales = Array.from({ length: perChannel ? l.outChannels : 1 }, () => Math.fround(0.001 + random() * 0.02));
  const wZeros = wScales.map(() => pick(random, EDGE_ZERO_POINTS[wType]));
  const weight: QParams = perChannel
    ? { dtype: wType, scale: Float32Array.from(wScales), zeroPoint: Int32Array.from(wZeros), axis: 0 }
    : qp(wType, wScales[0]!, wZeros[0]!);
  const input = qp(xType, Math.fround(0.005 + random() * 0.05), pick(random, EDGE_ZERO_POINTS[xType]));
  const k = l.inChannels * l.kernel[0] * l.kernel[1];
  const factor = options.factor ?? pick(random, [1, 1, 1, 0.01, 1e-4, 50, 1e5]);
  const typical = input.scale[0]! * wScales[0]! * Math.sqrt(k) * 80 * 80;
  const output = qp(yType, Math.fround((typical / 100) * factor), pick(random, EDGE_ZERO_POINTS[yType]));
  const r = random();
  const activation: FusedActivation | undefined = r < 0.5 ? undefined : r < 0.75 ? { kind: "relu" } : { kind: "clip", min: -0.5 - random(), max: 0.5 + random() };
  const plan = prepareConv2d({ strides: l.strides, pads: l.pads }, { input, weight, output, ...(activation ? { activation } : {}) });
  const biasKind = pick(random, ["none", "small", "small", "extreme"] as const);
  const bias = biasKind === "none" ? undefined
    : Int32Array.from({ length: l.outChannels }, () => biasKind === "small" ? randomInt(random, -200000, 200000) : randomInt(random, -(2 ** 31), 2 ** 31 - 1));
  const run = wasmConv2d(wasm, plan, w, bias);
  let expected = conv2d(plan, x, w, bias ? newInt32Tensor([l.outChannels], bias) : undefined);
  if (options.table) {
    const table = Uint8Array.from({ length: 256 }, () => randomInt(random, 0, 255));
    run.fuseOutputTable(table, "uint8");
    expected = { dtype: "uint8", dims: expected.dims, data: Uint8Array.from(expected.data as ArrayLike<number>, (v) => table[v & 255]!) };
  }
  const got = run(x);
  const what = `${label}: ${JSON.stringify(l)} x ${xType} w ${wType} y ${yType} bias ${biasKind} factor ${factor}`;
  assert.deepEqual(got.dims, expected.dims, `${what}: dims`);
  const a = got.data as ArrayLike<number>;
  const b = expected.data as ArrayLike<number>;
  for (let i = 0; i < b.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: element ${i} is ${a[i]}, reference ${b[i]}`);
  }
}

for (const threads of [1, 2]) {
  const wasm = new Int8Wasm({ threads });
  test.after(() => wasm.dispose());
  const suffix = `${threads} thread${threads > 1 ? "s" : ""}`;

  test(`wasm 1×1 conv (${suffix}): short reductions, partial tiles and panels`, () => {
    const random = rng(7100 + threads);
    for (let i = 0; i < 120; i++) {
      const inChannels = pick(random, [1, 2, 3, 5, 7, 12, 15, 16, 17, 18, 27, 32, 33, 48]);
      const outChannels = pick(random, [1, 2, 3, 4, 5, 7, 8, 12, 13, 16, 33]);
      check(wasm, random, {
        inChannels, outChannels, h: randomInt(random, 1, 9), w: randomInt(random, 1, 41), kernel: [1, 1], strides: [1, 1],
        pads: [0, 0, 0, 0], batch: randomInt(random, 1, 2),
      }, `1×1 case ${i}`, { table: random() < 0.2 });
    }
  });

  test(`wasm stem conv (${suffix}): every width on stride 1 and 2, the interior panels and the borders`, () => {
    const random = rng(7200 + threads);
    for (let w = 3; w <= 64; w++) {
      for (const s of [1, 2]) {
        const pads: [number, number, number, number] = random() < 0.7 ? [1, 1, 1, 1] : [randomInt(random, 0, 2), randomInt(random, 0, 2), randomInt(random, 0, 2), randomInt(random, 0, 2)];
        check(wasm, random, { inChannels: 3, outChannels: pick(random, [4, 8, 16]), h: randomInt(random, 3, 7), w, kernel: [3, 3], strides: [s, s], pads }, `stem width ${w} stride ${s}`);
      }
    }
  });

  test(`wasm GEMM conv (${suffix}): left shifts, saturation, tables, and layers large enough to be split`, () => {
    const random = rng(7300 + threads);
    const layers: Layer[] = [
      { inChannels: 16, outChannels: 32, h: 24, w: 40, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] },
      { inChannels: 12, outChannels: 96, h: 12, w: 20, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] },
      { inChannels: 3, outChannels: 16, h: 48, w: 64, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      { inChannels: 9, outChannels: 6, h: 30, w: 33, kernel: [3, 3], strides: [1, 1], pads: [1, 0, 2, 1], batch: 2 },
    ];
    for (const l of layers) {
      for (const factor of [1, 1e5, 1e-5]) check(wasm, random, l, "large", { factor });
      check(wasm, random, l, "large with a table", { table: true });
    }
  });
}
