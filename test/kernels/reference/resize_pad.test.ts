import { test } from "node:test";
import assert from "node:assert/strict";
import {
  pad, preparePad, prepareResize, resize, type CoordinateTransformationMode, type NearestMode,
} from "../../../src/kernels/reference/index.js";
import { assertWithinOneStep, dequantizeAll, int8Tensor, qp, quantizeAll, randomInt8Tensor, rng, values } from "./helpers.js";

test("resize nearest: hand-worked ×2 upsampling (asymmetric, floor) and downsampling", () => {
  const p = qp("uint8", 1, 0);
  const x = int8Tensor("uint8", [1, 1, 2, 2], [1, 2, 3, 4]);
  const up = resize(prepareResize({ mode: "nearest", coordinateTransformationMode: "asymmetric", nearestMode: "floor", inputDims: [1, 1, 2, 2], outputDims: [1, 1, 4, 4] }, p), x);
  assert.deepEqual(values(up), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  // 4 → 2 with half_pixel: source coordinates (o + 0.5)·2 − 0.5 = 0.5, 2.5 → round_prefer_floor → 0, 2
  const row = int8Tensor("uint8", [1, 4], [10, 20, 30, 40]);
  assert.deepEqual(values(resize(prepareResize({ mode: "nearest", inputDims: [1, 4], outputDims: [1, 2] }, p), row)), [10, 30]);
  assert.deepEqual(values(resize(prepareResize({ mode: "nearest", nearestMode: "round_prefer_ceil", inputDims: [1, 4], outputDims: [1, 2] }, p), row)), [20, 40]);
});

test("resize linear: hand-worked ×2 with half_pixel, exact, and ties away from zero", () => {
  const p = qp("uint8", 1, 0);
  // source x = −0.25 → 0 (clamped), 0.25, 0.75, 1.25 → 1 (clamped): values 0, 1, 3, 4 from [0, 4]
  const y = resize(prepareResize({ mode: "linear", inputDims: [1, 1, 1, 2], outputDims: [1, 1, 1, 4] }, p), int8Tensor("uint8", [1, 1, 1, 2], [0, 4]));
  assert.deepEqual(values(y), [0, 1, 3, 4]);
  // from [0, 2]: 0, 0.5, 1.5, 2 → 0, 1, 2, 2 (RoundingDivideByPOT: 0.5 → 1 and 1.5 → 2)
  const t = resize(prepareResize({ mode: "linear", inputDims: [1, 1, 1, 2], outputDims: [1, 1, 1, 4] }, p), int8Tensor("uint8", [1, 1, 1, 2], [0, 2]));
  assert.deepEqual(values(t), [0, 1, 2, 2]);
  // negative centred values tie away from zero too: z = 10, values −2 and 0 → −2, −1.5, −0.5, 0 → −2, −2, −1, 0
  const neg = resize(prepareResize({ mode: "linear", inputDims: [1, 1, 1, 2], outputDims: [1, 1, 1, 4] }, qp("uint8", 1, 10)), int8Tensor("uint8", [1, 1, 1, 2], [8, 10]));
  assert.deepEqual(values(neg), [8, 8, 9, 10]);
  // align_corners 2 → 3: coordinates 0, 0.5, 1 → 0, 2, 4 from [0, 4]
  const ac = resize(prepareResize({ mode: "linear", coordinateTransformationMode: "align_corners", inputDims: [1, 2], outputDims: [1, 3] }, p), int8Tensor("uint8", [1, 2], [0, 4]));
  assert.deepEqual(values(ac), [0, 2, 4]);
});

function sourceCoordinate(o: number, inLen: number, outLen: number, mode: CoordinateTransformationMode): number {
  const s = outLen / inLen;
  if (mode === "asymmetric") return o / s;
  if (mode === "align_corners") return outLen === 1 ? 0 : (o * (inLen - 1)) / (outLen - 1);
  if (mode === "pytorch_half_pixel" && outLen === 1) return 0;
  return (o + 0.5) / s - 0.5;
}

function floatResizeLinear(x: Float64Array, dims: number[], outDims: number[], mode: CoordinateTransformationMode): number[] {
  const [n, c, h, w] = dims as [number, number, number, number];
  const [, , oh, ow] = outDims as [number, number, number, number];
  const out: number[] = [];
  for (let plane = 0; plane < n * c; plane++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const sy = Math.min(Math.max(sourceCoordinate(oy, h, oh, mode), 0), h - 1);
    const sx = Math.min(Math.max(sourceCoordinate(ox, w, ow, mode), 0), w - 1);
    const y0 = Math.floor(sy), x0 = Math.floor(sx);
    const y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
    const fy = sy - y0, fx = sx - x0;
    const at = (yy: number, xx: number) => x[(plane * h + yy) * w + xx]!;
    out.push((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)));
  }
  return out;
}

test("resize linear vs float oracle: every coordinate mode, odd scales, same and different params", () => {
  const modes: CoordinateTransformationMode[] = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"];
  const shapes: [number[], number[]][] = [[[1, 2, 5, 7], [1, 2, 11, 3]], [[2, 1, 4, 4], [2, 1, 8, 8]], [[1, 3, 6, 5], [1, 3, 1, 9]]];
  for (const mode of modes) {
    for (const [si, [dims, outDims]] of shapes.entries()) {
      for (const [inP, outP] of [[qp("uint8", 0.02, 0), qp("uint8", 0.02, 0)], [qp("int8", 0.05, 127), qp("int8", 0.05, 127)], [qp("uint8", 0.02, 255), qp("int8", 0.013, -100)]] as const) {
        const x = randomInt8Tensor(rng(si + 1), inP.dtype as "int8" | "uint8", dims);
        const y = resize(prepareResize({ mode: "linear", coordinateTransformationMode: mode, inputDims: dims, outputDims: outDims }, inP, outP), x);
        assert.deepEqual(y.dims, outDims);
        // weights quantized to 1/1024 move results by < 1/8 step, so mismatches are not as rare as elsewhere
        assertWithinOneStep(y, quantizeAll(floatResizeLinear(dequantizeAll(x, inP), dims, outDims, mode), outP), `resize linear ${mode} shape ${si}`, 0.25);
      }
    }
  }
});

test("resize nearest vs index oracle: every nearest mode on a rank-3 tensor, with a param change", () => {
  const nearestModes: NearestMode[] = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];
  const dims = [3, 5, 4];
  const outDims = [2, 9, 7];
  const inP = qp("uint8", 0.03, 40);
  const outP = qp("uint8", 0.021, 11);
  const x = randomInt8Tensor(rng(9), "uint8", dims);
  const xf = dequantizeAll(x, inP);
  for (const nearestMode of nearestModes) {
    const pick = (o: number, axis: number) => {
      const c = sourceCoordinate(o, dims[axis]!, outDims[axis]!, "half_pixel");
      const frac = c - Math.floor(c);
      const i = nearestMode === "floor" ? Math.floor(c) : nearestMode === "ceil" ? Math.ceil(c)
        : frac === 0.5 ? (nearestMode === "round_prefer_floor" ? Math.floor(c) : Math.ceil(c)) : Math.round(c);
      return Math.min(Math.max(i, 0), dims[axis]! - 1);
    };
    const expected: number[] = [];
    for (let a = 0; a < 2; a++) for (let b = 0; b < 9; b++) for (let c = 0; c < 7; c++) {
      expected.push(xf[(pick(a, 0) * 5 + pick(b, 1)) * 4 + pick(c, 2)]!);
    }
    const y = resize(prepareResize({ mode: "nearest", nearestMode, inputDims: dims, outputDims: outDims }, inP, outP), x);
    assertWithinOneStep(y, quantizeAll(expected, outP), `resize nearest ${nearestMode}`);
  }
});

test("resize: bad inputs get clear errors", () => {
  const p = qp("uint8", 1, 0);
  assert.throws(() => prepareResize({ mode: "linear", inputDims: [2, 2, 2], outputDims: [3, 4, 4] }, p), /only the last two axes/);
  assert.throws(() => prepareResize({ mode: "cubic" as "linear", inputDims: [2, 2], outputDims: [4, 4] }, p), /unsupported mode/);
  assert.throws(() => prepareResize({ mode: "nearest", inputDims: [2, 2], outputDims: [4] }, p), /differ in rank/);
  const plan = prepareResize({ mode: "nearest", inputDims: [2, 2], outputDims: [4, 4] }, p);
  assert.throws(() => resize(plan, int8Tensor("uint8", [1, 4], [1, 2, 3, 4])), /prepared for input dims \[2, 2\]/);
});

test("pad: constant (the zero point), edge, reflect, negative pads, hand-worked", () => {
  const p = qp("int8", 0.5, -7);
  const x = int8Tensor("int8", [2, 3], [1, 2, 3, 4, 5, 6]);
  // constant 0 → the zero point −7
  assert.deepEqual(values(pad(preparePad({ pads: [0, 1, 1, 0] }, p), x)), [-7, 1, 2, 3, -7, 4, 5, 6, -7, -7, -7, -7]);
  // constant 1.0 → −7 + 2 = −5
  assert.deepEqual(values(pad(preparePad({ pads: [1, 0, 0, 0], constantValue: 1 }, p), x)), [-5, -5, -5, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(values(pad(preparePad({ pads: [0, 2, 0, 1], mode: "edge" }, p), x)), [1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6]);
  assert.deepEqual(values(pad(preparePad({ pads: [0, 2, 0, 2], mode: "reflect" }, p), x)), [3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4]);
  // negative pads crop: drop the first column and the last row
  const cropped = pad(preparePad({ pads: [0, -1, -1, 0] }, p), x);
  assert.deepEqual(cropped.dims, [1, 2]);
  assert.deepEqual(values(cropped), [2, 3]);
  assert.throws(() => pad(preparePad({ pads: [0, 3, 0, 0], mode: "reflect" }, p), x), /reflect pads must be smaller/);
  assert.throws(() => pad(preparePad({ pads: [0, 1] }, p), x), /2 pads for an input of rank 2/);
  assert.throws(() => preparePad({ pads: [0, 1], mode: "wrap" as "edge" }, p), /unsupported mode/);
});

test("pad: a rank-4 NCHW spatial pad equals copying into a zero-point canvas", () => {
  const p = qp("uint8", 0.1, 37);
  const x = randomInt8Tensor(rng(4), "uint8", [2, 3, 4, 5]);
  const y = pad(preparePad({ pads: [0, 0, 1, 2, 0, 0, 3, 1] }, p), x);
  assert.deepEqual(y.dims, [2, 3, 8, 8]);
  const expected = new Array(2 * 3 * 8 * 8).fill(37);
  const xs = values(x);
  for (let plane = 0; plane < 6; plane++) for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) expected[(plane * 8 + i + 1) * 8 + j + 2] = xs[(plane * 4 + i) * 5 + j];
  assert.deepEqual(values(y), expected);
});
