/**
 * NumPy `.npz` archives: a zip file holding one `.npy` file per array, named `<array name>.npy`
 * (numpy/lib/npyio.py, `savez` stores them uncompressed, `savez_compressed` deflates them).
 * `np.savez(path, a, b)` names positional arrays `arr_0`, `arr_1`, ...
 */
import { readFile } from "node:fs/promises";
import { unzipSync, zipSync } from "fflate";
import type { Tensor } from "../tensor/tensor.js";
import { writeFileAtomic } from "../onnx/files.js";
import { encodeNpy, parseNpy } from "./npy.js";

/** Parse the bytes of a `.npz` archive into arrays by name (the `.npy` suffix stripped). */
export function parseNpz(bytes: Uint8Array): Map<string, Tensor> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new Error(`not a valid .npz (zip) archive: ${(e as Error).message}`);
  }
  const arrays = new Map<string, Tensor>();
  for (const [entryName, content] of Object.entries(entries)) {
    if (entryName.endsWith("/")) continue; // a directory entry carries no array
    if (!entryName.endsWith(".npy")) {
      throw new Error(`.npz entry ${JSON.stringify(entryName)} is not a .npy file`);
    }
    const name = entryName.slice(0, -".npy".length);
    try {
      arrays.set(name, parseNpy(content));
    } catch (e) {
      throw new Error(`.npz entry ${JSON.stringify(entryName)}: ${(e as Error).message}`);
    }
  }
  return arrays;
}

export interface EncodeNpzOptions {
  /** Deflate the entries like `np.savez_compressed`; default false (stored, like `np.savez`). */
  compress?: boolean;
}

/** Encode arrays by name as a `.npz` archive. */
export function encodeNpz(
  arrays: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  options: EncodeNpzOptions = {},
): Uint8Array {
  const entries = arrays instanceof Map ? [...arrays.entries()] : Object.entries(arrays);
  const files: Record<string, Uint8Array> = {};
  for (const [name, t] of entries) {
    if (name === "") throw new Error(".npz array names must not be empty");
    try {
      files[`${name}.npy`] = encodeNpy(t);
    } catch (e) {
      throw new Error(`.npz array ${JSON.stringify(name)}: ${(e as Error).message}`);
    }
  }
  return zipSync(files, { level: options.compress ? 6 : 0 });
}

/** Read a `.npz` file; errors name the file. */
export async function readNpz(path: string): Promise<Map<string, Tensor>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return parseNpz(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Write arrays as a `.npz` file, atomically. */
export async function writeNpz(
  path: string,
  arrays: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  options: EncodeNpzOptions = {},
): Promise<void> {
  writeFileAtomic(path, encodeNpz(arrays, options));
}
