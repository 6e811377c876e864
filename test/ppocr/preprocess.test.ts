import { test } from "node:test";
import assert from "node:assert/strict";
import { resizeBilinear, rgbImage } from "../../examples/ppocr/image.js";
import { classifierInput, detectorInput, recognizerInput } from "../../examples/ppocr/preprocess.js";

function solid(width: number, height: number, rgb: [number, number, number]) {
  const img = rgbImage(width, height);
  for (let p = 0; p < width * height; p++) img.data.set(rgb, p * 3);
  return img;
}

const close = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) < eps;

test("bilinear resize follows OpenCV's half-pixel convention", () => {
  // 2×1 → 4×1: source x = (d + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamp → 0, 25, 75, 100.
  const src = rgbImage(2, 1, new Uint8Array([0, 0, 0, 100, 100, 100]));
  assert.deepEqual([...resizeBilinear(src, 4, 1).data].filter((_, i) => i % 3 === 0), [0, 25, 75, 100]);
  // 4×1 → 2×1: source x = 0.5, 2.5 → means of neighbours.
  const src4 = rgbImage(4, 1, new Uint8Array([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]));
  assert.deepEqual([...resizeBilinear(src4, 2, 1).data].filter((_, i) => i % 3 === 0), [5, 25]);
});

test("recogniser input: height 48, width by aspect ratio, at least 320, (v/255 − 0.5)/0.5, BGR", () => {
  // 100×50 (ratio 2): width stays 320, content 96 wide, padding 0 after it.
  const red = solid(100, 50, [255, 0, 0]);
  const t = recognizerInput(red);
  assert.deepEqual(t.dims, [1, 3, 48, 320]);
  const d = t.data as Float32Array;
  const at = (c: number, y: number, x: number) => d[(c * 48 + y) * 320 + x] as number;
  assert.equal(at(0, 10, 0), -1); // channel 0 is blue: 0 → −1
  assert.equal(at(1, 10, 95), -1); // green
  assert.equal(at(2, 47, 95), 1); // channel 2 is red: 255 → 1
  assert.equal(at(2, 0, 96), 0); // padding
  assert.equal(at(0, 47, 319), 0);
  // 480×40 (ratio 12): width int(48·12) = 576, all content.
  const wide = recognizerInput(solid(480, 40, [128, 128, 128]));
  assert.deepEqual(wide.dims, [1, 3, 48, 576]);
  assert.ok([...(wide.data as Float32Array)].every((v) => close(v, (128 / 255 - 0.5) / 0.5)));
  // 487×41: ratio 11.878…; width int(570.1…) = 570; content ceil(570.1…) = 571 clamps to 570.
  assert.deepEqual(recognizerInput(solid(487, 41, [0, 0, 0])).dims, [1, 3, 48, 570]);
});

test("classifier input: 3×48×192, long lines squeezed", () => {
  assert.deepEqual(classifierInput(solid(1000, 30, [9, 9, 9])).dims, [1, 3, 48, 192]);
  const short = classifierInput(solid(60, 48, [255, 255, 255])).data as Float32Array;
  assert.equal(short[5], 1); // content
  assert.equal(short[100], 0); // padding beyond 60 px
});

test("detector input: multiples of 32, ImageNet mean/std on B, G, R", () => {
  const page = detectorInput(solid(640, 480, [255, 0, 0]));
  assert.deepEqual(page.tensor.dims, [1, 3, 480, 640]);
  assert.equal(page.ratioH, 1);
  assert.equal(page.ratioW, 1);
  const d = page.tensor.data as Float32Array;
  const plane = 480 * 640;
  assert.ok(close(d[0] as number, (0 - 0.485) / 0.229, 1e-5)); // blue = 0, first mean/std
  assert.ok(close(d[plane] as number, (0 - 0.456) / 0.224, 1e-5));
  assert.ok(close(d[2 * plane] as number, (1 - 0.406) / 0.225, 1e-5)); // red = 255, last mean/std
  // 1000×500 with max side 960: ratio 0.96 → 960×480.
  const big = detectorInput(solid(1000, 500, [0, 0, 0]));
  assert.deepEqual(big.tensor.dims, [1, 3, 480, 960]);
  assert.equal(big.ratioW, 0.96);
  // 50×20: no scaling; round(20/32)=1 → 32, round(50/32)=2 → 64.
  assert.deepEqual(detectorInput(solid(50, 20, [0, 0, 0])).tensor.dims, [1, 3, 32, 64]);
  // "min" limit enlarges: 320×240 with min side 480 → ×2 → 640×480.
  assert.deepEqual(detectorInput(solid(320, 240, [0, 0, 0]), { limitType: "min", limitSideLen: 480 }).tensor.dims, [1, 3, 480, 640]);
});
