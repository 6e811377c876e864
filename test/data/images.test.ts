import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { decodeImages, imageFeeds, listImageFiles } from "../../src/data/images.js";
import type { Feeds } from "../../src/data/feeds.js";

let dir = "";

/** Write an image file from raw interleaved pixels (format from the extension). */
async function writeImage(path: string, width: number, height: number, channels: 1 | 3 | 4, pixels: number[]): Promise<void> {
  await sharp(Buffer.from(pixels), { raw: { width, height, channels } }).toFile(path);
}

// A 2×2 RGB image: red, green / blue, (10, 20, 30).
const QUAD = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "octet-images-"));
  await mkdir(join(dir, "set"));
  await writeImage(join(dir, "set", "b.png"), 2, 2, 3, QUAD);
  await writeImage(join(dir, "set", "a.png"), 2, 2, 3, new Array(12).fill(51));
  await writeImage(join(dir, "set", "c.jpg"), 2, 2, 3, new Array(12).fill(200));
  await writeFile(join(dir, "set", "notes.txt"), "not an image");
  await writeFile(join(dir, "set", ".hidden.png"), "ignored");
  await mkdir(join(dir, "empty"));
  await mkdir(join(dir, "broken"));
  await writeFile(join(dir, "broken", "bad.png"), "this is not a png");
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const near = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

test("lists image files by name, skipping other and hidden files", async () => {
  const files = await listImageFiles(join(dir, "set"));
  assert.deepEqual(files.map((f) => f.slice(f.lastIndexOf("/") + 1)), ["a.png", "b.png", "c.jpg"]);
});

test("decodes to pixel/255 in NCHW and NHWC, RGB and BGR", async () => {
  const file = join(dir, "set", "b.png");
  const nchw = await decodeImages([file], { size: [2, 2] });
  assert.deepEqual(nchw.dims, [1, 3, 2, 2]);
  // Channel planes: R = [255, 0, 0, 10], G = [0, 255, 0, 20], B = [0, 0, 255, 30], each /255.
  near(nchw.data as Float32Array, [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30].map((v) => v / 255));
  const nhwc = await decodeImages([file], { size: [2, 2], layout: "NHWC" });
  assert.deepEqual(nhwc.dims, [1, 2, 2, 3]);
  near(nhwc.data as Float32Array, QUAD.map((v) => v / 255));
  const bgr = await decodeImages([file], { size: [2, 2], layout: "NHWC", bgr: true });
  near(bgr.data as Float32Array, [0, 0, 255, 0, 255, 0, 255, 0, 0, 30, 20, 10].map((v) => v / 255));
});

test("normalises with per-channel mean and std after /255", async () => {
  const t = await decodeImages([join(dir, "set", "b.png")], { size: [2, 2], mean: [0.5, 0, 1], std: [0.5, 2, 1] });
  const expected = [
    ...[255, 0, 0, 10].map((v) => (v / 255 - 0.5) / 0.5),
    ...[0, 255, 0, 20].map((v) => v / 255 / 2),
    ...[0, 0, 255, 30].map((v) => v / 255 - 1),
  ];
  near(t.data as Float32Array, expected, 1e-6);
  await assert.rejects(decodeImages([join(dir, "set", "b.png")], { size: [2, 2], mean: [0.1, 0.2] }), /mean has 2 values but the images have 3 channel/);
  await assert.rejects(decodeImages([join(dir, "set", "b.png")], { size: [2, 2], std: [0] }), /std must be positive/);
});

test("grayscale uses ITU-R 601 luma, rounded as Pillow does", async () => {
  const t = await decodeImages([join(dir, "set", "b.png")], { size: [2, 2], grayscale: true });
  assert.deepEqual(t.dims, [1, 1, 2, 2]);
  // round(0.299 R + 0.587 G + 0.114 B): red 76.2 → 76, green 149.7 → 150, blue 29.1 → 29, (10,20,30) 18.2 → 18
  near(t.data as Float32Array, [76, 150, 29, 18].map((v) => v / 255));
});

test("grayscale and alpha sources become three RGB channels", async () => {
  const gray = join(dir, "gray.png");
  await writeImage(gray, 1, 1, 1, [99]);
  near((await decodeImages([gray], { size: [1, 1] })).data as Float32Array, [99, 99, 99].map((v) => v / 255));
  const rgba = join(dir, "rgba.png");
  await writeImage(rgba, 1, 1, 4, [1, 2, 3, 0]);
  near((await decodeImages([rgba], { size: [1, 1] })).data as Float32Array, [1, 2, 3].map((v) => v / 255));
});

test("resize modes: stretch keeps a flat colour, crop keeps the centre, pad adds black borders", async () => {
  const flat = join(dir, "flat.png");
  await writeImage(flat, 5, 3, 3, new Array(45).fill(120));
  near((await decodeImages([flat], { size: [2, 2] })).data as Float32Array, new Array(12).fill(120 / 255), 1 / 255);

  // 4 wide × 2 high, columns of red 0, 80, 160, 240: a centre crop to 2×2 keeps columns 1 and 2.
  const columns = join(dir, "columns.png");
  const px: number[] = [];
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) px.push(80 * x, 0, 0);
  await writeImage(columns, 4, 2, 3, px);
  const crop = await decodeImages([columns], { size: [2, 2], resize: "crop", layout: "NHWC" });
  near(Array.from(crop.data as Float32Array).filter((_, i) => i % 3 === 0), [80, 160, 80, 160].map((v) => v / 255));

  // 4×2 white padded to 4×4: rows 0 and 3 black, rows 1 and 2 white.
  const wide = join(dir, "wide.png");
  await writeImage(wide, 4, 2, 3, new Array(24).fill(255));
  const pad = await decodeImages([wide], { size: [4, 4], resize: "pad", grayscale: true });
  near(pad.data as Float32Array, [...new Array(4).fill(0), ...new Array(8).fill(1), ...new Array(4).fill(0)]);
});

test("imageFeeds batches a directory in name order", async () => {
  const src = await imageFeeds(join(dir, "set"), { inputName: "pixels", batch: 2, size: [2, 2], grayscale: true });
  const seen: Feeds[] = [];
  for await (const f of src) seen.push(f);
  assert.deepEqual(seen.map((f) => f.pixels!.dims), [[1 + 1, 1, 2, 2], [1, 1, 2, 2]]);
  const first = seen[0]!.pixels!.data as Float32Array;
  near(first.subarray(0, 4), new Array(4).fill(51 / 255)); // a.png
  near(first.subarray(4, 8), [76, 150, 29, 18].map((v) => v / 255)); // b.png
  near(seen[1]!.pixels!.data as Float32Array, new Array(4).fill(200 / 255), 3 / 255); // c.jpg (lossy)
  const limited = await imageFeeds(join(dir, "set"), { inputName: "pixels", batch: 8, size: [2, 2], limit: 1 });
  for await (const f of limited) assert.deepEqual(f.pixels!.dims, [1, 3, 2, 2]);
});

test("an empty directory, a corrupt image and bad options are clear errors", async () => {
  await assert.rejects(imageFeeds(join(dir, "empty"), { inputName: "x", batch: 1, size: [2, 2] }), /image directory .*empty contains no image files/);
  const broken = await imageFeeds(join(dir, "broken"), { inputName: "x", batch: 1, size: [2, 2] });
  await assert.rejects(async () => {
    for await (const _ of broken) { /* decode */ }
  }, /cannot decode image .*broken\/bad\.png/);
  await assert.rejects(imageFeeds(join(dir, "nowhere"), { inputName: "x", batch: 1, size: [2, 2] }), /cannot list image directory/);
  await assert.rejects(imageFeeds(join(dir, "set"), { inputName: "x", batch: 1, size: [0, 2] }), /size must be two positive integers/);
  await assert.rejects(imageFeeds(join(dir, "set"), { inputName: "x", batch: 1, size: [2, 2], bgr: true, grayscale: true }), /exclude each other/);
});
