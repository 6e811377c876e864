/**
 * Checkpoints: the model's layer specs and every tensor of its state, in one file:
 *
 *   bytes 0–7    ASCII "OCTETCKP"
 *   bytes 8–11   header length H (uint32, little-endian)
 *   bytes 12…    H bytes of UTF-8 JSON: { format: 1, specs, tensors: [{ name, dims, offset }], meta }
 *   then         zero padding to a multiple of 4, then the tensors' float32 values (little-endian),
 *                each at `offset` bytes from the start of this data section
 *
 * Written to a temporary file in the same directory and renamed over the target, so a reader (or
 * a crash mid-write) never sees a partial checkpoint.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { Sequential, type LayerSpec, type NamedTensor } from "./layers.js";
import { Rng } from "./init.js";

const MAGIC = "OCTETCKP";
const FORMAT = 1;

export interface Checkpoint {
  specs: LayerSpec[];
  tensors: NamedTensor[];
  /** Free-form facts about the run (epoch, accuracy, seed, ...). */
  meta: Record<string, unknown>;
}

interface Header {
  format: number;
  specs: LayerSpec[];
  tensors: Array<{ name: string; dims: number[]; offset: number }>;
  meta: Record<string, unknown>;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  let offset = 0;
  const entries = c.tensors.map((t) => {
    const count = t.dims.reduce((s, d) => s * d, 1);
    if (count !== t.data.length) throw new Error(`checkpoint tensor ${t.name}: dims [${t.dims.join(", ")}] but ${t.data.length} values`);
    const e = { name: t.name, dims: [...t.dims], offset };
    offset += t.data.length * 4;
    return e;
  });
  const header: Header = { format: FORMAT, specs: [...c.specs], tensors: entries, meta: c.meta };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((12 + json.length) / 4) * 4;
  const bytes = new Uint8Array(dataStart + offset);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, json.length, true);
  bytes.set(json, 12);
  c.tensors.forEach((t, k) => {
    const base = dataStart + entries[k]!.offset;
    for (let i = 0; i < t.data.length; i++) view.setFloat32(base + 4 * i, t.data[i]!, true);
  });
  return bytes;
}

export function decodeCheckpoint(bytes: Uint8Array, what = "checkpoint"): Checkpoint {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error(`${what} is not an octet checkpoint (missing "${MAGIC}" magic)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new Error(`${what} is truncated (header of ${headerLength} bytes)`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch (e) {
    throw new Error(`${what} has a corrupt header: ${(e as Error).message}`);
  }
  if (header.format !== FORMAT) throw new Error(`${what} has format ${header.format}; this octet reads format ${FORMAT}`);
  const dataStart = Math.ceil((12 + headerLength) / 4) * 4;
  const tensors = header.tensors.map((e) => {
    const count = e.dims.reduce((s, d) => s * d, 1);
    const base = dataStart + e.offset;
    if (base + count * 4 > bytes.length) throw new Error(`${what} is truncated (tensor ${e.name})`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(base + 4 * i, true);
    return { name: e.name, dims: e.dims, data };
  });
  return { specs: header.specs, tensors, meta: header.meta ?? {} };
}

/** Writes atomically: temp file in the same directory, fsync, rename. */
export function saveCheckpoint(path: string, model: Sequential, meta: Record<string, unknown> = {}): void {
  const bytes = encodeCheckpoint({ specs: [...model.specs], tensors: model.state(), meta });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function readCheckpoint(path: string): Checkpoint {
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
}

/** Rebuilds the model a checkpoint describes, with its trained values. */
export function loadCheckpointModel(path: string): { model: Sequential; meta: Record<string, unknown> } {
  const c = readCheckpoint(path);
  const model = new Sequential(c.specs, new Rng(0));
  model.loadState(c.tensors);
  return { model, meta: c.meta };
}
