/**
 * A directory of images as float32 feeds for a vision model: decode (sharp), resize, optionally
 * swap to BGR or convert to grayscale, scale to [0, 1], normalise per channel, lay out as NCHW or
 * NHWC, and batch.
 *
 * Each value is ((pixel / 255) − mean[c]) / std[c], the convention of torchvision's
 * ToTensor + Normalize; mean and std are given in the output channel order (so in BGR order when
 * `bgr` is set, as OpenCV-based pipelines such as PaddleOCR's give them). Alpha is dropped, not
 * composited, and EXIF orientation is not applied: both as Pillow's Image.open + convert("RGB").
 * Resizing uses sharp's default kernel (Lanczos-3), so values differ slightly from a bilinear
 * resize in another framework.
 */
import { readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import sharp from "sharp";
import type { Tensor } from "../tensor/tensor.js";
import type { DataSource, Feeds } from "./feeds.js";
import { reiterable } from "./feeds.js";

/** File extensions of the formats sharp's prebuilt binaries decode. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  ".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".avif",
]);

export type ImageLayout = "NCHW" | "NHWC";

/**
 * How an image reaches the target size: "stretch" scales both sides independently (aspect ratio
 * not kept), "crop" scales the shorter side to fit and cuts the centre, "pad" scales the longer
 * side to fit and pads with black.
 */
export type ResizeMode = "stretch" | "crop" | "pad";

export interface ImageOptions {
  /** Target [height, width]. */
  size: [number, number];
  /** Per-channel means subtracted after /255 (one value, or one per channel); default 0. */
  mean?: number[];
  /** Per-channel standard deviations divided by after subtracting the mean; default 1. */
  std?: number[];
  /** Default "NCHW". */
  layout?: ImageLayout;
  /** Channels in B, G, R order instead of R, G, B. */
  bgr?: boolean;
  /** One luma channel (ITU-R 601: 0.299 R + 0.587 G + 0.114 B, as PIL's convert("L")) instead of three. */
  grayscale?: boolean;
  /** Default "stretch". */
  resize?: ResizeMode;
}

export interface ImageFeedsOptions extends ImageOptions {
  inputName: string;
  /** Images per batch (the last batch may be smaller). */
  batch: number;
  /** Use only the first `limit` images (in name order). */
  limit?: number;
}

function isImageFile(name: string): boolean {
  return !name.startsWith(".") && IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** The image files of a directory (not recursive), sorted by name in code-point order. */
export async function listImageFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot list image directory ${dir}: ${(e as Error).message}`);
  }
  return entries
    .filter((e) => e.isFile() && isImageFile(e.name))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(dir, name));
}

interface CheckedImageOptions {
  height: number;
  width: number;
  channels: number;
  mean: number[];
  std: number[];
  layout: ImageLayout;
  bgr: boolean;
  grayscale: boolean;
  fit: "fill" | "cover" | "contain";
}

function perChannel(values: number[] | undefined, fallback: number, channels: number, what: string): number[] {
  const v = values ?? [fallback];
  if (v.length === 1) return new Array<number>(channels).fill(v[0]!);
  if (v.length !== channels) {
    throw new Error(`image ${what} has ${v.length} values but the images have ${channels} channel(s): give 1 or ${channels}`);
  }
  return v;
}

function checkImageOptions(options: ImageOptions): CheckedImageOptions {
  const [height, width] = options.size ?? [];
  if (!(Number.isInteger(height) && Number.isInteger(width) && height! >= 1 && width! >= 1)) {
    throw new Error(`image size must be two positive integers [height, width], got ${JSON.stringify(options.size)}`);
  }
  const layout = options.layout ?? "NCHW";
  if (layout !== "NCHW" && layout !== "NHWC") throw new Error(`image layout must be NCHW or NHWC, got ${JSON.stringify(layout)}`);
  const grayscale = options.grayscale ?? false;
  const bgr = options.bgr ?? false;
  if (grayscale && bgr) throw new Error("image options grayscale and bgr exclude each other");
  const channels = grayscale ? 1 : 3;
  const mean = perChannel(options.mean, 0, channels, "mean");
  const std = perChannel(options.std, 1, channels, "std");
  if (!mean.every(Number.isFinite)) throw new Error(`image mean must be finite numbers, got [${mean.join(", ")}]`);
  if (!std.every((s) => Number.isFinite(s) && s > 0)) throw new Error(`image std must be positive numbers, got [${std.join(", ")}]`);
  const resize = options.resize ?? "stretch";
  const fits = { stretch: "fill", crop: "cover", pad: "contain" } as const;
  const fit = fits[resize];
  if (fit === undefined) throw new Error(`image resize mode must be stretch, crop or pad, got ${JSON.stringify(resize)}`);
  return { height: height!, width: width!, channels, mean, std, layout, bgr, grayscale, fit };
}

/**
 * Decode one image file into `out` (height × width × channels values in the requested layout,
 * normalised) starting at `offset`.
 */
async function decodeInto(file: string, o: CheckedImageOptions, out: Float32Array, offset: number): Promise<void> {
  let rgb: Buffer;
  try {
    const { data, info } = await sharp(file)
      .toColourspace("srgb")
      .removeAlpha()
      .resize({ width: o.width, height: o.height, fit: o.fit, position: "centre", background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== o.width || info.height !== o.height) {
      throw new Error(`decoded to ${info.width}×${info.height}×${info.channels} instead of ${o.width}×${o.height}×3`);
    }
    rgb = data;
  } catch (e) {
    throw new Error(`cannot decode image ${file}: ${(e as Error).message}`);
  }
  const pixels = o.height * o.width;
  const { channels, mean, std } = o;
  const source = o.bgr ? [2, 1, 0] : [0, 1, 2]; // which decoded RGB byte feeds output channel c
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) {
      const v = o.grayscale
        ? (rgb[3 * p]! * 19595 + rgb[3 * p + 1]! * 38470 + rgb[3 * p + 2]! * 7471 + 0x8000) >> 16 // Pillow libImaging/Convert.c L24: fixed-point 0.299/0.587/0.114, rounded
        : rgb[3 * p + source[c]!]!;
      const index = o.layout === "NCHW" ? c * pixels + p : p * channels + c;
      out[offset + index] = (v / 255 - mean[c]!) / std[c]!;
    }
  }
}

/** The dims of a batch of `n` images. */
export function imageBatchDims(options: ImageOptions, n: number): number[] {
  const o = checkImageOptions(options);
  return o.layout === "NCHW" ? [n, o.channels, o.height, o.width] : [n, o.height, o.width, o.channels];
}

/** Decode a list of image files into one float32 batch. */
export async function decodeImages(files: readonly string[], options: ImageOptions): Promise<Tensor> {
  const o = checkImageOptions(options);
  const perImage = o.height * o.width * o.channels;
  const data = new Float32Array(files.length * perImage);
  // sharp decodes on libuv's thread pool, so a batch decodes in parallel.
  await Promise.all(files.map((f, i) => decodeInto(f, o, data, i * perImage)));
  return { dtype: "float32", dims: imageBatchDims(options, files.length), data };
}

/** The given image files, in order, as batches of feeds for `inputName`. Restarts on each iteration. */
export function imageFilesFeeds(files: readonly string[], options: ImageFeedsOptions): DataSource {
  checkImageOptions(options);
  const { batch } = options;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`batch size must be a positive integer, got ${batch}`);
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) {
    throw new Error(`image limit must be a non-negative integer, got ${options.limit}`);
  }
  const chosen = files.slice(0, options.limit ?? files.length);
  return reiterable(async function* () {
    for (let start = 0; start < chosen.length; start += batch) {
      const feeds: Feeds = { [options.inputName]: await decodeImages(chosen.slice(start, start + batch), options) };
      yield feeds;
    }
  });
}

/** The images of a directory, in name order, as batches of feeds for `inputName`. */
export async function imageFeeds(dir: string, options: ImageFeedsOptions): Promise<DataSource> {
  checkImageOptions(options);
  const files = await listImageFiles(dir);
  if (files.length === 0) {
    throw new Error(`image directory ${dir} contains no image files (looked for ${[...IMAGE_EXTENSIONS].join(" ")})`);
  }
  return imageFilesFeeds(files, options);
}
