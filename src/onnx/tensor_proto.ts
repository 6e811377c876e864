/**
 * TensorProto ⇄ Tensor. Numeric data is read from raw_data (little-endian, as onnx.proto
 * requires) or from the typed repeated fields; it is always written as raw_data. int4/uint4 are
 * packed two per byte, low nibble first (onnx.proto, "INT4"/"UINT4").
 */
import { arrayTypeOf, sizeOf, type DType, type Tensor, type TypedArray } from "../tensor/tensor.js";
import { dtypeFromOnnx, onnxFromDType, rawElementSize } from "./dtype.js";
import { toInt, type ITensorProto } from "./proto.js";

/** Reads the bytes of a tensor stored outside the model file (location, offset, length). */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

const EXTERNAL = 1;

export function tensorFromProto(tp: ITensorProto, readExternal?: ExternalDataReader): Tensor {
  const name = tp.name || "(unnamed tensor)";
  const where = `tensor ${name}`;
  if (tp.segment) throw new Error(`${where}: segmented tensors are not supported`);
  const dtype = dtypeFromOnnx(tp.dataType ?? 0, where);
  const dims = (tp.dims ?? []).map(toInt);
  if (dims.some((d) => d < 0)) throw new Error(`${where}: negative dimension in [${dims.join(",")}]`);
  const count = sizeOf(dims);

  if (dtype === "string") {
    const td = new TextDecoder();
    const data = (tp.stringData ?? []).map((b) => td.decode(b));
    if (data.length !== count) throw new Error(`${where}: ${data.length} strings for ${count} elements`);
    return { dtype, dims, data };
  }

  let raw: Uint8Array | undefined;
  if (tp.dataLocation === EXTERNAL) {
    const entries = new Map((tp.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
    const location = entries.get("location");
    if (!location) throw new Error(`${where}: external data without a location`);
    if (!readExternal) throw new Error(`${where}: stored in external file ${location}, but no model directory is known (load the model from a file path)`);
    const length = entries.has("length") ? Number(entries.get("length")) : undefined;
    raw = readExternal(location, Number(entries.get("offset") ?? 0), length);
  } else if (tp.rawData && tp.rawData.length > 0) {
    raw = tp.rawData;
  }

  const data = raw ? fromRaw(raw, dtype, count, where) : fromTypedFields(tp, dtype, count, where);
  return { dtype, dims, data };
}

function fromRaw(raw: Uint8Array, dtype: DType, count: number, where: string): TypedArray {
  const expected = Math.ceil(count * rawElementSize(dtype));
  if (raw.length !== expected) {
    throw new Error(`${where}: raw data holds ${raw.length} bytes, ${dtype} × ${count} needs ${expected}`);
  }
  if (dtype === "int4" || dtype === "uint4") return unpackNibbles(raw, count, dtype === "int4");
  const Ctor = arrayTypeOf(dtype);
  // Copy so the result is aligned and independent of the protobuf buffer. (Not raw.slice():
  // on a Node Buffer, slice returns a view that shares the whole file's ArrayBuffer.)
  const copy = new Uint8Array(raw).buffer;
  return new Ctor(copy, 0, count);
}

function fromTypedFields(tp: ITensorProto, dtype: DType, count: number, where: string): TypedArray {
  const Ctor = arrayTypeOf(dtype);
  let src: ArrayLike<unknown>;
  switch (dtype) {
    case "float32": src = tp.floatData ?? []; break;
    case "float64": src = tp.doubleData ?? []; break;
    case "int64": src = tp.int64Data ?? []; break;
    case "uint32": case "uint64": src = tp.uint64Data ?? []; break;
    default: src = tp.int32Data ?? [];
  }
  if (dtype === "int4" || dtype === "uint4") {
    const bytes = Uint8Array.from(src as ArrayLike<number>, (v) => v & 0xff);
    return fromRaw(bytes, dtype, count, where);
  }
  if (src.length !== count) throw new Error(`${where}: ${src.length} values for ${count} elements of dims`);
  const out = new Ctor(count);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) out[i] = BigInt(String(src[i]));
  } else {
    for (let i = 0; i < count; i++) (out as Exclude<TypedArray, BigInt64Array | BigUint64Array>)[i] = toInt(src[i]) || Number(src[i]);
  }
  return out;
}

function unpackNibbles(raw: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const nib = (raw[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    out[i] = signed && nib >= 8 ? nib - 16 : nib;
  }
  return out;
}

function packNibbles(values: Int8Array | Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1]! |= (values[i]! & 0xf) << ((i & 1) * 4);
  return out;
}

/** Little-endian bytes of a tensor's values as ONNX raw_data. */
export function rawBytes(t: Tensor): Uint8Array {
  if (t.dtype === "string") throw new Error("string tensors have no raw bytes");
  const data = t.data as TypedArray;
  if (t.dtype === "int4" || t.dtype === "uint4") return packNibbles(data as Int8Array | Uint8Array);
  // Typed arrays are little-endian on every platform Node and browsers run on.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

export function tensorToProto(name: string, t: Tensor): ITensorProto {
  const tp: ITensorProto = { name, dims: t.dims, dataType: onnxFromDType(t.dtype) };
  if (t.dtype === "string") tp.stringData = (t.data as string[]).map((s) => new TextEncoder().encode(s));
  else tp.rawData = rawBytes(t);
  return tp;
}
