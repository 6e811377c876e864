/**
 * Node-only file access for ONNX models: loading with external data, and saving atomically
 * (temporary file + rename, so a failure never leaves a half-written model behind).
 */
import { closeSync, existsSync, openSync, readSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync, fstatSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import type { Model } from "../graph/ir.js";
import { decodeModel } from "./decode.js";
import { encodeModel, type ExternalDataWriter } from "./encode.js";
import type { ITensorProto } from "./proto.js";

export function loadModel(path: string): Model {
  if (!existsSync(path)) throw new Error(`model file ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new Error(`model path ${path} is a directory, not an .onnx file`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new Error(`model file ${path} is empty`);
  const dir = dirname(resolve(path));
  return decodeModel(bytes, (location, offset, length) => readExternalData(dir, location, offset, length), path);
}

function readExternalData(dir: string, location: string, offset: number, length: number | undefined): Uint8Array {
  const file = resolve(dir, location);
  if (!file.startsWith(dir + sep)) throw new Error(`external data location ${location} points outside the model's directory`);
  if (!existsSync(file)) throw new Error(`external data file ${file} does not exist`);
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const n = length ?? size - offset;
    if (offset + n > size) throw new Error(`external data file ${file} is truncated: needs bytes ${offset}..${offset + n}, has ${size}`);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) done += readSync(fd, out, done, n - done, offset + done);
    return out;
  } finally {
    closeSync(fd);
  }
}

export interface SaveOptions {
  /** Replace an existing file at `path` (default false: refuse, so inputs are never overwritten by mistake). */
  overwrite?: boolean;
  /**
   * Store initializers in `<name>.data` beside the model: "auto" does so only when the model would
   * pass protobuf's 2 GiB message limit.
   */
  externalData?: "auto" | "always" | "never";
}

/** Protobuf messages are limited to 2 GiB; stay clear of it with margin for the graph itself. */
const INLINE_LIMIT = 1.75 * 2 ** 30;
/** Tensors smaller than this stay inline even in external-data mode (as onnx's own converter does). */
const EXTERNAL_MIN_BYTES = 1024;

export function saveModel(model: Model, path: string, options: SaveOptions = {}): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new Error(`output directory ${dir} does not exist`);
  if (existsSync(path) && !options.overwrite) throw new Error(`output ${path} already exists (use --force to overwrite)`);
  const mode = options.externalData ?? "auto";
  let totalBytes = 0;
  for (const t of model.graph.initializers.values()) {
    totalBytes += (t.data as { byteLength?: number }).byteLength ?? 0;
  }
  const external = mode === "always" || (mode === "auto" && totalBytes > INLINE_LIMIT);

  const tmpModel = temporaryPath(path);
  const dataName = `${basename(path)}.data`;
  const dataPath = join(dir, dataName);
  const tmpData = temporaryPath(dataPath);
  try {
    let writer: ExternalDataWriter | undefined;
    let fd: number | undefined;
    if (external) {
      fd = openSync(tmpData, "w");
      let offset = 0;
      const dataFd = fd;
      writer = (_name, _t, tp): ITensorProto => {
        const raw = tp.rawData;
        if (!raw || raw.length < EXTERNAL_MIN_BYTES) return tp;
        writeSync(dataFd, raw);
        const entry: ITensorProto = {
          ...tp,
          rawData: undefined,
          dataLocation: 1,
          externalData: [
            { key: "location", value: dataName },
            { key: "offset", value: String(offset) },
            { key: "length", value: String(raw.length) },
          ],
        };
        offset += raw.length;
        return entry;
      };
    }
    const bytes = encodeModel(model, writer);
    if (fd !== undefined) closeSync(fd);
    writeFileSync(tmpModel, bytes);
    if (external) renameSync(tmpData, dataPath);
    renameSync(tmpModel, path);
  } catch (e) {
    rmSync(tmpModel, { force: true });
    rmSync(tmpData, { force: true });
    throw e;
  }
}

/** Writes bytes to `path` atomically. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, overwrite = true): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new Error(`output directory ${dir} does not exist`);
  if (!overwrite && existsSync(path)) throw new Error(`output ${path} already exists (use --force to overwrite)`);
  const tmp = temporaryPath(path);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function temporaryPath(path: string): string {
  return join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.tmp`);
}
