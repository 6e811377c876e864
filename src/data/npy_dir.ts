/**
 * NumPy files as feeds: a directory of `.npy` / `.npz` files (or a single one), read in name order.
 *
 * - A `.npy` file feeds the one input of a single-input model.
 * - A `.npz` file holds one array per input, named after the inputs. For a single-input model an
 *   archive with one positional array (`np.savez(path, x)` names it `arr_0`) is accepted too.
 * - Each array is one sample (rank one less than the model input: a batch dimension is added) or
 *   already a batch of samples (the model input's rank). Files are then joined and cut into
 *   batches of the requested size. When the model does not declare an input's rank, arrays are
 *   taken as batches.
 */
import { readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import type { ValueInfo } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";
import { limit, rebatch } from "./batch.js";
import type { DataSource, Feeds } from "./feeds.js";
import { reiterable } from "./feeds.js";
import { readNpy } from "./npy.js";
import { readNpz } from "./npz.js";
import { validateFeeds } from "./validate.js";

export const NUMPY_EXTENSIONS: ReadonlySet<string> = new Set([".npy", ".npz"]);

export interface NpyFeedsOptions {
  /** Samples per batch (the last batch may be smaller unless dropRemainder). */
  batch: number;
  /** Use only the first `limit` samples. */
  limit?: number;
  /** Drop a last batch smaller than `batch` (models with a fixed batch dimension). */
  dropRemainder?: boolean;
  /** How the data is named in errors; default "calibration data". */
  label?: string;
}

/** The `.npy` and `.npz` files of a directory (not recursive), sorted by name in code-point order. */
export async function listNumpyFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot list directory ${dir}: ${(e as Error).message}`);
  }
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith(".") && NUMPY_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(dir, name));
}

function inputList(inputs: readonly ValueInfo[]): string {
  return inputs.map((v) => `"${v.name}"`).join(", ");
}

/** Read one file as feeds by input name, before batch-dimension handling. */
async function readFileFeeds(file: string, inputs: readonly ValueInfo[]): Promise<Feeds> {
  if (extname(file).toLowerCase() === ".npy") {
    if (inputs.length !== 1) {
      throw new Error(
        `${file}: a .npy file feeds only a single-input model, but this model has ${inputs.length} inputs (${inputList(inputs)}); ` +
        "use .npz files whose array names are the input names",
      );
    }
    return { [inputs[0]!.name]: await readNpy(file) };
  }
  const arrays = await readNpz(file);
  const only = inputs.length === 1 ? inputs[0]! : undefined;
  if (only && arrays.size === 1 && !arrays.has(only.name) && arrays.has("arr_0")) {
    return { [only.name]: arrays.get("arr_0")! };
  }
  return Object.fromEntries(arrays);
}

/** Add a leading batch dimension to single samples, by comparing ranks with the model's inputs. */
function asBatch(file: string, feeds: Feeds, inputs: readonly ValueInfo[]): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    const info = inputs.find((v) => v.name === name);
    const rank = info?.shape?.length;
    if (rank === undefined || t.dims.length === rank) {
      out[name] = t;
    } else if (t.dims.length === rank - 1) {
      out[name] = { dtype: t.dtype, dims: [1, ...t.dims], data: t.data } satisfies Tensor;
    } else {
      throw new Error(
        `${file}: array "${name}" has shape [${t.dims.join(", ")}] (rank ${t.dims.length}), but model input "${name}" ` +
        `has rank ${rank}: a file must hold one sample (rank ${rank - 1}) or a batch of samples (rank ${rank})`,
      );
    }
  }
  return out;
}

/** Feeds from the given `.npy` / `.npz` files, in order, batched. Files are read on each iteration. */
export function numpyFilesFeeds(files: readonly string[], inputs: readonly ValueInfo[], options: NpyFeedsOptions): DataSource {
  const label = options.label ?? "calibration data";
  if (inputs.length === 0) throw new Error("the model has no inputs to feed");
  if (files.length === 0) throw new Error(`${label}: no .npy or .npz files given`);
  if (inputs.length > 1) {
    const npy = files.find((f) => extname(f).toLowerCase() === ".npy");
    if (npy) {
      throw new Error(
        `${label}: ${npy} is a .npy file, which feeds only a single-input model; this model has ${inputs.length} inputs ` +
        `(${inputList(inputs)}): use .npz files whose array names are the input names`,
      );
    }
  }
  const perFile = reiterable(async function* () {
    for (const file of files) {
      const feeds = asBatch(file, await readFileFeeds(file, inputs), inputs);
      // Check each file on its own so a bad value or shape is reported with the file's name.
      validateFeeds(feeds, inputs, `${label} file ${file}`, { checkBatchDim: false });
      yield feeds;
    }
  });
  const limited = options.limit === undefined ? perFile : limit(perFile, options.limit);
  return rebatch(limited, options.batch, { dropRemainder: options.dropRemainder });
}

/** Feeds from every `.npy` / `.npz` file of a directory, in name order, batched. */
export async function numpyDirFeeds(dir: string, inputs: readonly ValueInfo[], options: NpyFeedsOptions): Promise<DataSource> {
  const files = await listNumpyFiles(dir);
  if (files.length === 0) throw new Error(`${options.label ?? "calibration data"} ${dir} contains no .npy or .npz files`);
  return numpyFilesFeeds(files, inputs, options);
}
