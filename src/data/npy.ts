/**
 * NumPy `.npy` files ⇄ Tensor.
 *
 * The format, as the NumPy project documents it (numpy/lib/format.py, "NEP 1"):
 *   bytes 0–5   magic "\x93NUMPY"
 *   byte  6–7   version major, minor (1.0, 2.0 or 3.0)
 *   then        header length: uint16 little-endian in 1.0, uint32 little-endian in 2.0/3.0
 *   then        the header: a Python dict literal
 *               {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *               padded with spaces and ended by '\n' so that the data starts at a multiple of 64
 *               (latin-1 in 1.0/2.0, UTF-8 in 3.0)
 *   then        the raw array bytes.
 *
 * octet reads and writes little-endian, C-order arrays of plain numeric dtypes. Everything else
 * (big-endian data, Fortran order, object or structured dtypes, truncated files) is a clear error
 * rather than a silent reinterpretation.
 */
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import { writeFileAtomic } from "../onnx/files.js";
import type { DType, Tensor, TypedArray } from "../tensor/tensor.js";
import { arrayTypeOf, sizeOf } from "../tensor/tensor.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** NumPy aligns the data start to 64 bytes (format.py ARRAY_ALIGN) so it can be memory-mapped. */
const ARRAY_ALIGN = 64;

/** NumPy type code (kind + byte size, without byte-order mark) ⇄ octet dtype. */
const CODE_TO_DTYPE: Record<string, DType> = {
  f2: "float16", f4: "float32", f8: "float64",
  i1: "int8", u1: "uint8", i2: "int16", u2: "uint16",
  i4: "int32", u4: "uint32", i8: "int64", u8: "uint64",
  b1: "bool",
};
const DTYPE_TO_DESCR: Partial<Record<DType, string>> = {
  float16: "<f2", float32: "<f4", float64: "<f8",
  int8: "|i1", uint8: "|u1", int16: "<i2", uint16: "<u2",
  int32: "<i4", uint32: "<u4", int64: "<i8", uint64: "<u8",
  bool: "|b1",
};

function assertLittleEndianHost(): void {
  // Typed arrays use the host byte order; .npy data here is little-endian.
  if (endianness() !== "LE") throw new Error("octet's .npy reader needs a little-endian host");
}

// ---------------------------------------------------------------------------------------------
// Header: a tiny parser for the Python literals NumPy writes (dict, str, bool, int, tuple, list).

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

class PyLiteralParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseTop(): PyValue {
    const v = this.value();
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail("unexpected text after the dictionary");
    return v;
  }

  private fail(why: string): never {
    throw new Error(`.npy header is not a valid Python literal (${why} at character ${this.pos}): ${JSON.stringify(this.text)}`);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private value(): PyValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) this.fail("unexpected end");
    if (c === "{") return this.dict();
    if (c === "(") return this.sequence("(", ")");
    if (c === "[") return this.sequence("[", "]");
    if (c === "'" || c === '"') return this.string();
    if (/[-0-9]/.test(c)) return this.integer();
    for (const [word, v] of [["True", true], ["False", false], ["None", null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  private dict(): Map<string, PyValue> {
    const m = new Map<string, PyValue>();
    this.pos++; // {
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === "}") { this.pos++; return m; }
      const key = this.value();
      if (typeof key !== "string") this.fail("dictionary key is not a string");
      this.skipSpace();
      if (this.text[this.pos] !== ":") this.fail("expected ':'");
      this.pos++;
      m.set(key, this.value());
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== "}") this.fail("expected ',' or '}'");
    }
  }

  private sequence(open: string, close: string): PyValue[] {
    const items: PyValue[] = [];
    this.pos++; // open
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) { this.pos++; return items; }
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}' after item of '${open}'`);
    }
  }

  private string(): string {
    const quote = this.text[this.pos]!;
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail("unterminated string");
    const s = this.text.slice(this.pos + 1, end);
    if (s.includes("\\")) this.fail("escaped strings are not supported");
    this.pos = end + 1;
    return s;
  }

  private integer(): number {
    const m = /^-?[0-9]+L?/.exec(this.text.slice(this.pos)); // Python 2 wrote longs as "3L"
    if (!m) this.fail("malformed number");
    this.pos += m[0].length;
    return Number.parseInt(m[0], 10);
  }
}

interface NpyHeader {
  dtype: DType;
  dims: number[];
  /** Byte offset of the array data. */
  dataOffset: number;
}

function parseHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error("not a .npy file: it does not start with the magic bytes \\x93NUMPY");
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw new Error(`.npy format version ${major}.${minor} is not supported (known: 1.0, 2.0, 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new Error(".npy file is truncated inside its header length");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) {
    throw new Error(`.npy file is truncated: its header claims ${headerLength} bytes but only ${bytes.length - headerStart} follow`);
  }
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, dataOffset));
  const header = new PyLiteralParser(text).parseTop();
  if (!(header instanceof Map)) throw new Error(`.npy header is not a dictionary: ${JSON.stringify(text)}`);

  const descr = header.get("descr");
  const fortranOrder = header.get("fortran_order");
  const shape = header.get("shape");
  if (descr === undefined || fortranOrder === undefined || shape === undefined) {
    throw new Error(`.npy header must have the keys 'descr', 'fortran_order' and 'shape': ${JSON.stringify(text)}`);
  }
  if (typeof descr !== "string") {
    throw new Error(`.npy structured dtypes (descr ${JSON.stringify(descr)}) are not supported: save one plain array per file`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)) {
    throw new Error(`.npy 'shape' must be a tuple of non-negative integers, got ${JSON.stringify(text)}`);
  }
  const dims = shape as number[];
  const dtype = dtypeOfDescr(descr);
  if (typeof fortranOrder !== "boolean") throw new Error(`.npy 'fortran_order' must be True or False: ${JSON.stringify(text)}`);
  // With at most one dimension longer than 1, Fortran and C order lay out the same bytes.
  if (fortranOrder && dims.filter((d) => d > 1).length > 1) {
    throw new Error(
      `.npy array of shape (${dims.join(", ")}) is stored in Fortran order, which octet does not read: ` +
      "save it with np.save(path, np.ascontiguousarray(a))",
    );
  }
  return { dtype, dims, dataOffset };
}

function dtypeOfDescr(descr: string): DType {
  const order = descr[0];
  const code = descr.slice(1);
  const dtype = CODE_TO_DTYPE[code];
  if (!"<>|=".includes(order ?? "") || dtype === undefined) {
    if (descr.startsWith("|O") || descr === "O") {
      throw new Error(".npy object arrays (pickled Python objects) are not supported: save a numeric array");
    }
    throw new Error(
      `.npy dtype ${JSON.stringify(descr)} is not supported (supported: ${Object.values(DTYPE_TO_DESCR).join(" ")})`,
    );
  }
  const oneByte = code.endsWith("1");
  if (order === ">" && !oneByte) {
    throw new Error(`.npy data is big-endian (dtype ${descr}): convert it with a.astype(a.dtype.newbyteorder('<')) before saving`);
  }
  if (order === "=" && !oneByte) {
    // NumPy always writes an explicit '<' or '>'; '=' (native) does not say which byte order the writer had.
    throw new Error(`.npy dtype ${descr} has native byte order, which does not say whether the data is little- or big-endian`);
  }
  return dtype;
}

/** Parse the bytes of a `.npy` file. The result owns a fresh copy of the data. */
export function parseNpy(bytes: Uint8Array): Tensor {
  assertLittleEndianHost();
  const { dtype, dims, dataOffset } = parseHeader(bytes);
  const count = sizeOf(dims);
  const Ctor = arrayTypeOf(dtype);
  const byteLength = count * Ctor.BYTES_PER_ELEMENT;
  const available = bytes.length - dataOffset;
  if (available < byteLength) {
    throw new Error(
      `.npy file is truncated: shape (${dims.join(", ")}) of ${dtype} needs ${byteLength} data bytes, found ${available}`,
    );
  }
  if (available > byteLength) {
    throw new Error(
      `.npy file has ${available - byteLength} unexpected bytes after the data of shape (${dims.join(", ")}) of ${dtype}`,
    );
  }
  // Copy so the data is aligned for its typed array and independent of the input buffer.
  // (Not bytes.slice: on a Node Buffer that is a view, not a copy.)
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(dataOffset, dataOffset + byteLength));
  const data = new Ctor(copy.buffer, 0, count) as TypedArray;
  return { dtype, dims, data };
}

function headerText(dtype: DType, dims: readonly number[]): string {
  const descr = DTYPE_TO_DESCR[dtype];
  if (descr === undefined) {
    const hint = dtype === "int4" || dtype === "uint4" ? ": widen it to int8/uint8 first" : "";
    throw new Error(`a ${dtype} tensor has no NumPy .npy dtype${hint}`);
  }
  // Python's repr of a tuple: "()", "(3,)", "(2, 3)".
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
  return `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
}

/** Encode a tensor as `.npy` bytes (version 1.0, or 2.0 when the header needs more than 64 KiB). */
export function encodeNpy(t: Tensor): Uint8Array {
  assertLittleEndianHost();
  if (Array.isArray(t.data)) throw new Error("a string tensor has no NumPy .npy dtype");
  if (t.data.length !== sizeOf(t.dims)) {
    throw new Error(`tensor of dims [${t.dims.join(",")}] holds ${t.data.length} values instead of ${sizeOf(t.dims)}`);
  }
  const dict = headerText(t.dtype, t.dims);
  let major = 1;
  let prefix = 10; // magic (6) + version (2) + uint16 length
  // Pad with spaces so that prefix + header + '\n' is a multiple of ARRAY_ALIGN.
  let padded = dict + " ".repeat(mod(-(prefix + dict.length + 1), ARRAY_ALIGN)) + "\n";
  if (padded.length > 0xffff) {
    major = 2;
    prefix = 12; // uint32 length
    padded = dict + " ".repeat(mod(-(prefix + dict.length + 1), ARRAY_ALIGN)) + "\n";
  }
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(prefix + padded.length + data.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) out[prefix + i] = padded.charCodeAt(i);
  out.set(data, prefix + padded.length);
  return out;
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/** Read a `.npy` file; errors name the file. */
export async function readNpy(path: string): Promise<Tensor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return parseNpy(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Write a tensor as a `.npy` file, atomically. */
export async function writeNpy(path: string, t: Tensor): Promise<void> {
  writeFileAtomic(path, encodeNpy(t));
}
