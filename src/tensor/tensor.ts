/**
 * The tensor octet passes between modules: a dtype, dims and a flat row-major typed array.
 * Sub-byte types (int4/uint4) are held unpacked, one value per Int8Array/Uint8Array element;
 * only the ONNX serialiser packs them two to a byte.
 */
export type DType =
  | "float32" | "float64" | "float16"
  | "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64"
  | "int4" | "uint4" | "bool" | "string";

export type TypedArray =
  | Float32Array | Float64Array | Uint16Array
  | Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

export interface Tensor {
  dtype: DType;
  dims: number[];
  /** Row-major values. float16 is held as raw IEEE half bits in a Uint16Array; string as string[]. */
  data: TypedArray | string[];
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** The typed-array constructor that holds values of `dtype` in memory. */
export function arrayTypeOf(dtype: DType) {
  switch (dtype) {
    case "float32": return Float32Array;
    case "float64": return Float64Array;
    case "float16": case "uint16": return Uint16Array;
    case "int8": case "int4": return Int8Array;
    case "uint8": case "uint4": case "bool": return Uint8Array;
    case "int16": return Int16Array;
    case "int32": return Int32Array;
    case "uint32": return Uint32Array;
    case "int64": return BigInt64Array;
    case "uint64": return BigUint64Array;
    case "string": throw new Error("string tensors have no typed array");
  }
}

export function zeros(dtype: DType, dims: number[]): Tensor {
  const Ctor = arrayTypeOf(dtype);
  return { dtype, dims: [...dims], data: new Ctor(sizeOf(dims)) };
}

export function tensor(dtype: DType, dims: number[], data: TypedArray): Tensor {
  if (data.length !== sizeOf(dims)) {
    throw new Error(`tensor of dims [${dims.join(",")}] needs ${sizeOf(dims)} values, got ${data.length}`);
  }
  return { dtype, dims: [...dims], data };
}

/** Values as plain numbers (int64 narrowed; callers use this for shapes and indices). */
export function toNumbers(t: Tensor): number[] {
  if (Array.isArray(t.data)) throw new Error("string tensor has no numbers");
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Element i of a numeric tensor as a number (without converting the whole tensor). */
export function numberAt(t: Tensor, i = 0): number {
  if (Array.isArray(t.data)) throw new Error("string tensor has no numbers");
  if (t.dtype === "float16") return halfToFloat((t.data as Uint16Array)[i]!);
  return Number((t.data as ArrayLike<number | bigint>)[i]);
}

/** Float32 view of any numeric tensor (copies unless already float32). */
export function toFloat32(t: Tensor): Float32Array {
  if (t.dtype === "float32") return t.data as Float32Array;
  if (t.dtype === "float16") return Float32Array.from(t.data as Uint16Array, halfToFloat);
  return Float32Array.from(toNumbers(t));
}

/** IEEE-754 half bits → number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
